/**
 * The package as a program gets it (`ukern` and `ukern/sys` by name: the
 * bundle's entries over one kernel script per thread, src/loader.ts), in a
 * fresh process. Prints one JSON line; test/package.test.ts asserts on it.
 */
import * as sys from 'ukern/sys';
import { Port, SysError } from 'ukern';
import { kernel_cache_state } from '../../src/loader.js';

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

out.cache = kernel_cache_state();
console.log(JSON.stringify(out));
port.close();
