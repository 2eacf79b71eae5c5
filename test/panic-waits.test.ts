/**
 * Fail fast, never hang, for every kind of wait: a kernel panic raised in
 * another thread (the clock thread dies: UKERN_KTHREAD_CRASH=clock, as in
 * test/kthread-dies) while a wait is pending ends that wait with EIO (a
 * KernelPanicError), and the process then ends on its own, with status 70,
 * the panic's line on its stderr.
 *
 * Table-driven: each row is a child process (this file with
 * FIX_PANIC_WAIT set to the row's name) that starts its wait, then arms a
 * trigger timer whose expiry is the clock thread's first wake-up (its
 * crash), and prints how the wait settled. Waits of the sys layer
 * (`*_async`), of the classes (methods and iterators), on OS descriptors
 * (the intr thread), on an LWP, a park, signals, AIO, room in a full port,
 * and a Timer's next() (SIGEV_THREAD through the thread's mailbox, which
 * never enters the kernel again: it never settled); and LWPs alive outside
 * the kernel when the panic comes, which the booting thread held the
 * process for, for ever, as it looked at its hold on lwp0 only when the
 * pools or lwp0 said something.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { writeSync } from 'node:fs';
import { subscribe } from 'node:diagnostics_channel';
import { isMainThread } from 'node:worker_threads';
import * as sys from 'ukern/sys';
import { Port, KQueue, Lwp, Timer, aio, signals } from 'ukern';
import { pipe } from './fixtures/osfd.js';
import { childRun } from './helpers.js';

const self = fileURLToPath(import.meta.url);
const say = (l: string): void => { writeSync(1, `${l}\n`); };
const outcome = (p: Promise<unknown>, what = 'wait'): void => {
  p.then((v) => { say(`${what} resolved ${typeof v}`); }, (e: { code?: string; name?: string }) => { say(`${what} rejected ${e.code} ${e.name}`); });
};
const outcomeSync = (call: () => unknown): void => {
  try { say(`wait resolved ${typeof call()}`); } catch (e) { say(`wait rejected ${(e as { code?: string }).code} ${(e as Error).name}`); }
};
/**
 * The trigger, armed once the row's wait is pending: a periodic timer (20
 * ms). The clock thread's first wake-up once it is up is its crash (an
 * expiry due before it is up is fired by the bridge meanwhile, and a
 * one-shot timer left it asleep for good).
 */
function trigger(): void {
  const t = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_NONE });
  const ms20 = { tv_sec: 0, tv_nsec: 20e6 };
  sys.timer_settime(t, 0, { it_value: ms20, it_interval: ms20 });
}

/** Until the pools have refilled (the main thread's keeps 2 idle workers) and no worker is starting. */
async function pool_quiet(): Promise<void> {
  const end = Date.now() + 15_000;
  for (;;) {
    const k = sys.kstat('lwp');
    if (k['lwp.pool_idle']! >= 2 && k['lwp.pool_starting'] === 0) return;
    if (Date.now() > end) throw new Error(`the pool never refilled: ${JSON.stringify(k)}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** LWP start functions (this module, loaded in the LWP for its export). */
export async function outsideKernel(): Promise<void> {
  // Alive outside the kernel: a host timer (a worker never keeps the process alive by itself).
  await new Promise((r) => setTimeout(r, 60_000));
}
export async function spinsOutsideKernel(sab: SharedArrayBuffer): Promise<void> {
  const a = new Int32Array(sab);
  Atomics.store(a, 0, 1);
  const end = Date.now() + 60_000;
  while (Date.now() < end) { /* plain JS */ }
}
export async function portGetInLwp(): Promise<void> {
  const p = sys.port_create();
  await sys.port_get_async(p, null).then(() => { say('lwp wait resolved'); }, (e: { code?: string; name?: string }) => { say(`lwp wait rejected ${e.code} ${e.name}`); });
}

/** Each row: starts its wait (pending when it returns) and says how it settles. */
const rows: Record<string, () => void | Promise<void>> = {
  port_get_async() { outcome(sys.port_get_async(sys.port_create(), null)); },
  port_getn_async() { outcome(sys.port_getn_async(sys.port_create(), 4, 1, null)); },
  'Port#get'() { outcome(new Port().get()); },
  'Port#events'() { outcome(new Port().events().next()); },
  'Port#receive'() { outcome(new Port().receive()); },
  'Port#messages'() { outcome(new Port().messages().next()); },
  'Port#send (full)'() {
    sys.boot({ port_max_events: 4 });
    const p = new Port();
    for (let i = 0; i < 4; i++) p.sendSync(1, i);
    outcome(p.send(1, 9));
  },
  'Port#post (full)'() {
    sys.boot({ port_max_events: 4 });
    const p = new Port();
    for (let i = 0; i < 4; i++) p.postSync(i);
    outcome(p.post(9));
  },
  kevent_async() { outcome(sys.kevent_async(sys.kqueue(), null, 4, null)); },
  'KQueue#wait'() { outcome(new KQueue().wait()); },
  'KQueue#events'() { outcome(new KQueue().events().next()); },
  'kevent_async (OS descriptor)'() {
    const kq = sys.kqueue();
    const [r] = pipe();
    sys.kevent(kq, [sys.EV_SET(r, sys.EVFILT_READ, sys.EV_ADD, 0, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
    outcome(sys.kevent_async(kq, null, 4, null));
  },
  'KQueue#watch (OS descriptor)'() {
    const kq = new KQueue();
    const [r] = pipe();
    kq.watch(r, 'read');
    outcome(kq.wait());
  },
  lwp_park_async() { outcome(sys.lwp_park_async(null)); },
  'Lwp.park'() { outcome(Lwp.park()); },
  sigwaitinfo_async() {
    const set = sys.sigemptyset(); sys.sigaddset(set, sys.SIGUSR2);
    sys.sigprocmask(sys.SIG_BLOCK, set);
    outcome(sys.sigwaitinfo_async(set));
  },
  sigsuspend_async() {
    const set = sys.sigemptyset();
    outcome(sys.sigsuspend_async(set));
  },
  'signals()'() { outcome(signals(['SIGUSR2']).next()); },
  'aio_suspend_async (empty pipe)'() {
    const [r] = pipe();
    const cb: sys.aiocb = { aio_fildes: r, aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(4)), aio_nbytes: 4 };
    sys.aio_read(cb);
    outcome(sys.aio_suspend_async([cb], null));
  },
  'aio.read (empty pipe)'() {
    const [r] = pipe();
    outcome(aio.read(r, new Uint8Array(new SharedArrayBuffer(4)), 0));
  },
  // An LWP alive outside the kernel: the booting thread holds the process for it.
  'lwp_wait_async (LWP outside the kernel)'() {
    const lid = sys.lwp_create({ module: import.meta.url, export: 'outsideKernel' });
    outcome(sys.lwp_wait_async(lid));
  },
  'Lwp#wait (LWP outside the kernel)'() {
    outcome(Lwp.create({ module: import.meta.url, export: 'outsideKernel' }).wait());
  },
  'no wait (LWP outside the kernel)'() {
    sys.lwp_create({ module: import.meta.url, export: 'outsideKernel' }, sys.LWP_DETACHED);
  },
  // The program's own ref'd timer still keeps the process alive: only the kernel's holds go at a panic.
  'no wait (LWP outside the kernel, a timer of the program pending)'() {
    sys.lwp_create({ module: import.meta.url, export: 'outsideKernel' }, sys.LWP_DETACHED);
    setTimeout(() => { say('own timer ran'); }, 1500);
  },
  async 'no wait (LWP spinning outside the kernel)'() {
    const sab = new SharedArrayBuffer(4);
    sys.lwp_create({ module: import.meta.url, export: 'spinsOutsideKernel', arg: sab }, sys.LWP_DETACHED);
    const end = Date.now() + 20_000;
    while (Atomics.load(new Int32Array(sab), 0) === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 1));
  },
  'port_get_async in an LWP'() {
    sys.lwp_create({ module: import.meta.url, export: 'portGetInLwp' }, sys.LWP_DETACHED);
  },
  // Blocking calls: the trigger first (the call blocks this thread), then the call.
  'port_get (sync)'() { const p = sys.port_create(); trigger(); outcomeSync(() => sys.port_get(p, null)); },
  'sigwaitinfo (sync)'() {
    const set = sys.sigemptyset(); sys.sigaddset(set, sys.SIGUSR2);
    sys.sigprocmask(sys.SIG_BLOCK, set);
    trigger();
    outcomeSync(() => sys.sigwaitinfo(set));
  },
  'kevent (sync, OS descriptor)'() {
    const kq = sys.kqueue();
    const [r] = pipe();
    sys.kevent(kq, [sys.EV_SET(r, sys.EVFILT_READ, sys.EV_ADD, 0, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
    trigger();
    outcomeSync(() => sys.kevent(kq, null, 4, null));
  },
  async 'lwp_wait (sync, LWP outside the kernel)'() {
    const lid = sys.lwp_create({ module: import.meta.url, export: 'outsideKernel' });
    await pool_quiet();
    trigger();
    outcomeSync(() => sys.lwp_wait(lid));
  },
  // A Timer whose expiry is far off: its next() waits for the thread's mailbox pump.
  'Timer#next'() { outcome(new Timer({ delay: 10_000 }).next()); },
  'Timer#next (periodic)'() { outcome(new Timer({ delay: 10_000, interval: 10_000 }).next()); },
  'Timer iterator'() { outcome(new Timer({ delay: 10_000, interval: 10_000 })[Symbol.asyncIterator]().next()); },
};
/** Rows whose wait is in an LWP (it says so itself), or where nothing waits (only the process's end is asserted). */
const inLwp = new Set(['port_get_async in an LWP']);
const noWait = new Set(Object.keys(rows).filter((n) => n.startsWith('no wait')));
/**
 * Open, not fixed here: a process whose main thread met the panic only
 * through a blocking call (its EIO), with no kernel hold and no lwp0, ends
 * on its own with status 0, not 70: nothing in it watches the panic mark,
 * and no call that fails with the panic's EIO sets the status (in-process
 * tests that panic the kernel on purpose would then end with 70). These
 * rows accept 0 until that is decided; the wait's EIO and the end are
 * asserted all the same.
 */
const statusOpen = new Set(['port_get (sync)', 'sigwaitinfo (sync)', 'kevent (sync, OS descriptor)']);

const role = process.env.FIX_PANIC_WAIT;
if (!isMainThread) {
  // An LWP of a child, loading this file for its export.
} else if (role !== undefined) {
  // How long the process takes to end after the panic (the panic is met in this thread by its first failing call).
  let at = 0;
  subscribe('ukern:panic', () => { at ||= Date.now(); });
  process.on('exit', (code) => { say(`exit ${code} ${at === 0 ? 'no panic seen' : `${Date.now() - at} ms after the panic`}`); });
  await rows[role]!();
  // The pools quiet first (refilled): nothing more comes from them or lwp0 to
  // make the booting thread look at its hold on lwp0 after the panic.
  if (!role.includes('(sync')) {
    if (/LWP/.test(role)) await pool_quiet();
    trigger();
  }
} else {
  for (const name of Object.keys(rows)) {
    test(`a panic while ${name} is pending: it rejects with EIO, the process ends (status 70) with the panic on stderr`, async () => {
      const r = await childRun(self, [], 20_000, { UKERN_KTHREAD_CRASH: 'clock', FIX_PANIC_WAIT: name });
      assert.equal(r.signal, null, `still alive at the deadline:\n${r.stdout}\n${r.stderr}`);
      if (!noWait.has(name)) assert.match(r.stdout, inLwp.has(name) ? /^lwp wait rejected EIO KernelPanicError$/m : /^wait rejected EIO KernelPanicError$/m, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /^ukern: panic: kernel thread clock died/m, r.stderr);
      if (statusOpen.has(name)) assert.ok(r.status === 70 || r.status === 0, `status ${r.status}\n${r.stdout}\n${r.stderr}`);
      else assert.equal(r.status, 70, `${r.stdout}\n${r.stderr}`);
      // Promptly (the kernel lets go PANIC_GRACE_MS, 250 ms, after the panic), when this thread met it.
      const m = /^exit \d+ (\d+) ms after the panic$/m.exec(r.stdout);
      if (m !== null) assert.ok(Number(m[1]) < 5000, r.stdout);
      if (name.includes('a timer of the program')) assert.match(r.stdout, /^own timer ran$/m, 'the process ended before its own timer ran');
    });
  }
}
