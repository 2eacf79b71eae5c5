// process.exit(3) while several LWPs wait for ever in kevent, each in the
// host on the kernel's epoll set (epoll_pwait2, its kick eventfd in the
// set: intr/hostwait.ts). The exit rings every kick once (intr/kick.ts),
// and a waiter woken by the first ring may take the others' kicks with its
// own in the same epoll_pwait2: it hands them on only after its wait
// returns, and at exit its host_leave (kern/libc.ts) parks it before that,
// so the others slept on and Node's join of their workers hung. The
// process must end with status 3. Argument: the number of waiters.
// Run by intr-exit-waiters.test.ts.
import { readdirSync, readFileSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe } from '../fixtures/osfd.js';

const n = Number(process.argv[2] ?? 4);
const [r] = pipe();
const kq = sys.kqueue();
sys.kevent(kq, [sys.EV_SET(r, sys.EVFILT_READ, sys.EV_ADD, 0, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
const end = Date.now() + 10_000;
const until = async (f: () => boolean): Promise<void> => {
  while (!f() && Date.now() < end) await new Promise((res) => setTimeout(res, 5));
};
await until(() => sys.kstat('intr')['intr.started'] !== 0);
for (let i = 0; i < n; i++) {
  const [r2] = pipe();
  sys.lwp_create({ module: new URL('../fixtures/exit-waits.js', import.meta.url), export: 'keventWait', arg: { r: r2, sab: new SharedArrayBuffer(4) } });
}
/** Threads of this process blocked in epoll_pwait2 (441 on every architecture) now. */
function in_pwait2(): number {
  let k = 0;
  for (const t of readdirSync('/proc/self/task')) {
    try { if (readFileSync(`/proc/self/task/${t}/syscall`, 'utf8').startsWith('441 ')) k++; } catch { /* gone */ }
  }
  return k;
}
await until(() => (sys.kstat('intr')['intr.host_waiters'] ?? 0) === n);
const direct = (sys.kstat('intr')['intr.host_direct'] ?? 0) > 0;
if (direct) await until(() => in_pwait2() === n);
console.log(`host waiters: ${sys.kstat('intr')['intr.host_waiters']}, direct: ${direct}, in epoll_pwait2: ${direct ? in_pwait2() : 0}`);
process.exit(3);
