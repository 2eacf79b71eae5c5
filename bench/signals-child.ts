/**
 * A receiver process of the kill-from-another-process figure
 * (bench/signals.bench.ts sends it SIGUSR2 with kill(2)). Two modes, one
 * answer format, so that the two are measured the same way:
 *
 *   node signals-child.js ukern   SIGUSR2 ignored (as kqueue programs do: a
 *       watched signal keeps its disposition) and watched by EVFILT_SIGNAL in
 *       a kqueue that an LWP waits on in kevent; LWP 1 idles in its event
 *       loop, where the router hears the host's signal;
 *   node signals-child.js plain   process.on('SIGUSR2') in a plain Node process.
 *
 * Each signal seen is answered on stdout with `<CLOCK_MONOTONIC ns> <count>`;
 * `ready` says the receiver listens. The parent ends the child with SIGKILL.
 */
import { writeSync } from 'node:fs';

const mode = process.argv[2];
const nowNs = (): number => Number(process.hrtime.bigint());

if (mode === 'plain') {
  process.on('SIGUSR2', () => { writeSync(1, `${nowNs()} 1\n`); });
  setInterval(() => {}, 1 << 30);
  writeSync(1, 'ready\n');
} else if (mode === 'ukern') {
  const sys = await import('../src/sys/index.js');
  // SIG_IGN from LWP 1 makes the router listen before sigaction returns.
  sys.sigaction(sys.SIGUSR2, { sa_handler: sys.SIG_IGN });
  const kq = sys.kqueue();
  sys.kevent(kq, [sys.EV_SET(sys.SIGUSR2, sys.EVFILT_SIGNAL, sys.EV_ADD, 0, 0, 0)], 0, null);
  sys.lwp_create({ module: new URL('./signals-workers.js', import.meta.url), export: 'kqueueEcho', arg: { kq } }, sys.LWP_DETACHED);
  setInterval(() => {}, 1 << 30);
} else {
  throw new Error(`signals-child: mode must be ukern or plain, got ${String(mode)}`);
}
