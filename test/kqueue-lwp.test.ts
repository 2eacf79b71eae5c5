/**
 * Several LWPs on one kqueue: wake-one per queued event, close waking every
 * sleeper, a trigger racing the scan of the same knote, and a seeded stress
 * of triggers, deletes and a close racing (every event delivered exactly
 * once, nobody left asleep). The LWP start functions are the named exports
 * below; this module is loaded by each LWP too, so the tests register only
 * in the main thread.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread } from 'node:worker_threads';
import * as sys from '../src/sys/index.js';
import { within, until, seed, rng, letLwpsGo } from './helpers.js';
import { kstat } from '../src/sys/index.js';
import { callout_count, callout_snapshot } from '../src/timers/callout.js';
import { kq_spin_tune } from '../src/kqueue/spin.js';

const { EV_SET, kevent, EVFILT_USER, EV_ADD, EV_ENABLE, EV_CLEAR, EV_DISPATCH, EV_DELETE, EV_RECEIPT, NOTE_TRIGGER } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const self = new URL(import.meta.url);

// ---------------------------------------------------------------- LWP start functions

/** Blocks in kevent(nevents 1) until it gets an event or the kqueue closes; records ident (or -errno). */
export function waitOne(arg: { kq: number; sab: SharedArrayBuffer; slot: number }): void {
  const a = new Float64Array(arg.sab);
  try {
    const r = kevent(arg.kq, null, 1, null);
    a[arg.slot] = r.length === 1 ? r[0]!.ident : -1000;
  } catch (e) {
    const c = (e as sys.SysError).code;
    a[arg.slot] = c === 'EBADF' ? -9 : c === 'EINTR' ? -4 : -1;
  }
}

/** Triggers knote 1 `n` times with data = 1..n as fast as it can. */
export function triggerMany(arg: { kq: number; n: number }): void {
  for (let i = 1; i <= arg.n; i++) kevent(arg.kq, [EV_SET(1, EVFILT_USER, 0, NOTE_TRIGGER, i, 0)], 0, ZERO);
}

/**
 * One side of a ping-pong over two kqueues (knote 1 on each): `first` starts
 * by triggering `out`; every round waits in kevent (blocking) for `inp`,
 * checks the data, answers on `out`. Random short pauses vary who waits.
 */
export function kqPingPong(arg: { inp: number; out: number; n: number; first: boolean; seedv: number }): void {
  const r = rng(arg.seedv);
  const trig = (i: number) => kevent(arg.out, [EV_SET(1, EVFILT_USER, 0, NOTE_TRIGGER, i, 0)], 0, ZERO);
  if (arg.first) trig(1);
  for (let i = 1; i <= arg.n; i++) {
    const ev = kevent(arg.inp, null, 1, null);
    if (ev.length !== 1 || ev[0]!.data !== i) throw new Error(`round ${i}: got ${JSON.stringify(ev)}`);
    if (r() < 0.05) { const t = performance.now() + r() * 0.05; while (performance.now() < t); }
    if (!arg.first || i < arg.n) trig(arg.first ? i + 1 : i);
  }
}

/** Counts each ident it receives in sab (Int32 per ident) until the kqueue closes. */
export function countIdents(arg: { kq: number; sab: SharedArrayBuffer }): void {
  const c = new Int32Array(arg.sab);
  for (;;) {
    let r: sys.kevent_t[];
    try { r = kevent(arg.kq, null, 3, null); } catch { return; }
    for (const e of r) Atomics.add(c, e.ident, 1);
  }
}

/** Adds, polls and deletes short timers in a loop, racing the clock thread's expiries. */
export function timerChurn(arg: { kq: number; n: number; base: number; sab: SharedArrayBuffer }): void {
  const c = new Int32Array(arg.sab);
  for (let i = 0; i < arg.n; i++) {
    const id = arg.base + (i % 16);
    kevent(arg.kq, [EV_SET(id, sys.EVFILT_TIMER, EV_ADD, sys.NOTE_USECONDS, 50 + (i % 7) * 100, 0)], 0, ZERO);
    Atomics.add(c, 0, kevent(arg.kq, null, 4, ZERO).length);
    if (i % 3 !== 0) kevent(arg.kq, [EV_SET(id, sys.EVFILT_TIMER, EV_DELETE, 0, 0, 0)], 1, ZERO);
  }
}

interface StressArg {
  kq: number; seed: number; ntok: number; rounds: number;
  /** Int32: [0] tokens finished, [1] errors, [2] noise events seen, [3] stop flag, [4] chaos changes, [5] token events, then ntok last-seen sequence numbers. */
  sab: SharedArrayBuffer;
}
const NOISE = 1_000_000;
const H = 8;

/**
 * Handles events a consumer took: checks each token's sequence (exactly
 * once, in order), passes the token on. False when the kqueue is gone.
 */
function consume(arg: StressArg, s: Int32Array, r: readonly sys.kevent_t[]): boolean {
  for (const e of r) {
    if (e.ident >= NOISE) { Atomics.add(s, 2, 1); continue; }
    const tok = e.ident, seq = e.data;
    if (Atomics.compareExchange(s, H + tok, seq - 1, seq) !== seq - 1) { Atomics.add(s, 1, 1); continue; }
    Atomics.add(s, 5, 1);
    if (seq + 1 < arg.rounds) {
      try { kevent(arg.kq, [EV_SET(tok, EVFILT_USER, EV_ENABLE, NOTE_TRIGGER, seq + 1, 0)], 0, ZERO); } catch (err) {
        if ((err as sys.SysError).code !== 'EBADF') Atomics.add(s, 1, 1);
        return false;
      }
    } else {
      Atomics.add(s, 0, 1);
    }
  }
  return true;
}

/** A consumer LWP: takes events (random batch sizes) and passes tokens on, until the kqueue closes. */
export function consumer(arg: StressArg): void {
  const s = new Int32Array(arg.sab);
  const rand = rng(arg.seed);
  for (;;) {
    let r: sys.kevent_t[];
    try { r = kevent(arg.kq, null, 1 + Math.floor(rand() * 4), null); } catch (e) {
      if ((e as sys.SysError).code !== 'EBADF') Atomics.add(s, 1, 1);
      return;
    }
    if (!consume(arg, s, r)) return;
  }
}

/** Noise: adds, triggers and deletes knotes of its own at random until told to stop. */
export function chaos(arg: StressArg): void {
  const s = new Int32Array(arg.sab);
  const rand = rng(arg.seed);
  try {
    while (Atomics.load(s, 3) === 0) {
      const id = NOISE + Math.floor(rand() * 64);
      const x = rand();
      // EV_RECEIPT: the call reports the change (ENOENT is expected) and never takes events.
      const ev = x < 0.4 ? EV_SET(id, EVFILT_USER, EV_ADD | EV_CLEAR | EV_RECEIPT, NOTE_TRIGGER, 0, 0)
        : x < 0.7 ? EV_SET(id, EVFILT_USER, EV_DELETE | EV_RECEIPT, 0, 0, 0)
        : EV_SET(id, EVFILT_USER, EV_RECEIPT, NOTE_TRIGGER, 0, 0);
      kevent(arg.kq, [ev], 1, ZERO);
      Atomics.add(s, 4, 1);
    }
  } catch (e) {
    if ((e as sys.SysError).code !== 'EBADF') Atomics.add(s, 1, 1);
  }
}

// ---------------------------------------------------------------- tests (main thread only)

async function waitAll(lids: number[], ms: number, what: string): Promise<void> {
  for (const lid of lids) await within(sys.lwp_wait_async(lid), ms, `${what}: LWP ${lid}`);
}
/** Waits (async) until every sleeper slot is filled or the deadline passes. */
async function settled(a: Float64Array, n: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Array.from(a.subarray(0, n)).some((v) => v === 0) && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
}
/** LWPs asleep in kevent now. */
function sleepers(): number {
  return sys.lwp_snapshot().lwps.filter((l) => l.state === 'SLEEP' && l.wmesg === 'kqread').length;
}

if (isMainThread) {
  // The LWPs of these tests block in kevent with no timeout until their
  // event comes or the kqueue closes; a test that failed first left them
  // there, and the file ended at the runner's deadline, not at the
  // failure: what a test left is woken (EINTR) and collected after it
  // (nothing, after a test that passed).
  afterEach(() => letLwpsGo(sys));

  test('no wake-up lost: 2 x 10 000 EVFILT_USER round trips between two LWPs blocking in kevent, spin on and off', async (t) => {
    const s = seed();
    t.diagnostic(`seed ${s} (replay: UKERN_SEED=${s})`);
    try {
      for (const budgetNs of [20_000, 0]) {
        kq_spin_tune({ budgetNs });
        const mk = () => { const k = sys.kqueue(); kevent(k, [EV_SET(1, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, 0)], 0, ZERO); return k; };
        const a = mk(), b = mk();
        const n = 10_000;
        const x = sys.lwp_create({ module: self, export: 'kqPingPong', arg: { inp: b, out: a, n, first: true, seedv: s } });
        const y = sys.lwp_create({ module: self, export: 'kqPingPong', arg: { inp: a, out: b, n, first: false, seedv: s ^ 0x2545f491 } });
        await within(Promise.all([sys.lwp_wait_async(x), sys.lwp_wait_async(y)]), 60_000, `kqueue ping-pong, spin budget ${budgetNs}, seed ${s}`);
        sys.close(a); sys.close(b);
      }
    } finally {
      kq_spin_tune({ budgetNs: 20_000 });
    }
  });

  test('wake-one: K events wake K blocked LWPs, each gets exactly one', async () => {
    const K = 4;
    const kq = sys.kqueue();
    kevent(kq, Array.from({ length: K }, (_, i) => EV_SET(i + 1, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, 0)), 0, ZERO);
    const sab = new SharedArrayBuffer(8 * K);
    const a = new Float64Array(sab);
    const lids = Array.from({ length: K }, (_, slot) => sys.lwp_create({ module: self, export: 'waitOne', arg: { kq, sab, slot } }));
    // All blocked first: an LWP that came late would take its event without sleeping, and the case would not be the wake-up it says.
    await until(() => sleepers() === K, 10_000, () => `the ${K} LWPs asleep in kevent (${sleepers()})`);
    kevent(kq, Array.from({ length: K }, (_, i) => EV_SET(i + 1, EVFILT_USER, 0, NOTE_TRIGGER, 0, 0)), 0, ZERO);
    await waitAll(lids, 10000, 'woken');
    assert.deepEqual(Array.from(a).sort(), Array.from({ length: K }, (_, i) => i + 1), 'each LWP got a distinct event');
    assert.deepEqual(kevent(kq, null, 8, ZERO), []);
    sys.close(kq);
  });

  test('close wakes every LWP blocked in kevent on the kqueue, with EBADF', async () => {
    const K = 3;
    const kq = sys.kqueue();
    const sab = new SharedArrayBuffer(8 * K);
    const a = new Float64Array(sab);
    const lids = Array.from({ length: K }, (_, slot) => sys.lwp_create({ module: self, export: 'waitOne', arg: { kq, sab, slot } }));
    // All blocked first: one that came late would find the descriptor closed (EBADF too) without having slept.
    await until(() => sleepers() === K, 10_000, () => `the ${K} LWPs asleep in kevent (${sleepers()})`);
    sys.close(kq);
    await waitAll(lids, 10000, 'close');
    await settled(a, K, 1000);
    assert.deepEqual(Array.from(a), [-9, -9, -9]);
  });

  test('lwp_wakeup interrupts an LWP blocked in kevent: EINTR; the kqueue is unharmed', async () => {
    const kq = sys.kqueue();
    const sab = new SharedArrayBuffer(8);
    const a = new Float64Array(sab);
    const lid = sys.lwp_create({ module: self, export: 'waitOne', arg: { kq, sab, slot: 0 } });
    await until(() => sleepers() === 1, 10_000, 'the LWP asleep in kevent');
    sys.lwp_wakeup(lid);
    await waitAll([lid], 10000, 'interrupted');
    assert.equal(a[0], -4);
    kevent(kq, [EV_SET(1, EVFILT_USER, EV_ADD, NOTE_TRIGGER, 0, 0)], 0, ZERO);
    assert.equal(kevent(kq, null, 1, ZERO).length, 1);
    sys.close(kq);
  });

  test('a trigger racing the scan of the same knote is never lost: the last trigger is always delivered', async () => {
    for (let round = 0; round < 3; round++) {
      const kq = sys.kqueue();
      kevent(kq, [EV_SET(1, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, 0)], 0, ZERO);
      const n = 20000;
      const lid = sys.lwp_create({ module: self, export: 'triggerMany', arg: { kq, n } });
      let last = 0, events = 0;
      const end = Date.now() + 20000;
      while (last < n && Date.now() < end) {
        const r = kevent(kq, null, 4, { tv_sec: 0, tv_nsec: 50e6 });
        for (const e of r) { assert.ok(e.data > last, 'data only grows'); last = e.data; events++; }
      }
      await within(sys.lwp_wait_async(lid), 10000, 'trigger LWP');
      assert.equal(last, n, `the last trigger (data ${n}) was delivered after ${events} events`);
      assert.deepEqual(kevent(kq, null, 4, ZERO), [], 'and nothing after it');
      sys.close(kq);
    }
  });

  test('oneshot timers firing in the clock thread are each delivered once among several LWPs', async () => {
    const n = 300, K = 3;
    const kq = sys.kqueue();
    const sab = new SharedArrayBuffer(4 * n);
    const c = new Int32Array(sab);
    const lids = Array.from({ length: K }, () => sys.lwp_create({ module: self, export: 'countIdents', arg: { kq, sab } }));
    kevent(kq, Array.from({ length: n }, (_, i) => EV_SET(i, sys.EVFILT_TIMER, EV_ADD | sys.EV_ONESHOT, 0, 1 + (i % 50), 0)), 0, ZERO);
    const end = Date.now() + 20000;
    while (c.reduce((a, b) => a + b, 0) < n && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    sys.close(kq);
    await waitAll(lids, 10000, 'timer consumers');
    assert.deepEqual(Array.from(c).map((v, i) => [i, v]).filter(([, v]) => v !== 1), [], 'idents not delivered exactly once');
  });

  test('timers added and deleted by LWPs while the clock thread fires them: no leak, no hang', async () => {
    const base = kstat('kqueue')['kqueue.timer_knotes']!;
    const callouts0 = callout_count();
    const kq = sys.kqueue();
    const sab = new SharedArrayBuffer(4);
    const lids = [0, 1].map((k) => sys.lwp_create({ module: self, export: 'timerChurn', arg: { kq, n: 3000, base: k * 100, sab } }));
    await waitAll(lids, 30000, 'timer churn');
    assert.ok(new Int32Array(sab)[0]! > 0, 'some timers fired');
    sys.close(kq);
    assert.equal(kstat('kqueue')['kqueue.timer_knotes'], base);
    assert.equal(callout_count(), callouts0, 'every callout disarmed');
    assert.deepEqual(callout_snapshot().busy.filter((c) => c.state === 'firing' || c.waiters !== 0), [], 'no callout left firing or waited for');
  });

  async function stress(closeMidway: boolean): Promise<void> {
    const sd = seed();
    console.log(`kqueue stress seed ${sd} (replay with UKERN_SEED=${sd})`);
    const rand = rng(sd);
    const ntok = 48, rounds = 400, nconsumers = 3;
    const kq = sys.kqueue();
    const sab = new SharedArrayBuffer(4 * (H + ntok));
    const s = new Int32Array(sab);
    s.fill(-1, H);
    kevent(kq, Array.from({ length: ntok }, (_, i) => EV_SET(i, EVFILT_USER, EV_ADD | EV_CLEAR | EV_DISPATCH, 0, 0, 0)), 0, ZERO);
    const arg = (): StressArg => ({ kq, seed: Math.floor(rand() * 0x7fffffff) + 1, ntok, rounds, sab });
    const mk = (exp: string) => sys.lwp_create({ module: self, export: exp, arg: arg() });
    const lids = [...Array.from({ length: nconsumers }, () => mk('consumer')), mk('chaos')];
    // Start the tokens once the noise is running, so that they race it.
    const t0 = Date.now();
    while (Atomics.load(s, 4) < 100 && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 2));
    // The main thread starts every token (seq 0), in a random order, in random batches...
    const order = Array.from({ length: ntok }, (_, i) => i).sort(() => rand() - 0.5);
    while (order.length) {
      const batch = order.splice(0, 1 + Math.floor(rand() * 8));
      kevent(kq, batch.map((t) => EV_SET(t, EVFILT_USER, 0, NOTE_TRIGGER, 0, 0)), 0, ZERO);
    }
    // ...and consumes too, with the async form, beside the blocking LWPs.
    const mine = arg();
    const end = Date.now() + 60000;
    const stopAt = closeMidway ? ntok * rounds / 4 : Infinity;
    while (Atomics.load(s, 0) < ntok && Atomics.load(s, 1) === 0 && Atomics.load(s, 5) < stopAt && Date.now() < end) {
      consume(mine, s, await sys.kevent_async(kq, null, 2, { tv_sec: 0, tv_nsec: 5e6 }));
    }
    assert.equal(Atomics.load(s, 1), 0, `errors (duplicates, out of order or failures); seed ${sd}`);
    if (!closeMidway) {
      const stuck = Array.from(s.subarray(H)).map((v, i) => [i, v]).filter(([, v]) => v !== rounds - 1);
      assert.deepEqual(stuck, [], `tokens that stopped (lost events); seed ${sd}`);
    }
    Atomics.store(s, 3, 1);
    sys.close(kq); // wakes the consumers blocked in kevent, or fails their next call
    await waitAll(lids, 20000, `exit after close (nobody left asleep); seed ${sd}`);
    assert.equal(Atomics.load(s, 1), 0, `errors; seed ${sd}`);
    console.log(`  ${Atomics.load(s, 5)} token events delivered exactly once; ${Atomics.load(s, 4)} noise changes, ${Atomics.load(s, 2)} noise events`);
    assert.ok(Atomics.load(s, 2) > 0, 'the noise did race the tokens');
  }

  test('stress: tokens passed between LWPs (blocking) and the main thread (async) with triggers and deletes racing (seeded)', () => stress(false));
  test('stress: the kqueue closed while LWPs are passing tokens: everybody returns, nothing duplicated (seeded)', () => stress(true));
}
