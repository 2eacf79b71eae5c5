/**
 * The class layer's iterators end at return() as Node's `events.on` does,
 * not as an async generator: a `return()` called while a `next()` is
 * pending (a `Promise.race` of `next()` and a timeout, then `return()`)
 * cancels the pending wait instead of waiting for the next event, which
 * may never come (an idle port, a far-off or CLOCK_MANUAL timer), keeping
 * the process alive and the iterator's cleanup (the timer's disarm, the
 * signal mask) undone. Nothing is lost: an event the pending step had taken
 * before the cancel is what that step resolves with; otherwise it resolves
 * done and the event stays queued.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Port, KQueue, Timer, signals, kill, EVFILT_USER, EV_CLEAR, CLOCK_MANUAL, PORT_SOURCE_USER } from 'ukern';
import { sigprocmask, sigemptyset, sigismember, clock_advance, SIG_BLOCK, SIGUSR2 } from 'ukern/sys';
import { within, seed, rng } from './helpers.js';

const turns = async (n: number): Promise<void> => { for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r)); };

test('Port.events / messages: return() with a next() pending ends at once; the pending step resolves done', async () => {
  for (const kind of ['events', 'messages'] as const) {
    const port = new Port();
    try {
      const it = kind === 'events' ? port.events() : port.messages();
      const p = it.next();
      await turns(2); // the step is asleep in the kernel
      assert.deepEqual(await within(it.return(undefined), 2000, `${kind}: return() with a next() pending`), { done: true, value: undefined });
      assert.deepEqual(await within(p, 2000, `${kind}: the pending next()`), { done: true, value: undefined });
      assert.deepEqual(await it.next(), { done: true, value: undefined }, 'ended');
      port.sendSync(7, 1);
      await turns(2);
      assert.equal(port.pending, 1, `${kind}: an event sent after return() stays queued`);
    } finally {
      port.close();
    }
  }
});

test('KQueue.events: return() with a next() pending ends at once', async () => {
  const kq = new KQueue();
  try {
    kq.register(1, EVFILT_USER, { flags: EV_CLEAR });
    const it = kq.events();
    const p = it.next();
    await turns(2);
    assert.deepEqual(await within(it.return(undefined), 2000, 'return() with a next() pending'), { done: true, value: undefined });
    assert.deepEqual(await within(p, 2000, 'the pending next()'), { done: true, value: undefined });
    kq.trigger(1);
    assert.equal(kq.waitSync({ timeout: 0 }).length, 1, 'a trigger after return() stays for the next taker');
  } finally {
    kq.close();
  }
});

test('Timer iterator: return() with a next() pending disarms at once (far-off and CLOCK_MANUAL timers)', async () => {
  for (const o of [{ delay: 60_000 }, { delay: 1, clock: CLOCK_MANUAL }, { delay: 60_000, interval: 60_000 }]) {
    const t = new Timer(o);
    try {
      const it = t[Symbol.asyncIterator]();
      const p = it.next();
      await turns(1);
      assert.deepEqual(await within(it.return!(undefined), 2000, `${JSON.stringify(o)}: return() with a next() pending`), { done: true, value: undefined });
      assert.deepEqual(await within(p, 2000, 'the pending next()'), { done: true, value: undefined });
      const v = t.get().it_value;
      assert.equal(v.tv_sec + v.tv_nsec, 0, 'disarmed, as timers/promises ends its interval');
      assert.equal(t.closed, false, 'disarmed, not closed');
    } finally {
      t.close();
    }
  }
});

test('signals(): return() with a next() pending ends at once and unblocks the signal', async () => {
  const it = signals(['SIGUSR2']);
  const p = it.next();
  await turns(2);
  let ended = false;
  try {
    await within(it.return(undefined), 2000, 'return() with a next() pending');
    ended = true;
    assert.deepEqual(await within(p, 2000, 'the pending next()'), { done: true, value: undefined });
    assert.equal(sigismember(sigprocmask(SIG_BLOCK, sigemptyset()), SIGUSR2), false, 'unblocked again');
  } finally {
    if (!ended) kill(0, 'SIGUSR2'); // the old code's pending step waits for one: let it end
  }
});

/**
 * The race the cancel must settle without loss: an event sent just before
 * or just after return(), at seeded distances. Either the pending step
 * resolved with it, or it is still queued; never both, never neither.
 */
test('Port / KQueue iterators: an event racing return() is yielded or still queued, exactly once', async () => {
  const s = seed();
  const r = rng(s);
  let yielded = 0, left = 0;
  for (let round = 0; round < 200; round++) {
    const a = Math.floor(r() * 3), b = Math.floor(r() * 3), sendFirst = r() < 0.5, kind = Math.floor(r() * 3);
    const why = `seed ${s} round ${round} kind ${kind}`;
    if (kind < 2) {
      const port = new Port();
      try {
        const it = kind === 0 ? port.events() : port.messages();
        const p = it.next();
        await turns(a);
        if (sendFirst) port.sendSync(round, round);
        await turns(b);
        const ret = it.return(undefined);
        if (!sendFirst) port.sendSync(round, round);
        await within(ret, 2000, `${why}: return()`);
        const step = await within(p, 2000, `${why}: the pending next()`);
        const queued = port.pending;
        if (step.done === true) { left++; assert.equal(queued, 1, `${why}: not yielded, so still queued`); } else {
          yielded++;
          assert.equal(queued, 0, `${why}: yielded, so not queued too`);
          const ev = step.value as { portev_source: number; portev_user: number };
          assert.equal(ev.portev_source, PORT_SOURCE_USER, why);
          assert.equal(ev.portev_user, round, why);
        }
      } finally {
        port.close();
      }
    } else {
      const kq = new KQueue();
      try {
        kq.register(5, EVFILT_USER, { flags: EV_CLEAR });
        const it = kq.events();
        const p = it.next();
        await turns(a);
        if (sendFirst) kq.trigger(5);
        await turns(b);
        const ret = it.return(undefined);
        if (!sendFirst) kq.trigger(5);
        await within(ret, 2000, `${why}: return()`);
        const step = await within(p, 2000, `${why}: the pending next()`);
        const queued = kq.waitSync({ timeout: 0 }).length;
        if (step.done === true) { left++; assert.equal(queued, 1, `${why}: not yielded, so still pending`); } else {
          yielded++;
          assert.equal(queued, 0, `${why}: yielded, so not pending too`);
        }
      } finally {
        kq.close();
      }
    }
  }
  assert.ok(yielded > 0 && left > 0, `seed ${s}: both outcomes met (yielded ${yielded}, left queued ${left})`);
});

test('Timer.next takes the wait options: timeout (0 polls), signal; a later delivery is kept', async () => {
  using t = new Timer({ delay: 1, clock: CLOCK_MANUAL });
  const etimedout = (e: unknown): boolean => (e as { code?: string }).code === 'ETIMEDOUT';
  await assert.rejects(within(t.next({ timeout: 0 }), 2000, 'a poll'), etimedout, 'poll with nothing delivered');
  await assert.rejects(within(t.next({ timeout: 20 }), 2000, 'a 20 ms timeout'), etimedout);
  const ac = new AbortController();
  const p = t.next({ signal: ac.signal });
  ac.abort('stop');
  await assert.rejects(within(p, 2000, 'an abort'), (e: unknown) => (e as { code?: string; cause?: unknown }).code === 'ABORT_ERR' && (e as { cause?: unknown }).cause === 'stop');
  await assert.rejects(within(t.next({ timeout: -1 }), 2000, 'timeout -1'), (e: unknown) => (e as { code?: string }).code === 'ERR_OUT_OF_RANGE');
  await assert.rejects(within(t.next({ signal: 'x' as unknown as AbortSignal }), 2000, 'signal x'), (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE');
  clock_advance(CLOCK_MANUAL, { tv_sec: 0, tv_nsec: 2_000_000 });
  const x = await within(t.next({ timeout: 5000 }), 6000, 'the delivery');
  assert.equal(x?.expirations, 1, 'the delivery after the aborted and timed-out waits reaches the next call');
});
