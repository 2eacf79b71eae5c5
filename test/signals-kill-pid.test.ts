/**
 * kill and sigqueue take a pid_t, a C int. A pid from 2^31 to 2^32 - 1 was
 * accepted by the copy-in (the int-or-uint range) and handed to Node's
 * process.kill, which threw its own TypeError for a number ('The "pid"
 * argument must be of type number. Received type number'); no process has
 * such a pid: ESRCH. (C's conversion would make 2^32 - 1 the -1 of every
 * process: not followed.) Signal 0 only: nothing is sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';

const esrch = (e: unknown): boolean => e instanceof sys.SysError && e.code === 'ESRCH';

test('kill / sigqueue: a pid beyond a C int is ESRCH', () => {
  for (const pid of [2 ** 31, 2 ** 32 - 1, -(2 ** 31) - 1, 2 ** 53, 1.5, NaN]) {
    assert.throws(() => sys.kill(pid, 0), esrch, `kill(${pid}, 0)`);
    assert.throws(() => sys.sigqueue(pid, 0, 0), esrch, `sigqueue(${pid}, 0, 0)`);
  }
  assert.throws(() => sys.kill('1' as unknown as number, 0), (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE');
  sys.kill(process.pid, 0);
  sys.kill(0, 0);
  sys.sigqueue(process.pid, 0, 0);
});
