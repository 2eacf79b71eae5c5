/**
 * A kernel thread that dies after it is up is a kernel panic, at once and
 * named (lwp/kthread.ts says why never a restart): the intr thread throwing
 * at a wake-up (UKERN_KTHREAD_CRASH=intr), ending its worker by
 * process.exit (intr-exit: the starter's watch, as for a terminate), and
 * the clock thread throwing at a wake-up (clock), an AIO thread of the
 * threads engine throwing at its first request (aio). Each runs in a child
 * process (this file, FIX_KTHREAD_ROLE set): it makes the thread serve,
 * then calls into the kernel until a call fails (deadline 5 s) and prints
 * what it got, and whether its error names the dead thread (the panic's
 * message reaches every thread's EIO, not only the panicking thread's).
 * Without the panic the thread's death was only logged (or not even that),
 * and calls went on as if served. The message reaches a thread that meets
 * the mark while the panicking thread still writes it, too (kern/panic.ts
 * publishes it with the mark; scenarios/panic-publish.ts makes the window
 * 50 ms wide): before, such a thread's EIO said only "kernel panic", which
 * the intr case here met in 1 of 25-40 runs beside two CPU hogs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import * as sys from 'ukern/sys';
import { pipe } from './fixtures/osfd.js';
import { until, childRun, scenario } from './helpers.js';

const { EV_SET, kevent, kqueue, close, EVFILT_READ, EVFILT_TIMER, EV_ADD, EV_CLEAR } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

/** Calls `call` (after `poke`) until it throws or 5 s pass; prints the outcome. */
async function calls_until_failure(poke: () => void, call: () => void, print = (l: string): void => { console.log(l); }): Promise<void> {
  const t0 = Date.now();
  let outcome = 'no failure within 5 s';
  while (Date.now() - t0 < 5000) {
    poke();
    try { call(); } catch (e) {
      const err = e as { code?: string; name?: string; message?: string };
      // Named: the EIO of any thread carries the first panic's message (kern/panic.ts keeps it in kernel memory).
      outcome = `${err.code} ${err.name}${/kernel thread \w+ died/.test(err.message ?? '') ? ' named' : ''}`;
      break;
    }
    // Let this thread's event loop turn: the starter's watch is an 'exit' event.
    await new Promise((r) => setTimeout(r, 5));
  }
  print(outcome);
}

/** The aio case's body: a read (the I/O thread's first request), then aio_suspend until it fails. */
async function aio_case(print?: (l: string) => void): Promise<void> {
  const fd = openSync(fileURLToPath(import.meta.url), 'r');
  const cb: sys.aiocb = { aio_fildes: fd, aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(4)), aio_nbytes: 4 };
  sys.aio_read(cb);
  await calls_until_failure(() => {}, () => { sys.aio_suspend([cb], { tv_sec: 1, tv_nsec: 0 }); if (sys.aio_error(cb) === 0) throw new Error('read done'); }, print);
}

/**
 * The same in an LWP, whose AIO thread lwp0 starts (nobody watches a thread
 * lwp0 started: the thread's own guard raises the panic). Its line goes to
 * stdout at once (writeSync: a worker's console.log goes through the main
 * thread's event loop, and the process may end first).
 */
export async function aio_in_lwp(sab: SharedArrayBuffer): Promise<void> {
  await aio_case((l) => { writeSync(1, `${l}\n`); });
  Atomics.store(new Int32Array(sab), 0, 1);
}

/** The intr case's body: a pipe's read knote, then writes and kevents until one fails. */
async function intr_case(print?: (l: string) => void): Promise<void> {
  const kq = kqueue();
  const [r, w] = pipe();
  kevent(kq, [EV_SET(r, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 0)], 0, ZERO);
  await until(() => sys.kstat('intr')['intr.started'] === 1, 10_000, 'the intr thread');
  await calls_until_failure(() => { writeSync(w, 'x'); }, () => { kevent(kq, null, 4, { tv_sec: 1, tv_nsec: 0 }); }, print);
}

/** The same in an LWP, whose intr thread lwp0 starts and watches (its line to stdout at once, as aio_in_lwp's). */
export async function intr_in_lwp(sab: SharedArrayBuffer): Promise<void> {
  await intr_case((l) => { writeSync(1, `${l}\n`); });
  Atomics.store(new Int32Array(sab), 0, 1);
}

async function child(role: string): Promise<void> {
  if (role === 'intr-lwp') {
    const sab = new SharedArrayBuffer(4);
    sys.lwp_create({ module: import.meta.url, export: 'intr_in_lwp', arg: sab }, sys.LWP_DETACHED);
    await until(() => Atomics.load(new Int32Array(sab), 0) !== 0, 20_000, 'the LWP');
    return;
  }
  if (role === 'aio' || role === 'aio-lwp') {
    // One I/O thread; the read is its first request: aio_suspend must fail EIO (the panic), not wait out its 10 s.
    sys.boot({ aio_threads: 1 });
    if (role === 'aio') { await aio_case(); return; }
    const sab = new SharedArrayBuffer(4);
    sys.lwp_create({ module: import.meta.url, export: 'aio_in_lwp', arg: sab }, sys.LWP_DETACHED);
    await until(() => Atomics.load(new Int32Array(sab), 0) !== 0, 20_000, 'the LWP');
    return;
  }
  const kq = kqueue();
  if (role === 'clock') {
    // 300 ms out: the clock thread starts at once (lwp/kthread.ts, clockstats.ts).
    kevent(kq, [EV_SET(1, EVFILT_TIMER, EV_ADD, 0, 300, 0)], 0, ZERO);
    await until(() => sys.kstat('clock')['clock.started'] === 1, 10_000, 'the clock thread');
    await calls_until_failure(() => {}, () => { kevent(kq, null, 4, { tv_sec: 1, tv_nsec: 0 }); });
    return;
  }
  close(kq);
  await intr_case();
}

const role = process.env.FIX_KTHREAD_ROLE;
if (!isMainThread) {
  // An LWP of a child, loading this file for its export: nothing to run here.
} else if (role !== undefined) {
  await child(role);
} else {
  const self = fileURLToPath(import.meta.url);
  async function run(crash: string, role: string): Promise<{ out: string; err: string }> {
    const r = await childRun(self, [], 30_000, { UKERN_KTHREAD_CRASH: crash, FIX_KTHREAD_ROLE: role });
    assert.equal(r.signal, null, r.stderr);
    return { out: r.stdout, err: r.stderr };
  }

  test('a thread that meets the first panic\'s mark while its message is still being written gets the message (it is published with the mark)', () => {
    const r = scenario('panic-publish', [], 30_000);
    assert.equal(r.signal, null, r.stderr);
    assert.match(r.stdout, /^EIO .*kernel panic \(LWP \d+\): a slow panic \(test\/fixtures\/panic-slow\)\)?\n$/, r.stderr);
  });

  test('the intr thread throwing is a panic naming it, and the next call fails with EIO within 5 s', async () => {
    const { out, err } = await run('intr', 'intr');
    assert.equal(out, 'EIO KernelPanicError named\n', err);
    assert.match(err, /^ukern: panic: kernel thread intr died: Error: UKERN_KTHREAD_CRASH.*what it served \(OS events\) has stopped$/ms);
  });

  for (const where of ['intr', 'intr-lwp']) {
    test(`the intr thread's worker ending (not through its loop) is a panic raised by its starter (${where === 'intr' ? 'the main thread' : 'lwp0, for an LWP'})`, async () => {
      const { out, err } = await run('intr-exit', where);
      assert.equal(out, 'EIO KernelPanicError named\n', err);
      assert.match(err, /^ukern: panic: kernel thread intr died: its worker ended \(exit code 3\); what it served \(OS events\) has stopped$/m);
    });
  }

  for (const where of ['aio', 'aio-lwp']) {
    test(`an AIO thread throwing is a panic naming it, and the waiting aio_suspend fails with EIO within 5 s (${where === 'aio' ? 'started by the main thread' : 'started by lwp0, for an LWP'})`, async () => {
      const saved = process.env.UKERN_AIO_ENGINE;
      process.env.UKERN_AIO_ENGINE = 'threads';
      try {
        const { out, err } = await run('aio', where);
        assert.equal(out, 'EIO KernelPanicError named\n', err);
        assert.match(err, /^ukern: panic: kernel thread aio died: Error: UKERN_KTHREAD_CRASH.*what it served \(asynchronous I\/O\) has stopped$/ms);
      } finally {
        if (saved === undefined) delete process.env.UKERN_AIO_ENGINE; else process.env.UKERN_AIO_ENGINE = saved;
      }
    });
  }

  test('the clock thread throwing is a panic naming it, and the sleeping kevent fails with EIO within 5 s', async () => {
    const { out, err } = await run('clock', 'clock');
    assert.equal(out, 'EIO KernelPanicError named\n', err);
    assert.match(err, /^ukern: panic: kernel thread clock died: Error: UKERN_KTHREAD_CRASH.*what it served \(timer expiries\) has stopped$/ms);
  });
}
