/**
 * The class layer's async iterators (Port.events, Port.messages,
 * KQueue.events, a Timer's, signals()): one rule for how they end, Node's
 * `events.on`. An async generator would not do: its `return()` is queued
 * behind a pending `next()`, so a `return()` made while a step sleeps in
 * the kernel (a `Promise.race` of `next()` and a timeout, then `return()`)
 * waited for the next event, which on an idle port, a far-off or
 * CLOCK_MANUAL timer never comes: the iterator's cleanup (a Timer's disarm,
 * the signal mask) never ran and its pending wait kept the process alive.
 * (`timers/promises`' setInterval is such a generator, but its next tick
 * is never more than an interval away; an event stream has no such bound,
 * which is why `events.on` ends at once.)
 *
 * Here `return()` cancels the pending step through an AbortSignal of the
 * iterator's own, the kernel's one path for ending a sleep
 * (kern/sleeprun.ts), and resolves once that step has settled. The cancel
 * loses nothing: a sleep the abort ends has taken nothing (the step
 * resolves done, as `events.on`'s pending next() does, and the event stays
 * queued), and a step whose wait had already taken an event when the abort
 * came resolves with that event. Since `return()` resolves after the
 * pending step, whoever awaits it knows that step's outcome is final.
 *
 * Arguments are the caller's to check before making the iterator (at the
 * call, as Node checks them); the first step starts nothing beyond what
 * each step does. Steps run one at a time, in call order, as a generator's.
 */
import { AbortError } from '../sys/ext.js';

/**
 * One step of an iterator: waits (ending at `signal`'s abort, with an
 * AbortError or by resolving done) and gives the next value, or done.
 */
export type Step<T> = (signal: AbortSignal) => Promise<IteratorResult<T, void>>;

/** Runs when the iteration ends; `early` when ended by return()/throw() or an error rather than by its own end. */
export type Cleanup = (early: boolean) => void;

const done = <T>(): IteratorResult<T, void> => ({ done: true, value: undefined });

/** The reason of the iterator's own abort (return()), told apart from the caller's signal. */
const RETURNED = Symbol('iterator return()');

class StepIterator<T> implements AsyncGenerator<T, void, undefined> {
  readonly #step: Step<T>;
  readonly #cleanup: Cleanup | undefined;
  readonly #ac = new AbortController();
  readonly #signal: AbortSignal;
  /** Ended: by its steps, an error, or return()/throw(). */
  #done = false;
  #cleaned = false;
  /** Steps called and not yet settled; the last one's Promise. */
  #queued = 0;
  #tail: Promise<IteratorResult<T, void>> | undefined;

  constructor(step: Step<T>, signal: AbortSignal | undefined, cleanup: Cleanup | undefined) {
    this.#step = step;
    this.#cleanup = cleanup;
    this.#signal = signal === undefined ? this.#ac.signal : AbortSignal.any([signal, this.#ac.signal]);
  }

  next(): Promise<IteratorResult<T, void>> {
    const run = (): Promise<IteratorResult<T, void>> => this.#run();
    const p = this.#queued++ === 0 ? run() : this.#tail!.then(run, run);
    this.#tail = p;
    return p;
  }

  async #run(): Promise<IteratorResult<T, void>> {
    try {
      if (this.#done) return done();
      let r: IteratorResult<T, void>;
      try {
        r = await this.#step(this.#signal);
      } catch (e) {
        // Our own abort (return()) ends the step as events.on's: done. The
        // caller's abort (first, so its reason is the cause) is an error.
        if (e instanceof AbortError && e.cause === RETURNED) return done();
        this.#end(true);
        throw e;
      }
      if (r.done === true) { this.#end(this.#ac.signal.aborted); return done(); }
      return r;
    } finally {
      this.#queued--;
    }
  }

  #end(early: boolean): void {
    this.#done = true;
    if (this.#cleaned) return;
    this.#cleaned = true;
    this.#cleanup?.(early);
  }

  async return(): Promise<IteratorResult<T, void>> {
    if (!this.#done) {
      this.#done = true;
      this.#ac.abort(RETURNED);
    }
    // After the pending step (its outcome is then final: an event or done).
    if (this.#queued > 0) await this.#tail!.then(() => {}, () => {});
    this.#end(true);
    return done();
  }

  async throw(e: unknown): Promise<IteratorResult<T, void>> {
    await this.return();
    throw e;
  }

  [Symbol.asyncIterator](): this { return this; }

  async [Symbol.asyncDispose](): Promise<void> { await this.return(); }
}

/** An iterator of `step`'s values that ends at the first done, at an error, or at return(). */
export function step_iterator<T>(step: Step<T>, signal?: AbortSignal, cleanup?: Cleanup): AsyncGenerator<T, void, undefined> {
  return new StepIterator(step, signal, cleanup);
}

/** The result of a step that has a value. */
export function more<T>(value: T): IteratorResult<T, void> { return { done: false, value }; }
/** The result of a step that ends the iteration. */
export function end<T>(): IteratorResult<T, void> { return done(); }
