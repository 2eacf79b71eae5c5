/**
 * An LWP that ends (returns, or lwp_exit) with an lwp_wait_async still
 * pending abandons that wait: its thread never resumes it, so the wait's
 * own unwinding (p_nlwpwait--, l_waitingfor and the target's l_waiter
 * cleared) never runs. The exit must undo them, or the process keeps
 * counting a waiter that is gone: every later lwp_wait sees one LWP more
 * waiting than there is (a false EDEADLK while the target still runs), and
 * the target keeps a "first waiter" that no longer exists, so lwp_wait(0)
 * never collects it. Deterministic: the wait is registered before the
 * start function returns (lwp_wait_async sleeps synchronously).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { pkgFixtures as fixtures } from './helpers.js';

function waitFlag(a: Int32Array, i: number): void {
  const end = Date.now() + 20_000;
  while (Atomics.load(a, i) === 0) {
    assert.ok(Date.now() < end, 'the LWP did not start its wait');
    Atomics.wait(a, i, 0, 100);
  }
}

/** B blocks outside the kernel until released; A leaves an lwp_wait_async(B) pending and ends; A is collected. */
function setup(how: 'return' | 'exit'): { b: number; release: () => void } {
  const bsab = new SharedArrayBuffer(4);
  const b = sys.lwp_create({ module: fixtures, export: 'blockUntil', arg: { sab: bsab } });
  // B waits for its word with no deadline: released here after a failure of
  // this setup, in each test's finally after the test's own failure (a
  // failed assertion left it waiting, and the file ended at the runner's
  // deadline, not at the failure). Releasing it twice is harmless.
  const release = (): void => { const x = new Int32Array(bsab); Atomics.store(x, 0, 1); Atomics.notify(x, 0); };
  try {
    const asab = new SharedArrayBuffer(4);
    const a = sys.lwp_create({ module: fixtures, export: 'waitsAsyncThenLeaves', arg: { sab: asab, lid: b, how } });
    waitFlag(new Int32Array(asab), 0);
    assert.equal(sys.lwp_wait(a), a);
  } catch (e) {
    release();
    throw e;
  }
  return { b, release };
}

/** p (an lwp_wait promise) settled within ms: its lid or errno code, or 'hung'. */
async function outcome(p: Promise<number>, ms: number, ac: AbortController): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<string>((r) => { timer = setTimeout(() => { ac.abort(); r('hung'); }, ms); });
  try {
    return await Promise.race([p.catch((e: unknown) => (e instanceof sys.SysError ? e.code : String(e))), t]);
  } finally {
    clearTimeout(timer);
  }
}

for (const how of ['return', 'exit'] as const) {
  test(`an lwp_wait_async abandoned by its LWP's end (${how}) is no longer counted: lwp_wait(lid) of a running LWP sleeps`, async () => {
    const { b, release } = setup(how);
    try {
      assert.equal(sys.lwp_snapshot().proc.nlwpwait, 0, 'no LWP is in lwp_wait');
      const ac = new AbortController();
      const w = sys.lwp_wait_async(b, { signal: ac.signal });
      setTimeout(release, 50);
      assert.equal(await outcome(w, 10_000, ac), b, 'lwp_wait(b) collects b once it ends');
      assert.deepEqual(sys.lwp_check(), []);
    } finally {
      release();
    }
  });

  test(`an lwp_wait_async abandoned by its LWP's end (${how}) leaves no first-waiter mark: lwp_wait(0) collects the target`, async () => {
    const { b, release } = setup(how);
    try {
      const ac = new AbortController();
      // A leaked p_nlwpwait would fail this with EDEADLK at once; the stale
      // l_waiter alone makes the wait skip b and sleep on (then aborted: 'hung').
      const w = sys.lwp_wait_async(0, { signal: ac.signal });
      setTimeout(release, 50);
      const r = await outcome(w, 5_000, ac);
      if (r === 'hung') { try { sys.lwp_wait(b); } catch { /* collected after all */ } }
      assert.equal(r, b, 'lwp_wait(0) collects b');
      assert.deepEqual(sys.lwp_check(), []);
    } finally {
      release();
    }
  });
}
