/**
 * SIGEV_SIGNAL: a timer that notifies with a signal (illumos timer.c's
 * signal path). An expiry with nothing outstanding generates the signal for
 * the process (si_code SI_TIMER, si_value the sigev_value) and leaves
 * it_pending counting; expirations while that signal is pending fold into
 * it_pending, as they do for a port event. When the signal is taken, the
 * signals subsystem calls back (after its lock: it_mutex comes first), and
 * the timer takes the count: si_overrun and timer_getoverrun are the
 * expirations that signal stood for, minus one. A signal that is not
 * queued for the timer (ignored, coalesced with a pending instance sent by
 * someone else, or the queue limit) takes the count at once, so the next
 * expiry signals again. timer_delete withdraws a queued signal.
 */
import { I32, f64_get, f64_set, kregion_create } from '../kern/kmem.js';
import { mono_now } from '../kern/time.js';
import { NSIG } from '../signals/consts.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { IT, IT_SIGNAL, itimer_register_notifier, itimer_take } from './itimer.js';
import { sig_generate_timer, sig_set_timer_ops } from '../signals/kapi.js';

itimer_register_notifier(IT_SIGNAL, {
  post(it: number): void {
    if (!sig_generate_timer(I32[it + IT.signo]!, f64_get(it, IT.sigval), it, I32[it + IT.tid]!)) itimer_take(it);
  },
});

sig_set_timer_ops((it, tid) => {
  mutex_enter(it + IT.mutex);
  let ov = 0;
  if (I32[it + IT.tid] === tid && (I32[it + IT.flags]! & IT_SIGNAL) !== 0 && itimer_take(it) > 0) ov = I32[it + IT.overrun]!;
  mutex_exit(it + IT.mutex);
  return ov;
});

/*
 * The deadline hint of signals, as portnfy.ts keeps one per port: for each
 * signal number, the earliest known upcoming expiry (kernel monotonic ns) of
 * a SIGEV_SIGNAL timer on the monotonic line that generates it. Advisory
 * (plain stores, last writer wins; a value in the past means "none known"):
 * a thread about to sleep in sigwaitinfo for that signal sleeps until
 * shortly before it and fires it itself (dwait.ts, through signals/wait.ts),
 * as a port getter does for its timer.
 */
const sighints = kregion_create('itimer.sighint', () => 2 * NSIG);
/** Notes that a timer generating `signo` expires next at `next` (mono ns). */
export function sig_hint(signo: number, next: number): void {
  if (signo <= 0 || signo >= NSIG) return;
  const h = f64_get(sighints.base, 2 * signo);
  if (h <= mono_now() || next < h) f64_set(sighints.base, 2 * signo, next);
}
/** The earliest upcoming expiry of a SIGEV_SIGNAL timer for a signal of (w0, w1), or Infinity. */
export function timer_signal_deadline(w0: number, w1: number): number {
  const now = mono_now();
  let best = Infinity;
  for (let s = 1; s < NSIG; s++) {
    if (((s <= 32 ? w0 : w1) & (1 << ((s - 1) & 31))) === 0) continue;
    const h = f64_get(sighints.base, 2 * s);
    if (h > now && h < best) best = h;
  }
  return best;
}
