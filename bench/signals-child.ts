/**
 * A receiver process of the kill-from-another-process figure
 * (bench/signals.bench.ts sends it SIGUSR2 with kill(2)). Two modes, one
 * answer format, so that the two are measured the same way:
 *
 *   node signals-child.js ukern   SIGUSR2 ignored (as kqueue programs do: a
 *       watched signal keeps its disposition) and watched by EVFILT_SIGNAL in
 *       a kqueue that an LWP waits on in kevent; LWP 1 idles in its event
 *       loop, where the router hears the host's signal;
 *   node signals-child.js plain   process.on('SIGUSR2') in a plain Node process;
 *   node signals-child.js hop     the same listener wakes a worker blocked in
 *       Atomics.wait, which answers: one raw cross-thread hop after Node's
 *       own delivery, the floor of any route to a thread other than the main.
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
} else if (mode === 'hop') {
  const { Worker } = await import('node:worker_threads');
  const sab = new SharedArrayBuffer(8);
  const w32 = new Int32Array(sab);
  const w = new Worker(`const { workerData } = require('node:worker_threads'); const { writeSync } = require('node:fs');
    const a = new Int32Array(workerData); let seen = 0;
    for (;;) { Atomics.wait(a, 0, seen); const n = Atomics.load(a, 0); writeSync(1, String(process.hrtime.bigint()) + ' ' + (n - seen) + '\\n'); seen = n; }`,
  { eval: true, workerData: sab });
  w.unref();
  process.on('SIGUSR2', () => { Atomics.add(w32, 0, 1); Atomics.notify(w32, 0); });
  setInterval(() => {}, 1 << 30);
  w.once('online', () => writeSync(1, 'ready\n'));
} else if (mode === 'ukern') {
  const sys = await import('../src/sys/index.js');
  // SIG_IGN from LWP 1 makes the router listen before sigaction returns.
  sys.sigaction(sys.SIGUSR2, { sa_handler: sys.SIG_IGN });
  const kq = sys.kqueue();
  sys.kevent(kq, [sys.EV_SET(sys.SIGUSR2, sys.EVFILT_SIGNAL, sys.EV_ADD, 0, 0, 0)], 0, null);
  sys.lwp_create({ module: new URL('./signals-workers.js', import.meta.url), export: 'kqueueEcho', arg: { kq } }, sys.LWP_DETACHED);
  setInterval(() => {}, 1 << 30);
} else {
  throw new Error(`signals-child: mode must be ukern, plain or hop, got ${String(mode)}`);
}
