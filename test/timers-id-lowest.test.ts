/**
 * timer_create hands out the lowest free timer id, as timer.c does (it
 * takes the first empty slot of p_itimer). The free ids were a stack: the
 * id freed last came back first, so after deleting 0 and then 2 the next
 * timer was 2, where C code ported from illumos gets 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';

sys.boot({ timer_max: 8 });
const none = { sigev_notify: sys.SIGEV_NONE };
const create = (): number => sys.timer_create(sys.CLOCK_MONOTONIC, none);

test('the lowest free id first, whatever the order of the deletes', () => {
  const ids = Array.from({ length: 8 }, create);
  assert.deepEqual(ids, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.throws(create, { code: 'EAGAIN' });
  for (const d of [0, 2, 6, 5, 3]) sys.timer_delete(d);
  assert.deepEqual([create(), create(), create()], [0, 2, 3]);
  sys.timer_delete(7);
  sys.timer_delete(1);
  assert.deepEqual([create(), create(), create(), create()], [1, 5, 6, 7]);
  assert.throws(create, { code: 'EAGAIN' });
  for (let i = 7; i >= 0; i--) sys.timer_delete(i);
  assert.deepEqual(Array.from({ length: 8 }, create), [0, 1, 2, 3, 4, 5, 6, 7]);
  for (let i = 0; i < 8; i++) sys.timer_delete(i);
});

test('a pseudo-random churn: each create gets the lowest id not in use', () => {
  let x = 12345;
  const rnd = (n: number): number => { x = (x * 1103515245 + 12345) & 0x7fffffff; return x % n; };
  const live = new Set<number>();
  for (let k = 0; k < 400; k++) {
    if (live.size < 8 && (live.size === 0 || rnd(2) === 0)) {
      let want = 0;
      while (live.has(want)) want++;
      assert.equal(create(), want);
      live.add(want);
    } else {
      const arr = [...live];
      const d = arr[rnd(arr.length)]!;
      sys.timer_delete(d);
      live.delete(d);
    }
  }
  for (const d of live) sys.timer_delete(d);
});
