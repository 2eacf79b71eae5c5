/**
 * What Port and KQueue share, written once: a kernel descriptor the object
 * owns (close() and Symbol.dispose close it, once), and whether its pending
 * waits keep the process alive — ref()/unref()/hasRef(), as Node's handles
 * do (ukern/refs.ts: a wait started through {@link Descriptor.hold} follows
 * the object's state until it settles, including waits already pending
 * when ref() or unref() is called).
 */
import { close } from '../sys/index.js';
import { Refs } from './refs.js';

export abstract class Descriptor implements Disposable {
  /** The kernel descriptor (usable with ukern/sys too, and across LWPs). */
  readonly fd: number;
  #closed = false;
  readonly #refs: Refs;

  protected constructor(fd: number, ref: boolean) {
    this.fd = fd;
    this.#refs = new Refs(ref);
  }

  /** Pending and later waits keep the process alive (the default), as a ref'd Node handle does. */
  ref(): this { this.#refs.ref(); return this; }
  /** Pending and later waits no longer keep the process alive. */
  unref(): this { this.#refs.unref(); return this; }
  /** Whether this object's waits keep the process alive. */
  hasRef(): boolean { return this.#refs.refed; }

  /** Starts a kernel wait (`wait` runs at once) under this object's hold on the event loop. */
  protected hold<T>(wait: () => Promise<T>): Promise<T> { return this.#refs.wait(wait); }

  /** close(2): pending waits end with the syscall's error (EBADF / EBADFD). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    close(this.fd);
  }
  [Symbol.dispose](): void { this.close(); }
}
