/**
 * The package as a program gets it (`ukern` and `ukern/sys` by name: the
 * bundle's entries over one kernel script per thread, src/loader.ts), in a
 * fresh process. Prints one JSON line; test/package.test.ts asserts on it.
 */
import * as sys from 'ukern/sys';
import { Port, SysError } from 'ukern';
import { kernel_cache_state, kernel_source } from '../../src/loader.js';

const out: Record<string, unknown> = {};
const fixture = new URL('../fixtures/package-lwp.js', import.meta.url);
const ZERO = { tv_sec: 0, tv_nsec: 0 };

// One kernel for both entries: a port of the class layer is a descriptor of the sys layer.
sys.boot();
const port = new Port();
sys.port_send(port.fd, 5, 6);
const ev = port.getSync({ timeout: 0 });
out.shared = ev.portev_events === 5 && ev.portev_user === 6;
out.sysErrorShared = (() => { try { sys.port_get(-1, ZERO); return false; } catch (e) { return e instanceof SysError && e.code === 'EBADF'; } })();

// An LWP whose start module imports ukern/sys runs on the bundle's trampoline, on the same kernel.
const lid = sys.lwp_create({ module: fixture, export: 'hello', arg: { port: port.fd } });
const got = sys.port_get(port.fd, { tv_sec: 30, tv_nsec: 0 });
sys.lwp_wait(lid);
out.lwp = got.portev_events === 1 && got.portev_user === lid;

// Workers started after the first one compiled the kernel text this thread
// read, from shared memory, not the files again (kern/boot.ts
// kernel_text_share): three LWPs at once, each on a worker of its own, of
// which at most the first (the first LWP's worker) read the files.
{
  const sab = new SharedArrayBuffer(4);
  const lids = [0, 1, 2].map(() => sys.lwp_create({ module: fixture, export: 'source', arg: { port: port.fd, sab, n: 3 } }));
  const got = lids.map(() => sys.port_get(port.fd, { tv_sec: 30, tv_nsec: 0 }).portev_events);
  for (const l of lids) sys.lwp_wait(l);
  out.lwpSource = got.filter((e) => e === 1).length >= 2 && got.every((e) => e === 1 || e === 2) && kernel_source() === 'file';
  out.lwpSources = got;
}

// process.exit() in an LWP while this thread blocks in lwp_wait: the trampoline exits the LWP itself.
const dying = sys.lwp_create({ module: fixture, export: 'die', arg: null });
sys.lwp_wait(dying);
out.died = true;

// An LWP that creates an LWP: the request goes to lwp0 while this thread blocks.
const par = sys.lwp_create({ module: fixture, export: 'parent', arg: { port: port.fd } });
const child = sys.port_get(port.fd, { tv_sec: 30, tv_nsec: 0 });
const done = sys.port_get(port.fd, { tv_sec: 30, tv_nsec: 0 });
sys.lwp_wait(par);
out.grandchild = child.portev_events === 1 && done.portev_events === 2 && done.portev_user === child.portev_user;

// The kernel threads start from the bundle's CommonJS entries over the kernel
// script (build/bundle/clockthread.cjs, intrthread.cjs): a timer's expiry
// comes (the clock thread or its bridge), and both threads say they are up.
const tp = sys.port_create();
const tid = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: tp, portnfy_user: 9 } });
sys.timer_settime(tid, 0, { it_interval: ZERO, it_value: { tv_sec: 0, tv_nsec: 2_000_000 } });
out.timer = sys.port_get(tp, { tv_sec: 30, tv_nsec: 0 }).portev_user === 9;
const pfds = (await import('../fixtures/osfd.js')).pipe();
const kq = sys.kqueue();
sys.kevent(kq, [sys.EV_SET(pfds[0], sys.EVFILT_READ, sys.EV_ADD, 0, 0, 0)], 0, ZERO);
const upBy = Date.now() + 30_000;
while ((sys.kstat('clock')['clock.started'] === 0 || sys.kstat('intr')['intr.started'] === 0) && Date.now() < upBy) {
  await new Promise((r) => setTimeout(r, 2));
}
out.kthreads = sys.kstat('clock')['clock.started'] === 1 && sys.kstat('intr')['intr.started'] === 1;
sys.close(kq); sys.close(tp);

out.cache = kernel_cache_state();
out.classesCache = kernel_cache_state('ukern');
console.log(JSON.stringify(out));
port.close();
