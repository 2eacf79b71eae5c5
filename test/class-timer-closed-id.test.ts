/**
 * A closed Timer's set(), stop() and get() fail with EINVAL and touch no
 * timer. Timer ids are reused at once (the lowest free id), and these went
 * to the kernel by id: after close() and a new Timer taking the same id,
 * the closed one re-armed, disarmed and read the new one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { Timer } from 'ukern';

const M = sys.CLOCK_MANUAL;
const ms = (n: number): sys.Timespec => ({ tv_sec: Math.floor(n / 1e3), tv_nsec: (n % 1e3) * 1e6 });
const closed = (where: string) => ({ name: 'SysError', code: 'EINVAL', syscall: where });

test('a closed Timer cannot set, stop or read the timer that took its id', () => {
  const x = new Timer({ clock: M, delay: 1000 });
  x.close();
  using y = new Timer({ clock: M, delay: 5000, interval: 7000 });
  assert.equal(y.id, x.id, 'the id was reused');
  const mine = { it_value: ms(5000), it_interval: ms(7000) };
  assert.throws(() => x.get(), closed('Timer.get'));
  assert.throws(() => x.stop(), closed('Timer.stop'));
  assert.deepEqual(y.get(), mine, 'x.stop() disarmed y');
  assert.throws(() => x.set({ delay: 1 }), closed('Timer.set'));
  assert.deepEqual(y.get(), mine, 'x.set() re-armed y');
  x.close(); // still idempotent
  assert.deepEqual(y.get(), mine);
});

test('closed with no reuse: the same EINVAL', () => {
  const x = new Timer({ clock: M, delay: 1000 });
  x.close();
  assert.throws(() => x.get(), closed('Timer.get'));
  assert.throws(() => x.stop(), closed('Timer.stop'));
  assert.throws(() => x.set({ delay: 1 }), closed('Timer.set'));
});

test('set() whose options close the Timer as they are read: EINVAL, the id\'s new timer untouched', () => {
  const x = new Timer({ clock: M, delay: 1000 });
  let y: Timer | undefined;
  const opts = { get delay() { x.close(); y = new Timer({ clock: M, delay: 5000 }); return 1; } };
  try {
    assert.throws(() => x.set(opts), closed('Timer.set'));
    assert.equal(y!.id, x.id);
    assert.deepEqual(y!.get().it_value, ms(5000));
  } finally { y?.close(); }
});
