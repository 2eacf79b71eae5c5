/**
 * LWP start functions for the signals bench (bench/signals.bench.ts), each
 * running in its own LWP. They are apart from the bench so that an LWP
 * loading them does not run the bench's top level. Every stamp is
 * process.hrtime (CLOCK_MONOTONIC, the same clock in every thread and every
 * process of the machine), so the sender's and the receiver's stamps compare.
 */
import { writeSync } from 'node:fs';
import * as sys from '../src/sys/index.js';

const nowNs = (): number => Number(process.hrtime.bigint());
const mono = (): number => { const t = sys.clock_gettime(sys.CLOCK_MONOTONIC); return t.tv_sec * 1e9 + t.tv_nsec; };
const ts = (ns: number): sys.Timespec => ({ tv_sec: Math.floor(ns / 1e9), tv_nsec: ns % 1e9 });
const Z = { tv_sec: 0, tv_nsec: 0 };

/** Control words of a wake-up target (Int32Array over ctl): its state, and the stamp (Float64Array index 1). */
export const T_IDLE = 0, T_BLOCKING = 1, T_WOKEN = 2, T_STOP = 3;

/**
 * The target of the lwp_kill / port_send wake-ups: a SIGUSR1 handler that
 * stamps the time it runs, and a loop blocked in port_get, which stamps the
 * time it returns with an event (the port case) or fails EINTR after the
 * handler ran (the signal case). c[0]: T_BLOCKING before each port_get,
 * T_WOKEN after; the sender sets it back to T_IDLE (or T_STOP) for the next.
 */
export function wakeTarget(arg: { ctl: SharedArrayBuffer; port: number }): void {
  const c = new Int32Array(arg.ctl), f = new Float64Array(arg.ctl);
  sys.sigaction(sys.SIGUSR1, { sa_handler: () => { f[1] = nowNs(); } });
  for (;;) {
    Atomics.store(c, 0, T_BLOCKING);
    try {
      sys.port_get(arg.port, null);
      f[1] = nowNs();
    } catch (e) {
      if ((e as sys.SysError).code !== 'EINTR') throw e;
    }
    Atomics.store(c, 0, T_WOKEN);
    Atomics.notify(c, 0);
    while (Atomics.load(c, 0) === T_WOKEN) Atomics.wait(c, 0, T_WOKEN);
    if (Atomics.load(c, 0) === T_STOP) return;
  }
}

/** What a timer reader reports (Float64Array over out: [0] count, [1] deliveries, [2] overruns, [3] expirations by time, then samples). */
export const R_N = 0, R_DELIV = 1, R_OVER = 2, R_EXPECT = 3, R_EXPECT_HI = 4, R_SAMPLES = 8;

/**
 * A 1 ms periodic CLOCK_MONOTONIC timer read by this LWP blocked in
 * sigwaitinfo (SIGEV_SIGNAL, SIGRTMIN blocked) or port_get (SIGEV_PORT), for
 * `seconds`. Lateness = the time the call has returned minus the due time of
 * the latest expiration it carries (start + (k - 1) * period, k counting
 * deliveries plus overruns): timers.bench.ts's method. At the end the timer
 * is disarmed; its old value says when the next expiry was due, so the
 * expirations that happened are (next due - start) / period exactly; a
 * signal still queued is taken (with its overruns) before the count.
 */
export function timerReader(arg: { out: SharedArrayBuffer; signal: boolean; periodNs: number; seconds: number }): void {
  const o = new Float64Array(arg.out);
  const cap = o.length - R_SAMPLES;
  const set = sys.sigemptyset(); sys.sigaddset(set, sys.SIGRTMIN);
  let port = -1;
  let t: number;
  if (arg.signal) {
    sys.sigprocmask(sys.SIG_BLOCK, set);
    t = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: sys.SIGRTMIN, sigev_value: 7 });
  } else {
    port = sys.port_create();
    t = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: 0 } });
  }
  const P = arg.periodNs;
  const start = mono() + 20e6;
  sys.timer_settime(t, sys.TIMER_ABSTIME, { it_value: ts(start), it_interval: ts(P) });
  const end = start + arg.seconds * 1e9;
  let k = 0, n = 0, deliveries = 0, overruns = 0;
  while (mono() < end) {
    let got: number;
    if (arg.signal) {
      const info = sys.sigwaitinfo(set);
      got = 1 + info.si_overrun;
      overruns += info.si_overrun;
    } else {
      got = sys.port_get(port, { tv_sec: 1, tv_nsec: 0 }).portev_events;
      overruns += got - 1;
    }
    const now = mono();
    k += got; deliveries++;
    if (n < cap) o[R_SAMPLES + n++] = (now - (start + (k - 1) * P)) / 1000;
  }
  const stop = mono();
  const old = sys.timer_settime(t, 0, { it_value: Z, it_interval: Z });
  const after = mono();
  // The old value's time left was read at some instant between stop and
  // after (a disarm waits for an expiry being fired: under load the call
  // takes longer than half a period), so the expirations fired lie between
  // the counts at the two ends.
  const left = old.it_value.tv_sec * 1e9 + old.it_value.tv_nsec;
  const nextDue = stop + left;
  if (arg.signal) {
    // A signal generated before the disarm and not yet taken.
    for (;;) {
      try {
        const info = sys.sigtimedwait(set, Z);
        deliveries++; overruns += info.si_overrun;
      } catch (e) { if ((e as sys.SysError).code === 'EAGAIN') break; throw e; }
    }
    sys.sigprocmask(sys.SIG_UNBLOCK, set);
  } else {
    for (;;) {
      try { overruns += sys.port_get(port, Z).portev_events - 1; deliveries++; } catch (e) { if ((e as sys.SysError).code === 'ETIME') break; throw e; }
    }
  }
  sys.timer_delete(t);
  if (port >= 0) sys.close(port);
  o[R_N] = n; o[R_DELIV] = deliveries; o[R_OVER] = overruns;
  o[R_EXPECT] = Math.round((nextDue - start) / P);
  o[R_EXPECT_HI] = Math.round((after + left - start) / P);
}

/**
 * The ukern side of the kill-from-another-process figure (runs in an LWP of
 * bench/signals-child.ts): a kqueue watching SIGUSR2 with EVFILT_SIGNAL,
 * this LWP blocked in kevent; each event is answered on stdout with the
 * time it was seen and its data (`<ns> <data>`).
 */
export function kqueueEcho(arg: { kq: number }): void {
  writeSync(1, 'ready\n');
  for (;;) {
    const ev = sys.kevent(arg.kq, null, 1, null);
    const t = nowNs();
    writeSync(1, `${t} ${ev[0]?.data ?? 0}\n`);
  }
}
