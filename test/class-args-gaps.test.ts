/**
 * Arguments the class layer let through to the kernel, or took silently
 * (review of src/ukern): each assertion here failed before its fix (the
 * commit that added it says how). The rule (ukern/args.ts): a value C could
 * never have passed is an argument error with Node's code, checked before
 * anything is done.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aio, Timer, kill, signals, onSignal, CLOCK_MONOTONIC } from 'ukern';
import * as sys from 'ukern/sys';

const code = (c: string) => (e: unknown): boolean => (e as { code?: string }).code === c;

test('aio.batch: an op other than \'read\' or \'write\' is ERR_INVALID_ARG_VALUE, nothing submitted (it was a read into the buffer)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-clsargs-'));
  try {
    const file = join(dir, 'f');
    writeFileSync(file, 'abcd');
    const fd = openSync(file, 'r+');
    try {
      const submitted = sys.kstat('aio')['aio.submitted'];
      const b = aio.buffer(4); b.set(Buffer.from('WXYZ'));
      for (const op of ['Write', undefined, 'append']) {
        await assert.rejects(aio.batch([{ op: op as 'write', fd, buffer: b, position: 0 }]), code('ERR_INVALID_ARG_VALUE'), String(op));
      }
      assert.equal(sys.kstat('aio')['aio.submitted'], submitted, 'nothing was submitted');
      assert.equal(Buffer.from(b).toString(), 'WXYZ', 'the buffer to write was not read into');
      assert.equal(readFileSync(file, 'utf8'), 'abcd');
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Timer: options.clock is an int (a fraction, NaN, 2**32 were timer_create\'s EINVAL)', () => {
  for (const clock of [CLOCK_MONOTONIC + 0.5, NaN, 2 ** 32 + CLOCK_MONOTONIC, Infinity]) {
    assert.throws(() => new Timer({ delay: 1, clock }), (e: unknown) => e instanceof RangeError && code('ERR_OUT_OF_RANGE')(e), String(clock));
  }
  assert.throws(() => new Timer({ delay: 1, clock: '1' as unknown as number }), code('ERR_INVALID_ARG_TYPE'));
  new Timer({ delay: 0, clock: CLOCK_MONOTONIC }).close();
});

test('kill: pid is an int (a fraction, 2**40 were kill\'s ESRCH)', () => {
  for (const pid of [1.5, 2 ** 40, -(2 ** 31) - 1, NaN]) {
    assert.throws(() => kill(pid, "SIGUSR2"), code('ERR_OUT_OF_RANGE'), String(pid));
  }
});

test('signals() / onSignal: options that are not an object are ERR_INVALID_ARG_TYPE (they were taken as none)', () => {
  for (const bad of [5, 'x', null, true]) {
    assert.throws(() => signals(['SIGUSR2'], bad as never), code('ERR_INVALID_ARG_TYPE'), `signals ${String(bad)}`);
    assert.throws(() => onSignal('SIGUSR2', () => {}, bad as never), code('ERR_INVALID_ARG_TYPE'), `onSignal ${String(bad)}`);
  }
  // Each property read once, as every class's options.
  let reads = 0;
  const ac = new AbortController();
  const it = signals(['SIGUSR2'], { get signal() { reads++; return ac.signal; } });
  assert.equal(reads, 1);
  void it.return();
});
