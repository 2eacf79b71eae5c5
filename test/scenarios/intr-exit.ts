// A program that watches an OS descriptor (so the intr thread runs, blocked
// in epoll_wait) and then calls process.exit(3): the process must end with
// status 3 at once. A worker blocked in a host call cannot be terminated,
// and Node's exit waits for its workers: without the main thread's exit
// protocol waking such threads (kern/libc.ts host_enter), this hung. With
// an argument, an LWP also blocks for ever in a host wait first (nobody
// writes its pipe): 'kevent' (on the kernel's epoll set) or 'portfd' (on a
// PORT_SOURCE_FD descriptor); each hung 12 times in 12 before. Run by
// kevent-os-threads.test.ts.
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
process.exit(3);
