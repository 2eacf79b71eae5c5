/**
 * ref()/unref() for the class layer's objects, as Node's handles have: an
 * object whose waits keep the process alive (ref'd, the default) or not.
 * The state applies to the waits the object starts from then on and to the
 * ones already pending (kern/keepalive.ts hands their holds back).
 */
import { hold_scope, type Hold } from '../sys/ext.js';

export class Refs {
  #ref: boolean;
  readonly #pending = new Set<Hold>();

  constructor(ref = true) { this.#ref = ref; }

  get refed(): boolean { return this.#ref; }

  ref(): void { this.#ref = true; for (const h of this.#pending) h.ref(); }
  unref(): void { this.#ref = false; for (const h of this.#pending) h.unref(); }

  /** Starts a wait (`fn` runs at once): its holds follow this object's state until it settles. */
  wait<T>(fn: () => Promise<T>): Promise<T> {
    const { value, holds } = hold_scope(this.#ref, fn);
    if (holds.length === 0) return value;
    for (const h of holds) this.#pending.add(h);
    const drop = (): void => { for (const h of holds) this.#pending.delete(h); };
    value.then(drop, drop);
    return value;
  }
}
