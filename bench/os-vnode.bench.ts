/**
 * File watching (issue 15), beside what Node gives for the same work in the
 * same run: a file appended to by a writer thread ->
 *  - EVFILT_VNODE NOTE_WRITE (EV_CLEAR) returned to an LWP blocked in kevent;
 *  - PORT_SOURCE_FILE FILE_MODIFIED returned to an LWP blocked in port_get
 *    (one-shot: the LWP associates again, with the file's times, before it
 *    answers the round);
 *  - the peer: fs.watch's 'change' event for the same append in a worker's
 *    own event loop (libuv's inotify watch).
 * One-way latency: the writer stamps a shared clock before write(2), the
 * reader reads it on return; the writer waits for each round's answer.
 * p50 and p99 per repetition, medians over the repetitions. The LWP start
 * functions are exported here; the bench runs in the main thread.
 */
import { isMainThread, Worker } from 'node:worker_threads';
import fs from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import * as sys from '../src/sys/index.js';
import { report, flush, reps, median, latency, nowNs } from './lib.js';

const SELF = new URL(import.meta.url);
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const { EV_SET, kevent, EVFILT_VNODE, EV_ADD, EV_CLEAR, NOTE_WRITE, PORT_SOURCE_FILE, FILE_MODIFIED } = sys;

interface Arg { path: string; kq: number; port: number; n: number; sab: SharedArrayBuffer; samples: SharedArrayBuffer }
// sab: Int32 [0] reader ready, [1] rounds answered; Float64 at byte 8: the current write's stamp (ns).

function answer(ctl: Int32Array, i: number): void { Atomics.store(ctl, 1, i + 1); Atomics.notify(ctl, 1); }

/** EVFILT_VNODE: an LWP blocked in kevent on the file's NOTE_WRITE knote. */
export function lwpKevent(x: Arg): void {
  const ctl = new Int32Array(x.sab, 0, 2), t = new Float64Array(x.sab, 8, 1), s = new Float64Array(x.samples);
  Atomics.store(ctl, 0, 1); Atomics.notify(ctl, 0);
  for (let i = 0; i < x.n; i++) {
    kevent(x.kq, null, 1, null);
    s[i] = nowNs() - t[0]!;
    answer(ctl, i);
  }
}

const ts = (ns: bigint) => ({ tv_sec: Number(ns / 1_000_000_000n), tv_nsec: Number(ns % 1_000_000_000n) });
function fobj(path: string): sys.file_obj_t {
  const st = fs.statSync(path, { bigint: true });
  return { fo_name: path, fo_atime: ts(st.atimeNs), fo_mtime: ts(st.mtimeNs), fo_ctime: ts(st.ctimeNs) };
}

/** PORT_SOURCE_FILE: an LWP blocked in port_get, associating again after each event. */
export function lwpPort(x: Arg): void {
  const ctl = new Int32Array(x.sab, 0, 2), t = new Float64Array(x.sab, 8, 1), s = new Float64Array(x.samples);
  sys.port_associate(x.port, PORT_SOURCE_FILE, fobj(x.path), FILE_MODIFIED, 0);
  Atomics.store(ctl, 0, 1); Atomics.notify(ctl, 0);
  for (let i = 0; i < x.n; i++) {
    sys.port_get(x.port, null);
    s[i] = nowNs() - t[0]!;
    sys.port_associate(x.port, PORT_SOURCE_FILE, fobj(x.path), FILE_MODIFIED, 0);
    answer(ctl, i);
  }
}

const WRITER = `
const { workerData: x } = require('node:worker_threads'); const fs = require('node:fs');
const ctl = new Int32Array(x.sab, 0, 2), t = new Float64Array(x.sab, 8, 1);
const fd = fs.openSync(x.path, 'a');
while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0, 100);
for (let i = 0; i < x.n; i++) {
  t[0] = Number(process.hrtime.bigint());
  fs.writeSync(fd, 'x');
  while (Atomics.load(ctl, 1) !== i + 1) Atomics.wait(ctl, 1, i, 1000);
}
fs.closeSync(fd);`;
const NODE_WATCHER = `
const { workerData: x } = require('node:worker_threads'); const fs = require('node:fs');
const ctl = new Int32Array(x.sab, 0, 2), t = new Float64Array(x.sab, 8, 1), s = new Float64Array(x.samples);
let i = 0, last = -1;
const w = fs.watch(x.path, (type) => {
  const now = Number(process.hrtime.bigint());
  if (type !== 'change' || t[0] === last) return; // one sample per write
  last = t[0]; s[i] = now - t[0]; i++;
  Atomics.store(ctl, 1, i); Atomics.notify(ctl, 1);
  if (i >= x.n) w.close();
});
Atomics.store(ctl, 0, 1); Atomics.notify(ctl, 0);`;

function ended(w: Worker): Promise<void> {
  return new Promise((res, rej) => { w.once('exit', () => res()); w.once('error', rej); });
}

type Kind = 'kevent' | 'port' | 'node';
/** One repetition: p50 and p99 one-way latency (us). */
async function once(kind: Kind, n: number): Promise<{ p50: number; p99: number }> {
  const dir = fs.mkdtempSync(join(tmpdir(), 'ukern-bench-vnode-')), path = join(dir, 'f');
  fs.writeFileSync(path, '');
  const arg: Arg = { path, kq: 0, port: 0, n, sab: new SharedArrayBuffer(16), samples: new SharedArrayBuffer(8 * n) };
  const writer = new Worker(WRITER, { eval: true, workerData: arg });
  // Listened for at once: the writer may be gone before the reader LWP is collected.
  const writerDone = ended(writer);
  if (kind === 'kevent') {
    const fd = fs.openSync(path, 'r');
    arg.kq = sys.kqueue();
    kevent(arg.kq, [EV_SET(fd, EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_WRITE, 0, 0)], 0, ZERO);
    await sys.lwp_wait_async(sys.lwp_create({ module: SELF, export: 'lwpKevent', arg }));
    await writerDone;
    sys.close(arg.kq); sys.close(fd);
  } else if (kind === 'port') {
    arg.port = sys.port_create();
    await sys.lwp_wait_async(sys.lwp_create({ module: SELF, export: 'lwpPort', arg }));
    await writerDone;
    sys.close(arg.port);
  } else {
    await Promise.all([ended(new Worker(NODE_WATCHER, { eval: true, workerData: arg })), writerDone]);
  }
  fs.rmSync(dir, { recursive: true });
  const l = latency(new Float64Array(arg.samples).subarray(Math.floor(n / 10)), 1); // ns samples
  return { p50: l.p50 / 1e3, p99: l.p99 / 1e3 };
}

if (isMainThread) {
  const R = reps(5), N = 2000;
  // VNODE_BENCH_ONLY=kevent|port|node: that kind alone, its p50 per
  // repetition and no report (for strace -c, perf); with VNODE_BENCH_KSTAT=1
  // also the intr, kqueue, inotify and port counters each repetition moved.
  const only = process.env.VNODE_BENCH_ONLY as Kind | undefined;
  if (only !== undefined) {
    for (let i = 0; i < R; i++) {
      const k0 = sys.kstat(), p50 = (await once(only, N)).p50, k1 = sys.kstat(), d: string[] = [];
      if (process.env.VNODE_BENCH_KSTAT === '1') {
        for (const [k, v] of Object.entries(k1)) if (v !== k0[k] && /^(intr|kqueue|inotify|port)\./.test(k)) d.push(`${k}=${v - (k0[k] ?? 0)}`);
      }
      console.log(only, p50.toFixed(2), 'us p50', d.join(' '));
    }
    process.exit(0);
  }
  console.log(`file watching (reps ${R}, ${N} appends each)`);
  for (const k of ['kevent', 'port', 'node'] as const) await once(k, 200); // warm-up: the intr thread runs, JIT
  const r: Record<Kind, { p50: number; p99: number }[]> = { kevent: [], port: [], node: [] };
  for (let i = 0; i < R; i++) for (const k of ['kevent', 'port', 'node'] as const) r[k].push(await once(k, N));
  const p = (k: Kind, q: 'p50' | 'p99') => median(r[k].map((x) => x[q]));
  const peer = "the same append -> fs.watch 'change' in a worker's event loop";
  report({ name: 'file append -> EVFILT_VNODE NOTE_WRITE in an LWP blocked in kevent, p50 one-way', value: p('kevent', 'p50'), unit: 'us',
    peer, peerValue: p('node', 'p50'), goal: '<= 1.0x', met: p('kevent', 'p50') <= p('node', 'p50'),
    note: 'the LWP waits on the kernel\'s epoll set (epoll_pwait2), takes the inotify descriptor\'s event and reads inotify itself' });
  report({ name: 'file append -> EVFILT_VNODE NOTE_WRITE, p99 one-way', value: p('kevent', 'p99'), unit: 'us',
    peer: `${peer}, p99`, peerValue: p('node', 'p99'), goal: 'reported' });
  report({ name: 'file append -> PORT_SOURCE_FILE FILE_MODIFIED in an LWP blocked in port_get, p50 one-way', value: p('port', 'p50'), unit: 'us',
    peer, peerValue: p('node', 'p50'), goal: '<= 1.0x', met: p('port', 'p50') <= p('node', 'p50'),
    note: 'one-shot: associated again (with a stat for the times) after each event, outside the measured path' });
  report({ name: 'file append -> PORT_SOURCE_FILE FILE_MODIFIED, p99 one-way', value: p('port', 'p99'), unit: 'us',
    peer: `${peer}, p99`, peerValue: p('node', 'p99'), goal: 'reported' });
  flush();
}
