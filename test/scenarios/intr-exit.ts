// A program that watches an OS descriptor (so the intr thread runs, blocked
// in epoll_wait) and then calls process.exit(3): the process must end with
// status 3 at once. A worker blocked in a host call cannot be terminated,
// and Node's exit waits for its workers: without the main thread's exit
// hook waking the intr thread, this hung. Run by kevent-os-threads.test.ts.
import * as sys from 'ukern/sys';
import { pipe } from '../fixtures/osfd.js';

const [r] = pipe();
const kq = sys.kqueue();
sys.kevent(kq, [sys.EV_SET(r, sys.EVFILT_READ, sys.EV_ADD, 0, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
const end = Date.now() + 10_000;
while (sys.kstat('intr')['intr.started'] === 0 && Date.now() < end) await new Promise((res) => setTimeout(res, 5));
console.log(`intr thread running: ${sys.kstat('intr')['intr.started']}`);
process.exit(3);
