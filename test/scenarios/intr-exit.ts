// A program that watches an OS descriptor (so the intr thread runs, blocked
// in epoll_wait) and then calls process.exit(3): the process must end with
// status 3 at once. A worker blocked in a host call cannot be terminated,
// and Node's exit waits for its workers: without the main thread's exit
// protocol waking such threads (kern/libc.ts host_enter), this hung. With
// an argument, an LWP also blocks for ever in a host wait first (nobody
// writes its pipe): 'kevent' (on the kernel's epoll set) or 'portfd' (on a
// PORT_SOURCE_FD descriptor); each hung 12 times in 12 before. Run by
// kevent-os-threads.test.ts. With 'waiters N': N LWPs wait for ever in
// kevent, each in the host on the kernel's epoll set (epoll_pwait2, its
// kick eventfd in the set: intr/hostwait.ts); the exit rings every kick
// once (intr/kick.ts), and a waiter woken by the first ring may take the
// others' kicks with its own in the same epoll_pwait2: it hands them on
// only after its wait returns, and at exit its host_leave (kern/libc.ts)
// parked it before that, so the others slept on and Node's join of their
// workers hung. Run by intr-exit-waiters.test.ts.
import { readdirSync, readFileSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe } from '../fixtures/osfd.js';

const mode = process.argv[2];
const [r] = pipe();
const kq = sys.kqueue();
sys.kevent(kq, [sys.EV_SET(r, sys.EVFILT_READ, sys.EV_ADD, 0, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
const end = Date.now() + 10_000;
const until = async (f: () => boolean): Promise<void> => {
  while (!f() && Date.now() < end) await new Promise((res) => setTimeout(res, 5));
};
await until(() => sys.kstat('intr')['intr.started'] !== 0);
console.log(`intr thread running: ${sys.kstat('intr')['intr.started']}`);
if (mode === 'kevent' || mode === 'portfd') {
  const [r2] = pipe();
  const sab = new SharedArrayBuffer(4);
  sys.lwp_create({ module: new URL('../fixtures/exit-waits.js', import.meta.url), export: mode === 'kevent' ? 'keventWait' : 'portfdWait', arg: { r: r2, sab } });
  const waits = (): number => mode === 'kevent' ? sys.kstat('intr')['intr.host_waits'] ?? 0 : sys.kstat('portfd')['portfd.host_waits'] ?? 0;
  await until(() => Atomics.load(new Int32Array(sab), 0) === 1 && waits() > 0);
  // The host wait is counted as it begins: give the LWP the moment it takes to reach ppoll.
  await new Promise((res) => setTimeout(res, 50));
  console.log(`LWP waiting in the host: ${waits() > 0}`);
}
if (mode === 'waiters') {
  const n = Number(process.argv[3] ?? 4);
  for (let i = 0; i < n; i++) {
    const [r2] = pipe();
    sys.lwp_create({ module: new URL('../fixtures/exit-waits.js', import.meta.url), export: 'keventWait', arg: { r: r2, sab: new SharedArrayBuffer(4) } });
  }
  /** Threads of this process blocked in epoll_pwait2 (441 on every architecture) now. */
  const in_pwait2 = (): number => {
    let k = 0;
    for (const t of readdirSync('/proc/self/task')) {
      try { if (readFileSync(`/proc/self/task/${t}/syscall`, 'utf8').startsWith('441 ')) k++; } catch { /* gone */ }
    }
    return k;
  };
  await until(() => (sys.kstat('intr')['intr.host_waiters'] ?? 0) === n);
  const direct = (sys.kstat('intr')['intr.host_direct'] ?? 0) > 0;
  if (direct) await until(() => in_pwait2() === n);
  console.log(`host waiters: ${sys.kstat('intr')['intr.host_waiters']}, direct: ${direct}, in epoll_pwait2: ${direct ? in_pwait2() : 0}`);
}
process.exit(3);
