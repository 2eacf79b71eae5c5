/**
 * Signals across LWPs: an LWP blocked in port_get takes SIGUSR1 from the
 * main thread (lwp_kill) in its listener, its wait ending with EINTR as
 * POSIX says; then a 2 ms POSIX timer signals SIGRTMIN (SIGEV_SIGNAL) and
 * the main thread accepts each with its value and overrun count, as
 * sigwaitinfo does, from an async iterator that puts the mask back when it
 * ends.
 * Run: npm run build && node build/examples/signals.js
 */
import * as sys from 'ukern/sys';
import { Lwp, Port, onSignal, signals } from 'ukern';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * Counts SIGUSR1 in its listener while it waits on the port, until an event
 * says stop. Word 0 of `ctl`: the signals its listener took; word 1: 1 while
 * it is about to wait (set before each wait, so that the sender knows the
 * sleep it sees is this one).
 */
export function listener(arg: { port: number; ctl: SharedArrayBuffer }): number {
  const ctl = new Int32Array(arg.ctl);
  using _sub = onSignal('SIGUSR1', () => { Atomics.add(ctl, 0, 1); Atomics.notify(ctl, 0); });
  const port = new Port(arg.port);
  let interrupted = 0;
  for (;;) {
    Atomics.store(ctl, 1, 1);
    try {
      port.getSync(); // the stop event
      return interrupted;
    } catch (e) {
      if ((e as sys.SysError).code !== 'EINTR') throw e;
      interrupted++; // port_get is never restarted after a handler (POSIX)
    }
  }
}

// Run as a program, not loaded as an LWP's module: argv[1] is the path as typed, import.meta.url
// the real one (through a symlink, or with a '#' or '%' in the path, a plain URL of argv[1] differed).
const isMain = ((): boolean => {
  try { return import.meta.url === pathToFileURL(realpathSync(process.argv[1] ?? '')).href; } catch { return false; }
})();
if (isMain) {
  const port = new Port();
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const lwp = Lwp.create({ module: new URL(import.meta.url), export: 'listener', arg: { port: port.fd, ctl: ctl.buffer as SharedArrayBuffer } });
  // In port_get: about to wait (word 1), and asleep as the kernel sees it.
  const waiting = (): boolean => Atomics.load(ctl, 1) === 1 && sys.lwp_snapshot().lwps.some((l) => l.lid === lwp.lid && l.state === 'SLEEP');
  for (let i = 0; i < 5; i++) {
    while (!waiting()) await new Promise((r) => setTimeout(r, 1));
    Atomics.store(ctl, 1, 0);
    sys.lwp_kill(lwp.lid, sys.SIGUSR1);
    // Standard signals coalesce while pending: send the next once this one was taken.
    while (Atomics.load(ctl, 0) <= i) await Atomics.waitAsync(ctl, 0, i, 1000).value;
  }
  // The stop event once the last wait has ended (with EINTR) and the next begun:
  // sent earlier, it could reach that wait first, and port_get returns an event
  // it finds rather than fail.
  while (!waiting()) await new Promise((r) => setTimeout(r, 1));
  port.sendSync(1);
  console.log(`LWP ${lwp.lid}: ${Atomics.load(ctl, 0)} SIGUSR1 taken by its listener, ${await lwp.wait()} waits ended with EINTR`);

  const tid = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: sys.SIGRTMIN, sigev_value: 7 });
  const ms2 = { tv_sec: 0, tv_nsec: 2e6 };
  let n = 0, expirations = 0;
  const values = new Set<string>();
  // SIGRTMIN blocked before the timer is armed, as in C: an expiry before
  // the iteration's first step (which blocks what it takes) met SIGRTMIN's
  // default action, and the process ended.
  const rt = sys.sigemptyset();
  sys.sigaddset(rt, sys.SIGRTMIN);
  sys.sigprocmask(sys.SIG_BLOCK, rt);
  const it = signals(['SIGRTMIN']);
  sys.timer_settime(tid, 0, { it_value: ms2, it_interval: ms2 });
  for await (const info of it) {
    expirations += 1 + info.si_overrun;
    values.add(`value ${info.si_value}, si_code ${info.si_code === sys.SI_TIMER ? 'SI_TIMER' : info.si_code}`);
    if (++n === 10) break; // ends the iteration (SIGRTMIN stays blocked: it was before)
  }
  // Then the timer stopped, any expiry that came since the last one taken,
  // and only then SIGRTMIN unblocked: one pending at the unblock would end
  // the process too.
  sys.timer_delete(tid);
  while (sys.sigismember(sys.sigpending(), sys.SIGRTMIN)) sys.sigtimedwait(rt, { tv_sec: 0, tv_nsec: 0 });
  sys.sigprocmask(sys.SIG_UNBLOCK, rt);
  console.log(`timer: ${n} SIGRTMIN accepted (${[...values].join('; ')}), ${expirations} expirations counted with their overruns`);
  port.close();
}
