/**
 * A process whose kernel panicked never exits 0 (kern/panic.ts
 * panic_status_at_exit): it ends with the panic's status, 70 (EX_SOFTWARE,
 * as when a waiter or lwp0 sees the panic), unless it set another non-zero
 * status itself. Before, the status was set only where a thread saw the
 * panic through a kernel hold, lwp0 or its lwp_exit: a main thread that met
 * it as a blocking call's EIO, caught it and went on to end with nothing
 * pending ended with 0 (a CI would call the run a success), even through
 * process.exit(0). A clean exit keeps 0.
 *
 * Each row is a child process (this file with FIX_PANIC_STATUS set to the
 * row's name) under a deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import * as sys from '../src/sys/index.js';
import { mutex_enter } from '../src/kern/mutex.js';
import { park_bucket_lock } from '../src/lwp/park.js';
import { childRun, fixtures } from './helpers.js';

/** The booting thread takes a kernel mutex it holds: a panic, its EIO caught here. */
function panic_caught(): void {
  sys.lwp_self(); // boot
  const w = park_bucket_lock(1);
  mutex_enter(w);
  try { mutex_enter(w); console.log('reentered'); } catch (e) { console.log(`caught ${(e as sys.SysError).code}`); }
}

const rows: Record<string, () => void | Promise<void>> = {
  // Ends with nothing pending: its event loop empties.
  caught() { panic_caught(); },
  exit0() { panic_caught(); process.exit(0); },
  own() { panic_caught(); process.exitCode = 3; },
  // A kernel thread dies (the clock thread, at its first wake-up) while the
  // main thread waits in a synchronous kevent: EIO, caught, and nothing more.
  kthread() {
    const kq = sys.kqueue();
    sys.kevent(kq, [sys.EV_SET(1, sys.EVFILT_TIMER, sys.EV_ADD, 0, 50, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
    const end = Date.now() + 10_000;
    for (;;) {
      try { sys.kevent(kq, null, 4, { tv_sec: 1, tv_nsec: 0 }); } catch (e) { console.log(`caught ${(e as sys.SysError).code}`); return; }
      if (Date.now() > end) { console.log('no panic'); return; }
    }
  },
  async clean() {
    const l = sys.lwp_create({ module: fixtures, export: 'returnsAtOnce' });
    console.log(`collected ${sys.lwp_wait(l) === l}`);
  },
  cleanExit0() {
    const l = sys.lwp_create({ module: fixtures, export: 'returnsAtOnce' });
    sys.lwp_wait(l);
    process.exit(0);
  },
};

const role = process.env.FIX_PANIC_STATUS;
if (role !== undefined) {
  await rows[role]!();
} else {
  const self = fileURLToPath(import.meta.url);
  const run = (row: string, env: Record<string, string> = {}): ReturnType<typeof childRun> => childRun(self, [], 30_000, { FIX_PANIC_STATUS: row, ...env });

  test('a main thread that caught a panic\'s EIO and ended with nothing pending exits 70, not 0; through process.exit(0) too; a status of its own stays', { concurrency: true }, async (t) => {
    for (const [row, want] of [['caught', 70], ['exit0', 70], ['own', 3]] as const) {
      await t.test(row, async () => {
        const r = await run(row);
        assert.equal(r.signal, null, `killed at the deadline\n${r.stderr}`);
        assert.equal(r.stdout, 'caught EIO\n', r.stderr);
        assert.match(r.stderr, /ukern: panic: mutex_enter: thread 1 tried to take the kernel mutex/);
        assert.equal(r.status, want, r.stderr);
      });
    }
  });

  test('a kernel thread that died while the main thread waited in a synchronous call: its EIO caught, the process exits 70', async () => {
    const r = await run('kthread', { UKERN_KTHREAD_CRASH: 'clock' });
    assert.equal(r.signal, null, `killed at the deadline\n${r.stderr}`);
    assert.equal(r.stdout, 'caught EIO\n', r.stderr);
    assert.match(r.stderr, /ukern: panic: kernel thread clock died/);
    assert.equal(r.status, 70, r.stderr);
  });

  test('a clean exit (no panic) stays 0, by its end and by process.exit(0)', { concurrency: true }, async (t) => {
    for (const row of ['clean', 'cleanExit0']) {
      await t.test(row, async () => {
        const r = await run(row);
        assert.equal(r.signal, null, `killed at the deadline\n${r.stderr}`);
        assert.equal(r.status, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /panic/);
      });
    }
  });
}
