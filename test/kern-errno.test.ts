/**
 * kern/errno.ts's two tables: a code's host number (errno_of) and a host
 * number's code (errno_code, made at its first lookup): the first name of
 * each number, the kernel's own few codes Node's table lacks, EIO for a
 * number the host does not name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { errno_code, errno_of, type ErrnoCode } from '../src/kern/errno.js';

const E = constants.errno as Readonly<Record<string, number>>;

test('errno_code: the first name of a number (EAGAIN, not its alias EWOULDBLOCK), EIO for one the host does not name', () => {
  assert.equal(errno_code(E.EAGAIN!), 'EAGAIN');
  assert.equal(errno_code(E.EBADF!), 'EBADF');
  assert.equal(errno_code(E.ETIMEDOUT!), 'ETIMEDOUT');
  assert.equal(errno_code(0x7fff), 'EIO');
  assert.equal(errno_code(-1), 'EIO');
});

test('errno_of and errno_code agree for every number the host names, and for the kernel\'s own codes', () => {
  for (const [name, n] of Object.entries(E)) {
    const c = errno_code(n);
    assert.equal(errno_of(c), n, `${name} (${n}) named ${c}, whose number is ${errno_of(c)}`);
    assert.equal(errno_of(name as ErrnoCode), n);
  }
  // Node's table lacks these; the host's number where known (Linux), else illumos'.
  const linux = process.platform === 'linux';
  for (const [c, l, i] of [['EBADFD', 77, 81], ['EOWNERDEAD', 130, 58], ['ENOTRECOVERABLE', 131, 59]] as const) {
    const n = E[c] ?? (linux ? l : i);
    assert.equal(errno_of(c), n);
    assert.equal(errno_code(n), Object.entries(E).find(([, v]) => v === n)?.[0] ?? c);
  }
});

test('errno_of: a code the host does not know is a kernel assertion, not a number', () => {
  assert.throws(() => errno_of('ENOSUCHCODE' as ErrnoCode), { code: 'ERR_UKERN_ASSERTION' });
});
