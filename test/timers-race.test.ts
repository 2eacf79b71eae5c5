/**
 * POSIX timers under concurrency (timers/sys.ts, timertab.ts): timer_delete
 * grabs a timer and takes it out of the table in one hold of the table lock,
 * while other LWPs hold or wait for the same timer's lock; timer_settime
 * re-arms a timer without stopping its callout first, while the clock thread
 * may be firing it. Nothing may hang, fail otherwise than EINVAL, leak a
 * callout or leave one armed at a deadline no setting asked for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { callout_count, callout_snapshot, TL_MONO } from '../src/timers/callout.js';
import { within, until, seed, rng } from './helpers.js';

sys.boot({ timer_max: 256 });

const Z = { tv_sec: 0, tv_nsec: 0 };
const code = (c: string) => (e: unknown) => e instanceof sys.SysError && e.code === c;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hammer = new URL('./fixtures/timers-lwp.js', import.meta.url);

test('timer_delete while two LWPs re-arm and read the same timers: each delete wins once, the rest is EINVAL, nothing leaks (seeded)', async (t) => {
  const sd = seed();
  t.diagnostic(`seed ${sd} (replay: UKERN_SEED=${sd})`);
  const rand = rng(sd);
  const base = callout_count(TL_MONO);
  for (let round = 0; round < 4; round++) {
    const N = 32;
    const idsSab = new SharedArrayBuffer(4 * N), ids = new Int32Array(idsSab);
    for (let i = 0; i < N; i++) ids[i] = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_NONE });
    const ctl = new SharedArrayBuffer(4), out = new SharedArrayBuffer(4 * 6);
    const lids = [0, 1].map((slot) => sys.lwp_create({ module: hammer, export: 'timerHammer', arg: { ids: idsSab, ctl, out, slot } }));
    const o = new Int32Array(out);
    // Wait until both are at it (a deadline, not a bounded wait that goes on
    // regardless: beside a loaded machine's other work the second LWP's
    // worker was once still starting after 1 s, and the deletes ran without
    // it), then delete every timer in a seeded order.
    await until(() => o[0] !== 0 && o[3] !== 0, 30_000, 'both LWPs to re-arm timers');
    const order = [...ids].sort(() => rand() - 0.5);
    for (const id of order) {
      sys.timer_delete(id);
      assert.throws(() => sys.timer_delete(id), code('EINVAL'));
      if (rand() < 0.3) await sleep(0);
    }
    // Every timer is gone: each LWP's next call meets a deleted one.
    await until(() => o[1] !== 0 && o[4] !== 0, 30_000, 'both LWPs to meet deleted timers');
    Atomics.store(new Int32Array(ctl), 0, 1);
    for (const l of lids) await within(sys.lwp_wait_async(l), 30000, `LWP ${l}`);
    assert.equal(o[2], 0, 'no LWP call failed otherwise than EINVAL');
    assert.equal(o[5], 0, 'no LWP call failed otherwise than EINVAL');
    assert.ok(o[0]! > 0 && o[3]! > 0, `both LWPs re-armed timers (${o[0]}, ${o[3]})`);
    assert.ok(o[1]! > 0 && o[4]! > 0, `both LWPs met deleted timers (${o[1]}, ${o[4]})`);
    assert.equal(callout_count(TL_MONO), base, 'every deleted timer\'s callout left the heap');
    assert.deepEqual(callout_snapshot(TL_MONO).busy, [], 'no callout pending, firing or waited for');
  }
  // The ids came back: timer_max of them can be created again.
  const again: number[] = [];
  for (let i = 0; i < 200; i++) again.push(sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_NONE }));
  for (const id of again) sys.timer_delete(id);
});

test('timer_settime re-arms a periodic timer the clock thread is firing: the new setting wins, the old one is reported whole', async () => {
  const N = 8;
  const base = callout_count(TL_MONO);
  const ids = Array.from({ length: N }, () => sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_NONE }));
  const periodic = { it_value: { tv_sec: 0, tv_nsec: 50_000 }, it_interval: { tv_sec: 0, tv_nsec: 50_000 } };
  const far = { it_value: { tv_sec: 3600, tv_nsec: 0 }, it_interval: Z };
  for (const id of ids) sys.timer_settime(id, 0, periodic);
  const until = Date.now() + 300;
  let rounds = 0;
  while (Date.now() < until) {
    for (const id of ids) {
      // Periodic (fired every 50 µs by the clock thread) -> one-shot 1 h away -> periodic again.
      const old1 = sys.timer_settime(id, 0, far);
      assert.deepEqual(old1.it_interval, { tv_sec: 0, tv_nsec: 50_000 }, 'the periodic setting reported as the old one');
      const old2 = sys.timer_settime(id, 0, periodic);
      assert.deepEqual(old2.it_interval, Z, 'the one-shot reported as the old one');
      assert.ok(old2.it_value.tv_sec >= 3599, `the one-shot ~1 h away (${old2.it_value.tv_sec} s)`);
    }
    rounds++;
    await sleep(0);
  }
  assert.ok(rounds > 3, `rounds ${rounds}`);
  // The last setting everywhere: 1 h away. A firing handler's own next expiry
  // (50 µs on) must not have won over it.
  for (const id of ids) sys.timer_settime(id, 0, far);
  await sleep(20);
  const now = sys.clock_gettime(sys.CLOCK_MONOTONIC);
  const nowNs = now.tv_sec * 1e9 + now.tv_nsec;
  const pending = callout_snapshot(TL_MONO).busy;
  assert.equal(pending.length, N, 'one callout pending per timer');
  for (const c of pending) assert.ok(c.state === 'pending' && c.when > nowNs + 3500e9, `a callout armed 1 h away, not at an old period (${(c.when - nowNs) / 1e9} s)`);
  for (const id of ids) {
    const cur = sys.timer_gettime(id);
    assert.deepEqual(cur.it_interval, Z);
    assert.ok(cur.it_value.tv_sec >= 3590, `1 h away (${cur.it_value.tv_sec} s)`);
    sys.timer_delete(id);
  }
  assert.equal(callout_count(TL_MONO), base);
});
