/**
 * ref()/unref() for the class layer's objects, as Node's handles have: an
 * object whose waits keep the process alive (ref'd, the default) or not.
 * The state applies to the waits the object starts from then on and to the
 * ones already pending (kern/keepalive.ts hands their holds back).
 */
import { hold_scope, type HoldScope } from '../sys/ext.js';

export class Refs {
  #ref: boolean;
  readonly #pending = new Set<HoldScope>();

  constructor(ref = true) { this.#ref = ref; }

  get refed(): boolean { return this.#ref; }

  ref(): void { this.#set(true); }
  unref(): void { this.#set(false); }

  #set(ref: boolean): void {
    this.#ref = ref;
    for (const sc of this.#pending) {
      sc.ref = ref;
      for (const h of sc.holds) if (ref) h.ref(); else h.unref();
    }
  }

  /** Starts a wait (`fn` runs at once): its holds, later sleeps' too, follow this object's state until it settles. */
  wait<T>(fn: () => Promise<T>): Promise<T> {
    const { value, scope } = hold_scope(this.#ref, fn);
    this.#pending.add(scope);
    const drop = (): void => { this.#pending.delete(scope); };
    value.then(drop, drop);
    return value;
  }
}
