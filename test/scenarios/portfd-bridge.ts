// Run with UKERN_INTR_HOLD=1: the intr thread never starts, so an OS event
// that happens after port_associate reaches the port only through the
// bridge (a port_get that sleeps while OS descriptors are registered takes
// the epoll set's events itself). A blocking port_get sees a write made by
// another thread while it sleeps. Prints one line per check; run by
// port-fd-threads.test.ts.
import { Worker } from 'node:worker_threads';
import * as sys from 'ukern/sys';
import { pipe } from '../fixtures/osfd.js';

const { port_create, port_associate, port_get, PORT_SOURCE_FD, POLLIN } = sys;
const [r, w] = pipe();
const port = port_create();
port_associate(port, PORT_SOURCE_FD, r, POLLIN, 9);
// Another thread writes once this one has slept in port_get a while.
const sab = new SharedArrayBuffer(4);
new Worker(`const { workerData: x } = require('node:worker_threads'); const fs = require('node:fs');
Atomics.wait(new Int32Array(x.sab), 0, 0, 100); fs.writeSync(x.w, 'c');`, { eval: true, workerData: { sab, w } }).unref();
const t0 = Date.now();
let got = 'ETIME';
try { const e = port_get(port, { tv_sec: 5, tv_nsec: 0 }); got = `${e.portev_object === r} ${e.portev_events} ${e.portev_user}`; } catch (e) { got = (e as sys.SysError).code; }
console.log(`blocking port_get: ${got} within 5 s: ${Date.now() - t0 < 5000}`);
console.log(`intr thread started: ${sys.kstat('intr')['intr.started']}`);
