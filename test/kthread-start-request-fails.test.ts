/**
 * A kernel thread's start request that cannot be made (the test hook
 * UKERN_KTHREAD_FAIL_START=name:1: this thread's first request of that name
 * throws where new Worker or the post to lwp0 would) gives its claim back,
 * so the next need asks again and the thread comes: the intr thread at the
 * next registration (in the main thread: a direct start; in an LWP: through
 * lwp0), the clock thread at the next arm, the AIO threads at the next
 * submission (the failed one fails with EIO at once). Before, the claim stayed taken
 * kernel-wide and the thread never started (and the failure was thrown
 * through the registering syscall). Each runs in a child process (this
 * file, FIX_KTHREAD_ROLE set), which prints what it saw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { openSync, closeSync, writeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe } from './fixtures/osfd.js';
import { until, childOk } from './helpers.js';

const { EV_SET, kevent, kqueue, EVFILT_READ, EVFILT_TIMER, EV_ADD, EV_DELETE } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const self = fileURLToPath(import.meta.url);

/** Whether `cond` holds within 10 s (polled on the event loop). */
async function comes(cond: () => boolean): Promise<boolean> {
  try { await until(cond, 10_000, 'the thread'); return true; } catch { return false; }
}

/** The intr case's body: two registrations, then whether the thread came. Prints its lines. */
export async function intr_case(print: (line: string) => void = (l) => { console.log(l); }): Promise<void> {
  const kq = kqueue();
  const [r1] = pipe(), [r2] = pipe();
  let first = 'ok';
  try { kevent(kq, [EV_SET(r1, EVFILT_READ, EV_ADD, 0, 0, 0)], 0, ZERO); } catch (e) { first = String(e); }
  print(`first registration: ${first}`);
  print(`started after the first: ${sys.kstat('intr')['intr.started']}`);
  kevent(kq, [EV_SET(r2, EVFILT_READ, EV_ADD, 0, 0, 0)], 0, ZERO);
  print(`started after the second: ${await comes(() => sys.kstat('intr')['intr.started'] === 1)}`);
}

async function child(role: string): Promise<void> {
  if (role === 'intr') { await intr_case(); return; }
  if (role === 'intr-lwp') {
    // The LWP's requests go to lwp0; it reports back through a word.
    const sab = new SharedArrayBuffer(4);
    sys.lwp_create({ module: import.meta.url, export: 'lwp_intr', arg: sab });
    await until(() => Atomics.load(new Int32Array(sab), 0) !== 0, 20_000, 'the LWP');
    return;
  }
  if (role === 'aio') {
    // The threads engine with one I/O thread, whose first request fails: that
    // read fails with EIO at once, the next one is served.
    sys.boot({ aio_threads: 1 });
    const fd = openSync(fileURLToPath(import.meta.url), 'r');
    const read = (): string => {
      const cb: sys.aiocb = { aio_fildes: fd, aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(4)), aio_nbytes: 4 };
      sys.aio_read(cb);
      try { sys.aio_suspend([cb], { tv_sec: 10, tv_nsec: 0 }); } catch (e) { return `suspend ${(e as { code?: string }).code}`; }
      try { return `read ${sys.aio_return(cb)}`; } catch (e) { return `read ${(e as { code?: string }).code}`; }
    };
    const t0 = Date.now();
    console.log(`first: ${read()} within 1 s: ${Date.now() - t0 < 1000}`);
    console.log(`second: ${read()}`);
    closeSync(fd);
    return;
  }
  // clock: 300 ms out starts the clock thread at once; the first arm's request fails.
  const kq = kqueue();
  kevent(kq, [EV_SET(1, EVFILT_TIMER, EV_ADD, 0, 300, 0)], 0, ZERO);
  // The arm asks right after its syscall (a microtask: it was under the kqueue lock).
  await new Promise((r) => setImmediate(r));
  console.log(`started after the first arm: ${sys.kstat('clock')['clock.started']}`);
  kevent(kq, [EV_SET(1, EVFILT_TIMER, EV_DELETE, 0, 0, 0), EV_SET(2, EVFILT_TIMER, EV_ADD, 0, 300, 0)], 0, ZERO);
  console.log(`started after the second: ${await comes(() => sys.kstat('clock')['clock.started'] === 1)}`);
}

/** Run in an LWP (role intr-lwp). */
export async function lwp_intr(sab: SharedArrayBuffer): Promise<void> {
  // Written to the process's stdout at once: a worker's console.log goes
  // through the main thread's event loop, and the child's main thread ends
  // as soon as the word below is set (its last line was lost, ~1 run in 10).
  await intr_case((l) => { writeSync(1, `${l}\n`); });
  Atomics.store(new Int32Array(sab), 0, 1);
}

const role = process.env.FIX_KTHREAD_ROLE;
if (role !== undefined && process.env.FIX_KTHREAD_CHILD !== undefined) {
  delete process.env.FIX_KTHREAD_CHILD; // an LWP loading this file only takes its export
  await child(role);
} else if (role === undefined) {
  const run = async (fail: string, role: string, more: Record<string, string> = {}): Promise<string> =>
    (await childOk(self, 40_000, { UKERN_KTHREAD_FAIL_START: fail, FIX_KTHREAD_ROLE: role, FIX_KTHREAD_CHILD: '1', ...more })).stdout;

  test('intr: a failed start request is asked again at the next registration (main thread, direct start)', async () => {
    assert.equal(await run('intr:1', 'intr'),
      'first registration: ok\nstarted after the first: 0\nstarted after the second: true\n');
  });

  test('intr: the same in an LWP (its requests go to lwp0)', async () => {
    assert.equal(await run('intr:1', 'intr-lwp'),
      'first registration: ok\nstarted after the first: 0\nstarted after the second: true\n');
  });

  test('clock: a failed start request is asked again at the next arm', async () => {
    assert.equal(await run('clock:1', 'clock'), 'started after the first arm: 0\nstarted after the second: true\n');
  });

  test('aio: a failed start request fails its submission with EIO at once, and the next submission asks again', async () => {
    assert.equal(await run('aio0:1', 'aio', { UKERN_AIO_ENGINE: 'threads' }), 'first: read EIO within 1 s: true\nsecond: read 4\n');
  });
}
