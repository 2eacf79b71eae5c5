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
import { I32, f64_get } from '../kern/kmem.js';
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
