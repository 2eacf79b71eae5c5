/**
 * One body for both forms of a sleeping syscall. The syscall is written as a
 * generator that yields a sleep request whenever it must block, and gets the
 * sleep's outcome (SQ_WOKEN / SQ_INTR / SQ_TIMEDOUT) back; {@link runSync}
 * blocks the thread for each request, {@link runAsync} awaits it.
 */
import { sq_block, sq_sleep_async, sq_relock, type SpinPolicy } from './sleepq.js';

/** Block on sleeper `sl` (enqueued on a list guarded by the held mutex `lock`) until `deadline`. */
export interface SleepReq {
  sl: number; lock: number; deadline: number; spin?: SpinPolicy;
  /** When woken (SQ_WOKEN), come back without the lock held. */
  norelock?: boolean;
}
export type SleepGen<T> = Generator<SleepReq, T, number>;

export function runSync<T>(g: SleepGen<T>): T {
  let r = g.next();
  while (!r.done) r = g.next(sq_block(r.value.sl, r.value.lock, r.value.deadline, r.value.spin, r.value.norelock));
  return r.value;
}

export async function runAsync<T>(g: SleepGen<T>): Promise<T> {
  let r = g.next();
  while (!r.done) {
    const q = r.value;
    const v = await sq_sleep_async(q.sl, q.lock, q.deadline);
    // Relock and resume in one synchronous step (see sq_sleep_async).
    r = g.next(sq_relock(q.sl, q.lock, v, q.norelock));
  }
  return r.value;
}
