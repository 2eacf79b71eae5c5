/**
 * kern/sleepq.ts and kern/sleeprun.ts on their own: a sleeper's wait word
 * moves once, so a wake (sq_wake under the object lock), an interrupt
 * (sq_interrupt, no lock) and the sleeper's own timeout racing for it are
 * decided exactly once. Each round of a seeded random plan has one sleeper
 * and up to two actors in other LWPs, and checks that the sleeper's outcome
 * is the one actor whose call returned true (a wake that lost to a timeout
 * or an interrupt returns false and is not counted), or SQ_TIMEDOUT when
 * neither did; rounds with a single contender must end with its outcome.
 * Both forms: run_sync in an LWP and run_async in this thread (sq_interrupt of
 * an async sleeper). Aborts through run_async(gen, signal): a signal aborted
 * at entry starts nothing, an abort ends only that call's sleep (and only an
 * interruptible one), and an abort racing a wake is decided once too. After
 * each case the wait list is empty and the sleeper cache's in-use count is
 * back where it started (kmem_snapshot). The lists are park-table buckets
 * no LWP parks on, under their bucket locks (class parktab, LOCKDEBUG on in
 * npm test). The seed is printed on failure (UKERN_SEED replays it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { I32 } from '../src/kern/kmem.js';
import { cur } from '../src/kern/hdr.js';
import { mutex_enter, mutex_exit } from '../src/kern/mutex.js';
import { sq_free, sq_wake, SLEEPER, SQF_INTERRUPTIBLE, SQF_ASYNC, SQ_SLEEPING, SQ_WOKEN, SQ_INTR, SQ_TIMEDOUT } from '../src/kern/sleepq.js';
import { run_async } from '../src/kern/sleeprun.js';
import { kmem_snapshot } from '../src/kern/sys.js';
import { park_bucket_lock } from '../src/lwp/park.js';
import { sleepOnce, planDeadline, spinUs, PLAN_STRIDE, OUT_STRIDE, ROUND_MAX_MS, type RaceArg } from './fixtures/kern-prims.js';
import { seed, rng, within } from './helpers.js';

const prims = new URL('./fixtures/kern-prims.js', import.meta.url);
const NAMES = ['SLEEPING', 'WOKEN', 'INTR', 'TIMEDOUT'];
const M_RACE = 0, M_WAKE = 1, M_INTR = 2, M_TIMEOUT = 3;

function sleepersInUse(): number {
  return kmem_snapshot().caches.find((c) => c.cache === 'sleeper')!.inUse;
}
async function reap(lids: number[]): Promise<void> {
  await within(Promise.all(lids.map((l) => sys.lwp_wait_async(l))), 30000, 'LWPs to exit');
}
function listEmpty(bucket: number): boolean {
  const L = park_bucket_lock(bucket) + 1;
  return I32[L] === 0 && I32[L + 1] === 0;
}

/** A seeded plan: per round a mode, the waker's and interrupter's delays and the timeout (us; -1: none / does not act). */
function makePlan(rounds: number, r: () => number, maxUs: number): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(4 * PLAN_STRIDE * rounds), p = new Int32Array(sab);
  const d = (): number => Math.floor(r() * maxUs);
  for (let i = 0; i < rounds; i++) {
    const m = Math.floor(r() * 6) % 4 === 0 ? M_RACE : Math.floor(r() * 4); // about half the rounds are races
    let wake = -1, intr = -1, tmo = -1;
    if (m === M_RACE) {
      wake = r() < 0.8 ? d() : -1; intr = r() < 0.6 ? d() : -1; tmo = r() < 0.7 ? d() : -1;
      if (wake < 0 && intr < 0) tmo = d();
    } else if (m === M_WAKE) wake = d();
    else if (m === M_INTR) intr = d();
    else tmo = d();
    p.set([m, wake, intr, tmo], i * PLAN_STRIDE);
  }
  return sab;
}

/** Checks every round: one outcome, the one whose actor won (or the timeout when none did). Returns outcome counts of the race rounds. */
function checkRounds(plan: SharedArrayBuffer, out: SharedArrayBuffer, rounds: number, s: number): number[] {
  const p = new Int32Array(plan), o = new Int32Array(out);
  const seen = [0, 0, 0, 0];
  for (let i = 0; i < rounds; i++) {
    const [m, wakeUs, intrUs, tmoUs] = [p[i * PLAN_STRIDE]!, p[i * PLAN_STRIDE + 1]!, p[i * PLAN_STRIDE + 2]!, p[i * PLAN_STRIDE + 3]!];
    const v = o[i * OUT_STRIDE]!, woke = o[i * OUT_STRIDE + 1]!, intr = o[i * OUT_STRIDE + 2]!;
    const at = `round ${i + 1} (seed ${s}; mode ${m}, wake ${wakeUs} us, intr ${intrUs} us, timeout ${tmoUs} us): outcome ${NAMES[v] ?? v}, sq_wake ${woke}, sq_interrupt ${intr}`;
    assert.ok(v === SQ_WOKEN || v === SQ_INTR || v === SQ_TIMEDOUT, at);
    assert.equal(woke + intr + (v === SQ_TIMEDOUT ? 1 : 0), 1, `exactly one winner: ${at}`);
    assert.equal(woke === 1, v === SQ_WOKEN, `a wake counts iff the sleeper was woken: ${at}`);
    assert.equal(intr === 1, v === SQ_INTR, `an interrupt counts iff the sleeper was interrupted: ${at}`);
    if (m === M_WAKE) assert.equal(v, SQ_WOKEN, at);
    if (m === M_INTR) assert.equal(v, SQ_INTR, at);
    if (m === M_TIMEOUT) assert.equal(v, SQ_TIMEDOUT, at);
    if (m === M_RACE) seen[v]!++;
  }
  return seen;
}

function startActors(arg: RaceArg): number[] {
  return [
    sys.lwp_create({ module: prims, export: 'raceWaker', arg }),
    sys.lwp_create({ module: prims, export: 'raceInterrupter', arg }),
  ];
}

test('sync sleeps (run_sync in an LWP): wake, interrupt and timeout race, each round decided exactly once, sleepers freed', async (t) => {
  sys.lwp_self(); // boot
  const s = seed(), r = rng(s);
  const ROUNDS = 300, bucket = 90;
  const start = sleepersInUse();
  const arg: RaceArg = { ctl: new SharedArrayBuffer(4 * 8), plan: makePlan(ROUNDS, r, 200), out: new SharedArrayBuffer(4 * OUT_STRIDE * ROUNDS), rounds: ROUNDS, bucket };
  const lids = [sys.lwp_create({ module: prims, export: 'raceSleeper', arg }), ...startActors(arg)];
  await reap(lids);
  const ctl = new Int32Array(arg.ctl);
  assert.equal(ctl[4], 0, `no side gave up at a deadline (seed ${s}; rounds published ${ctl[0]}, woken ${ctl[2]}, interrupted ${ctl[3]})`);
  assert.equal(ctl[0], ROUNDS);
  const seen = checkRounds(arg.plan, arg.out, ROUNDS, s);
  t.diagnostic(`seed ${s}: race rounds woken ${seen[1]}, interrupted ${seen[2]}, timed out ${seen[3]}`);
  assert.ok(listEmpty(bucket), 'the wait list is empty');
  assert.equal(I32[park_bucket_lock(bucket)], 0, 'its lock is free');
  assert.equal(sleepersInUse(), start, 'every sleeper was freed');
});

/** A failed async test: tells its actors to stop without acting (they would act on a stale sleeper). */
function giveUp(ctl: Int32Array): void {
  Atomics.store(ctl, 4, 1);
  Atomics.store(ctl, 0, 0x7fffffff); Atomics.notify(ctl, 0);
}

/** Waits (without blocking this thread) until ctl[i] >= v, or fails at the deadline. */
async function reach(ctl: Int32Array, i: number, v: number, what: string): Promise<void> {
  const end = Date.now() + 20000;
  for (;;) {
    const c = Atomics.load(ctl, i);
    if (c >= v) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    const w = Atomics.waitAsync(ctl, i, c, 50);
    if (w.async) await w.value;
  }
}

test('async sleeps (run_async in this thread): the same races, sq_interrupt reaching an async sleeper, each round decided exactly once', async (t) => {
  sys.lwp_self();
  const s = seed(), r = rng(s);
  const ROUNDS = 150, bucket = 91;
  const start = sleepersInUse();
  const arg: RaceArg = { ctl: new SharedArrayBuffer(4 * 8), plan: makePlan(ROUNDS, r, 300), out: new SharedArrayBuffer(4 * OUT_STRIDE * ROUNDS), rounds: ROUNDS, bucket };
  const ctl = new Int32Array(arg.ctl), plan = new Int32Array(arg.plan), out = new Int32Array(arg.out);
  const lids = startActors(arg);
  try {
    for (let rd = 1; rd <= ROUNDS; rd++) {
      const keep = { sl: 0 };
      const publish = (sl: number): void => { ctl[1] = sl; Atomics.store(ctl, 0, rd); Atomics.notify(ctl, 0); };
      const t0 = Date.now();
      const v = await run_async(sleepOnce(bucket, SQF_INTERRUPTIBLE | SQF_ASYNC, planDeadline(plan[(rd - 1) * PLAN_STRIDE + 3]!), publish, keep));
      out[(rd - 1) * OUT_STRIDE] = v;
      assert.ok(Date.now() - t0 < ROUND_MAX_MS, `round ${rd} (seed ${s}) took ${Date.now() - t0} ms: its wake-up was never delivered?`);
      await reach(ctl, 2, rd, `the waker, round ${rd} (seed ${s})`);
      await reach(ctl, 3, rd, `the interrupter, round ${rd} (seed ${s})`);
      sq_free(keep.sl);
    }
  } finally {
    if (Atomics.load(ctl, 0) < ROUNDS) giveUp(ctl); // release the actors
  }
  await reap(lids);
  const seen = checkRounds(arg.plan, arg.out, ROUNDS, s);
  t.diagnostic(`seed ${s}: race rounds woken ${seen[1]}, interrupted ${seen[2]}, timed out ${seen[3]}`);
  assert.ok(listEmpty(bucket), 'the wait list is empty');
  assert.equal(sleepersInUse(), start, 'every sleeper was freed');
});

const W = SLEEPER.F.wait;
function isAbort(reason: unknown): (e: unknown) => boolean {
  return (e) => e instanceof Error && e.name === 'AbortError' && e.cause === reason;
}
/** Wakes sl from this thread, as a waker does: under the list's lock. */
function wakeHere(bucket: number, sl: number): boolean {
  const lock = park_bucket_lock(bucket);
  mutex_enter(lock);
  const ok = sq_wake(sl);
  mutex_exit(lock);
  return ok;
}

test('run_async(gen, signal): aborted at entry starts nothing; an abort ends that sleep only, and only an interruptible one', async () => {
  sys.lwp_self();
  const bucket = 92, start = sleepersInUse();
  const nop = (): void => {};
  // Aborted at entry: the body never runs, nothing is allocated.
  let ran = false;
  const pre = new AbortController(); pre.abort('early');
  function* body(): Generator<never, number, number> { ran = true; return 0; }
  await assert.rejects(run_async(body(), pre.signal), isAbort('early'));
  assert.equal(ran, false, 'the body did not start');

  // Two async sleeps of this thread on one list; abort the first.
  const ka = { sl: 0 }, kb = { sl: 0 };
  const ac = new AbortController();
  const a = run_async(sleepOnce(bucket, SQF_INTERRUPTIBLE | SQF_ASYNC, planDeadline(-1), nop, ka, true), ac.signal);
  const b = run_async(sleepOnce(bucket, SQF_INTERRUPTIBLE | SQF_ASYNC, planDeadline(-1), nop, kb, true));
  const reason = new Error('stop');
  ac.abort(reason);
  await assert.rejects(within(a, 5000, 'the aborted sleep'), isAbort(reason));
  assert.equal(Atomics.load(I32, kb.sl + W), SQ_SLEEPING, 'the other sleep of this thread goes on');
  assert.equal(Atomics.load(I32, ka.sl + W), SQ_INTR);
  assert.equal(wakeHere(bucket, kb.sl), true);
  assert.equal(await within(b, 5000, 'the woken sleep'), SQ_WOKEN);
  sq_free(ka.sl); sq_free(kb.sl);

  // An uninterruptible sleep ignores the abort; a wake still ends it, normally.
  const kc = { sl: 0 };
  const ac2 = new AbortController();
  const c = run_async(sleepOnce(bucket, SQF_ASYNC, planDeadline(-1), nop, kc, true), ac2.signal);
  ac2.abort('ignored');
  await new Promise((res) => setImmediate(res));
  assert.equal(Atomics.load(I32, kc.sl + W), SQ_SLEEPING, 'an uninterruptible sleep is not ended by an abort');
  assert.equal(wakeHere(bucket, kc.sl), true);
  assert.equal(await within(c, 5000, 'the uninterruptible sleep'), SQ_WOKEN, 'woken: it returns its outcome, no AbortError');
  sq_free(kc.sl);

  // A timeout still ends an aborted uninterruptible sleep as a timeout.
  const kd = { sl: 0 };
  const ac3 = new AbortController();
  const d = run_async(sleepOnce(bucket, SQF_ASYNC, planDeadline(2000), nop, kd, true), ac3.signal);
  ac3.abort('ignored too');
  assert.equal(await within(d, 5000, 'the timed sleep'), SQ_TIMEDOUT);
  sq_free(kd.sl);

  assert.ok(listEmpty(bucket), 'the wait list is empty');
  assert.equal(sleepersInUse(), start, 'every sleeper was freed');
  assert.equal(I32[cur.nlocksw], 0);
});

test('run_async(gen, signal): an abort racing a wake from another LWP is decided once (woken: the outcome; else an AbortError)', async (t) => {
  sys.lwp_self();
  const s = seed(), r = rng(s);
  const ROUNDS = 120, bucket = 93, start = sleepersInUse();
  // Only the waker acts (every round), after its planned delay; this thread aborts after its own.
  const planSab = new SharedArrayBuffer(4 * PLAN_STRIDE * ROUNDS), plan = new Int32Array(planSab);
  const abortUs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) { plan.set([M_RACE, Math.floor(r() * 300), -1, -1], i * PLAN_STRIDE); abortUs.push(Math.floor(r() * 300)); }
  const arg: RaceArg = { ctl: new SharedArrayBuffer(4 * 8), plan: planSab, out: new SharedArrayBuffer(4 * OUT_STRIDE * ROUNDS), rounds: ROUNDS, bucket };
  const ctl = new Int32Array(arg.ctl), out = new Int32Array(arg.out);
  const lid = sys.lwp_create({ module: prims, export: 'raceWaker', arg });
  let woken = 0, aborted = 0;
  try {
    for (let rd = 1; rd <= ROUNDS; rd++) {
      const keep = { sl: 0 };
      const ac = new AbortController();
      const reason = { round: rd };
      const publish = (sl: number): void => { ctl[1] = sl; Atomics.store(ctl, 0, rd); Atomics.notify(ctl, 0); };
      const p = run_async(sleepOnce(bucket, SQF_INTERRUPTIBLE | SQF_ASYNC, planDeadline(-1), publish, keep, true), ac.signal);
      setImmediate(() => { spinUs(abortUs[rd - 1]!); ac.abort(reason); });
      let v = -1;
      const t0 = Date.now();
      try { v = await within(p, 20000, `round ${rd} (seed ${s})`); } catch (e) { if (!isAbort(reason)(e)) throw e; }
      assert.ok(Date.now() - t0 < ROUND_MAX_MS, `round ${rd} (seed ${s}) took ${Date.now() - t0} ms: its wake-up was never delivered?`);
      await reach(ctl, 2, rd, `the waker, round ${rd} (seed ${s})`);
      const won = out[(rd - 1) * OUT_STRIDE + 1]!;
      const at = `round ${rd} (seed ${s}): ${v === -1 ? 'AbortError' : NAMES[v]}, sq_wake ${won}`;
      if (v === -1) { aborted++; assert.equal(won, 0, `an aborted sleep was not woken: ${at}`); }
      else { woken++; assert.equal(v, SQ_WOKEN, at); assert.equal(won, 1, `a woken sleep is the waker's win: ${at}`); }
      sq_free(keep.sl);
    }
  } finally {
    if (Atomics.load(ctl, 0) < ROUNDS) giveUp(ctl);
  }
  await reap([lid]);
  t.diagnostic(`seed ${s}: woken ${woken}, aborted ${aborted}`);
  assert.ok(listEmpty(bucket), 'the wait list is empty');
  assert.equal(sleepersInUse(), start, 'every sleeper was freed');
});

test('a wake or an interrupt landing after the deadline passed, before the sleeper settled it, wins; the sleep is not a timeout', async () => {
  sys.lwp_self();
  const start = sleepersInUse();
  for (const how of ['wake', 'intr'] as const) {
    const bucket = 94, ctl = new SharedArrayBuffer(4 * 8), c = new Int32Array(ctl);
    const lids = [
      sys.lwp_create({ module: prims, export: 'deadlineSleeper', arg: { ctl, bucket } }),
      sys.lwp_create({ module: prims, export: 'deadlineActor', arg: { ctl, bucket, how } }),
    ];
    await reap(lids);
    assert.equal(c[6], 1, `${how}: the sleeper finished`);
    assert.equal(c[3], 1, `${how}: the actor acted while the sleeper was deciding`);
    assert.equal(c[4], 1, `${how}: the ${how} found the sleeper still asleep and counted`);
    assert.equal(NAMES[c[5]!], how === 'wake' ? 'WOKEN' : 'INTR', `${how}: the outcome is the ${how}'s, not a timeout`);
    assert.ok(listEmpty(bucket));
  }
  assert.equal(sleepersInUse(), start);
});
