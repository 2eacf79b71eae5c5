// Run with UKERN_INTR_HOLD=1: the intr thread never starts, so every OS
// event here reaches its knote through the bridge (a kevent caller that
// registered OS descriptors takes the epoll set's events itself). A poll
// sees a write made after registration; a blocking kevent sees a write made
// by another thread while it sleeps. Prints one line per check; run by
// kevent-os-threads.test.ts.
import { Worker } from 'node:worker_threads';
import { writeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe } from '../fixtures/osfd.js';

const { EV_SET, kevent, kqueue, EVFILT_READ, EV_ADD, EV_CLEAR } = sys;
const [r, w] = pipe();
const kq = kqueue();
kevent(kq, [EV_SET(r, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
writeSync(w, 'ab');
console.log(`poll after a write: ${JSON.stringify(kevent(kq, null, 4, { tv_sec: 0, tv_nsec: 0 }).map((e) => e.data))}`);
// Another thread writes once this one has slept in kevent a while.
const sab = new SharedArrayBuffer(4);
new Worker(`const { workerData: x } = require('node:worker_threads'); const fs = require('node:fs');
Atomics.wait(new Int32Array(x.sab), 0, 0, 100); fs.writeSync(x.w, 'c');`, { eval: true, workerData: { sab, w } }).unref();
const t0 = Date.now();
const ev = kevent(kq, null, 4, { tv_sec: 5, tv_nsec: 0 });
console.log(`blocking kevent: ${JSON.stringify(ev.map((e) => e.data))} within 5 s: ${Date.now() - t0 < 5000}`);
console.log(`intr thread started: ${sys.kstat('intr')['intr.started']}`);
