/**
 * A kernel thread that dies after it is up is a kernel panic, at once and
 * named (lwp/kthread.ts says why never a restart): the intr thread throwing
 * at a wake-up (UKERN_KTHREAD_CRASH=intr), ending its worker by
 * process.exit (intr-exit: the starter's watch, as for a terminate), and
 * the clock thread throwing at a wake-up (clock). Each runs in a child
 * process (this file, FIX_KTHREAD_ROLE set): it makes the thread serve,
 * then calls into the kernel until a call fails (deadline 5 s) and prints
 * what it got. Without the panic the thread's death was only logged (or not
 * even that), and calls went on as if served.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as sys from 'ukern/sys';
import { pipe } from './fixtures/osfd.js';
import { until, childRun } from './helpers.js';

const { EV_SET, kevent, kqueue, EVFILT_READ, EVFILT_TIMER, EV_ADD, EV_CLEAR } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

/** Calls `call` (after `poke`) until it throws or 5 s pass; prints the outcome. */
async function calls_until_failure(poke: () => void, call: () => void): Promise<void> {
  const t0 = Date.now();
  let outcome = 'no failure within 5 s';
  while (Date.now() - t0 < 5000) {
    poke();
    try { call(); } catch (e) {
      const err = e as { code?: string; name?: string };
      outcome = `${err.code} ${err.name}`;
      break;
    }
    // Let this thread's event loop turn: the starter's watch is an 'exit' event.
    await new Promise((r) => setTimeout(r, 5));
  }
  console.log(outcome);
}

async function child(role: string): Promise<void> {
  const kq = kqueue();
  if (role === 'clock') {
    // 300 ms out: the clock thread starts at once (lwp/kthread.ts, clockstats.ts).
    kevent(kq, [EV_SET(1, EVFILT_TIMER, EV_ADD, 0, 300, 0)], 0, ZERO);
    await until(() => sys.kstat('clock')['clock.started'] === 1, 10_000, 'the clock thread');
    await calls_until_failure(() => {}, () => { kevent(kq, null, 4, { tv_sec: 1, tv_nsec: 0 }); });
    return;
  }
  const [r, w] = pipe();
  kevent(kq, [EV_SET(r, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 0)], 0, ZERO);
  await until(() => sys.kstat('intr')['intr.started'] === 1, 10_000, 'the intr thread');
  await calls_until_failure(() => { writeSync(w, 'x'); }, () => { kevent(kq, null, 4, { tv_sec: 1, tv_nsec: 0 }); });
}

const role = process.env.FIX_KTHREAD_ROLE;
if (role !== undefined) {
  await child(role);
} else {
  const self = fileURLToPath(import.meta.url);
  async function run(crash: string, role: string): Promise<{ out: string; err: string }> {
    const saved = { ...process.env };
    process.env.UKERN_KTHREAD_CRASH = crash;
    process.env.FIX_KTHREAD_ROLE = role;
    try {
      const r = await childRun(self, [], 30_000);
      assert.equal(r.signal, null, r.stderr);
      return { out: r.stdout, err: r.stderr };
    } finally {
      for (const k of ['UKERN_KTHREAD_CRASH', 'FIX_KTHREAD_ROLE']) { if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k]; }
    }
  }

  test('the intr thread throwing is a panic naming it, and the next call fails with EIO within 5 s', async () => {
    const { out, err } = await run('intr', 'intr');
    assert.equal(out, 'EIO KernelPanicError\n', err);
    assert.match(err, /^ukern: panic: kernel thread intr died: Error: UKERN_KTHREAD_CRASH.*what it served \(OS events\) has stopped$/ms);
  });

  test("the intr thread's worker ending (not through its loop) is a panic raised by its starter", async () => {
    const { out, err } = await run('intr-exit', 'intr');
    assert.equal(out, 'EIO KernelPanicError\n', err);
    assert.match(err, /^ukern: panic: kernel thread intr died: its worker ended \(exit code 3\); what it served \(OS events\) has stopped$/m);
  });

  test('the clock thread throwing is a panic naming it, and the sleeping kevent fails with EIO within 5 s', async () => {
    const { out, err } = await run('clock', 'clock');
    assert.equal(out, 'EIO KernelPanicError\n', err);
    assert.match(err, /^ukern: panic: kernel thread clock died: Error: UKERN_KTHREAD_CRASH.*what it served \(timer expiries\) has stopped$/ms);
  });
}
