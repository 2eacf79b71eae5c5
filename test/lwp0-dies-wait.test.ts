/**
 * lwp0 dying while the main thread is blocked in a synchronous lwp_wait.
 * The LWPs other LWPs create run in lwp0's workers, which end with lwp0,
 * unreaped (lwp0 was their reaper), and lwp0's death was seen only by the
 * main thread's 'error' listener (the panic, then exit 70): at its next
 * event-loop turn, which a main thread blocked in lwp_wait for such an LWP
 * never reached. It waited for ever. lwp0 now raises the panic itself as it
 * dies (lwp0.ts), and the panic ends the wait with EIO at once.
 *
 * The child (this file with FIX_LWP0_DIES set) makes lwp0 die as a kernel
 * bug in it would: LWP 2 creates LWP 3 (lwp0 runs it), then posts lwp0 a
 * kernel-thread request it cannot serve (a module that is no URL: lwp0's
 * handler throws, uncaught), once lwp0 has its kernel attached (it started
 * the intr thread LWP 2 asked for). The main thread waits for LWP 3.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { writeSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import * as sys from '../src/sys/index.js';
import { lwp0_post } from '../src/lwp/spawn.js';
import { pipe } from './fixtures/osfd.js';
import { childRun } from './helpers.js';

const say = (l: string): void => { writeSync(1, `${l}\n`); };

/** LWP 3: blocks outside the kernel (its worker is lwp0's, and ends with it). */
export function blocks(sab: SharedArrayBuffer): void {
  Atomics.wait(new Int32Array(sab), 1, 0, 20_000);
}

/** LWP 2: creates LWP 3, hands its lid to the main thread, then kills lwp0. */
export function killsLwp0(sab: SharedArrayBuffer): void {
  const a = new Int32Array(sab);
  // lwp0 dies with its kernel part attached (the case at hand: its LWPs run),
  // known so: it serves an LWP's kernel-thread request only once attached,
  // and a pipe's read knote registered here asks it for the intr thread.
  const kq = sys.kqueue();
  const [r] = pipe();
  sys.kevent(kq, [sys.EV_SET(r, sys.EVFILT_READ, sys.EV_ADD | sys.EV_CLEAR, 0, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
  const end = Date.now() + 10_000;
  while (sys.kstat('intr')['intr.started'] !== 1 && Date.now() < end) Atomics.wait(a, 2, 0, 1);
  const lid = sys.lwp_create({ module: new URL(import.meta.url), export: 'blocks', arg: sab });
  // Until LWP 3 runs in lwp0's worker.
  while (sys.lwp_snapshot().lwps.find((l) => l.lid === lid)?.state !== 'ONPROC' && Date.now() < end) Atomics.wait(a, 2, 0, 1);
  Atomics.store(a, 0, lid);
  Atomics.notify(a, 0);
  lwp0_post({ t: 'kthread', name: 'bogus', module: 'not a URL (test: lwp0 dies)', fails: 0, words: [] });
}

if (!isMainThread) {
  // An LWP loading this file for its exports.
} else if (process.env.FIX_LWP0_DIES !== undefined) {
  const sab = new SharedArrayBuffer(16);
  const a = new Int32Array(sab);
  const l2 = sys.lwp_create({ module: new URL(import.meta.url), export: 'killsLwp0', arg: sab }, sys.LWP_DETACHED);
  void l2;
  const end = Date.now() + 15_000;
  while (Atomics.load(a, 0) === 0 && Date.now() < end) Atomics.wait(a, 0, 0, 100);
  const lid = Atomics.load(a, 0);
  if (lid === 0) { say('LWP 3 never ran'); process.exit(1); }
  const t0 = Date.now();
  try { sys.lwp_wait(lid); say('wait returned'); } catch (e) { say(`wait ${(e as sys.SysError).code}`); }
  say(`after ${Date.now() - t0 < 5000 ? 'less' : 'more'} than 5 s`);
} else {
  test('lwp0 dies while the main thread is blocked in lwp_wait for an LWP of lwp0\'s: the wait fails with EIO at once (a panic), and the process exits 70', async () => {
    const r = await childRun(fileURLToPath(import.meta.url), [], 20_000, { FIX_LWP0_DIES: '1' });
    assert.equal(r.signal, null, `killed at the deadline: the main thread waited for ever\n${r.stdout}\n${r.stderr}`);
    assert.equal(r.stdout, 'wait EIO\nafter less than 5 s\n', r.stderr);
    assert.match(r.stderr, /ukern: panic: lwp0 failed: .*Invalid URL/s);
    assert.equal(r.status, 70, r.stderr);
  });
}
