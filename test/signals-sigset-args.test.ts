/**
 * A sigset_t's two words are plain properties: a program can overwrite
 * them. The kernel reads each once and takes it only as a number; before,
 * a Symbol or BigInt word threw the engine's TypeError (no code) from
 * `| 0`, and an object's valueOf ran there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';

const typeErr = (e: unknown): boolean => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE';

test('a sigset_t whose words were overwritten with non-numbers is ERR_INVALID_ARG_TYPE everywhere, and runs no user code', async () => {
  let ran = 0;
  const bad: unknown[] = [Symbol('w'), 2n ** 40n, { valueOf: () => { ran++; return 0; } }, 'x', undefined];
  for (const w of bad) {
    for (const word of ['w0', 'w1'] as const) {
      const set = sys.sigemptyset();
      (set as unknown as Record<string, unknown>)[word] = w;
      const what = `${word} = ${typeof w}`;
      assert.throws(() => sys.sigprocmask(sys.SIG_BLOCK, set), typeErr, `sigprocmask ${what}`);
      assert.throws(() => sys.sigtimedwait(set, { tv_sec: 0, tv_nsec: 0 }), typeErr, `sigtimedwait ${what}`);
      assert.throws(() => sys.sigsuspend(set), typeErr, `sigsuspend ${what}`);
      assert.throws(() => sys.sigaction(sys.SIGCHLD, { sa_handler: sys.SIG_DFL, sa_mask: set }), typeErr, `sigaction ${what}`);
      assert.throws(() => sys.sigaddset(set, 40), typeErr, `sigaddset ${what}`);
      assert.throws(() => sys.sigismember(set, 3), typeErr, `sigismember ${what}`);
      await assert.rejects(sys.sigwait_async(set), typeErr, `sigwait_async ${what}`);
    }
  }
  assert.equal(ran, 0, 'valueOf ran');
  // The mask is as it was (nothing blocked by the failed calls).
  assert.deepEqual(sys.sigprocmask(sys.SIG_BLOCK, null).toArray(), []);
});
