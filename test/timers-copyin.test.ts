/**
 * Copy-in discipline of the clock and timer calls: every user argument is
 * read once, before any lock, and later reads (or re-entrant kernel calls
 * from a getter) cannot change or wedge what the kernel does. Cases that
 * hung on the old code run in a child process (this file, re-run with
 * UKERN_TIMERS_CHILD set) under a deadline, so a hang fails by timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as sys from '../src/sys/index.js';
import { timer_grab, timer_release } from '../src/timers/timertab.js';
import { sq_alloc, sq_free } from '../src/kern/sleepq.js';
import { until } from './helpers.js';

const code = (c: string) => (e: unknown) => e instanceof sys.SysError && e.code === c;
const ts = (tv_sec: number, tv_nsec: number): sys.Timespec => ({ tv_sec, tv_nsec });
const Z = ts(0, 0);
const spec = (value: sys.Timespec, interval: sys.Timespec = Z): sys.Itimerspec => ({ it_value: value, it_interval: interval });
const M = sys.CLOCK_MANUAL;
const adv = (nsec: number) => sys.clock_advance(M, ts(Math.floor(nsec / 1e9), nsec % 1e9));

// ------------------------------------------------------------ child scenarios

/** Getters and Proxy traps that call the kernel again, on the same timer. */
function childReenter(): unknown {
  sys.boot({ timer_max: 8 });
  const t = sys.timer_create(M, { sigev_notify: sys.SIGEV_NONE });
  let seen = 0;
  const v1 = { get tv_sec() { seen++; sys.timer_gettime(t); return 5; }, tv_nsec: 0 };
  sys.timer_settime(t, 0, { it_value: v1, it_interval: Z });
  const afterGetter = sys.timer_gettime(t);
  // A nested timer_settime from a trap: the outer call's copy wins, being applied last.
  const v2 = new Proxy(ts(0, 7), {
    get(o, k) {
      if (k === 'tv_nsec') sys.timer_settime(t, 0, spec(ts(1, 0)));
      return (o as unknown as Record<string | symbol, unknown>)[k];
    },
  });
  sys.timer_settime(t, 0, { it_value: v2, it_interval: Z });
  const afterTrap = sys.timer_gettime(t);
  // timer_create / timer_delete from a sigevent getter, clock calls from a timespec getter.
  const ev = { sigev_notify: sys.SIGEV_NONE, get sigev_value() { sys.timer_delete(sys.timer_create(M, null)); return 3; } };
  const t2 = sys.timer_create(M, ev);
  const m0 = sys.clock_gettime(M);
  sys.clock_advance(M, { tv_sec: 0, get tv_nsec() { sys.clock_advance(M, ts(0, 1)); return 2; } });
  const m1 = sys.clock_gettime(M);
  sys.timer_delete(t2);
  sys.timer_delete(t);
  return { seen, afterGetter, afterTrap, advanced: (m1.tv_sec - m0.tv_sec) * 1e9 + m1.tv_nsec - m0.tv_nsec };
}

/**
 * Another LWP waits for a timer this thread holds while every sleep-queue
 * entry is taken: it must wait (not throw EAGAIN with the table lock held)
 * and get the timer once it is released.
 */
async function childNoSleepers(): Promise<unknown> {
  sys.boot({ timer_max: 8 });
  const t = sys.timer_create(M, { sigev_notify: sys.SIGEV_NONE });
  const sab = new SharedArrayBuffer(16);
  const a = new Int32Array(sab);
  const lid = sys.lwp_create({ module: new URL('./timers-fixture.js', import.meta.url), export: 'gettimeWhenTold', arg: { sab, tid: t } });
  await until(() => Atomics.load(a, 2) === 1, 20_000, 'the LWP to start');
  const it = timer_grab(t);
  const held: number[] = [];
  for (;;) {
    try { held.push(sq_alloc(0, 0, 'test')); } catch { break; }
  }
  Atomics.store(a, 0, 1);
  Atomics.notify(a, 0);
  // It must be waiting, not failing, while the timer is held.
  const end = Date.now() + 100;
  while (Date.now() < end && Atomics.load(a, 1) === 0) await new Promise((r) => setTimeout(r, 5));
  const whileHeld = Atomics.load(a, 1);
  for (const sl of held) sq_free(sl);
  timer_release(it);
  await until(() => Atomics.load(a, 1) !== 0, 20_000, 'the LWP to get the timer');
  sys.lwp_wait(lid);
  const after = sys.timer_gettime(t); // the table lock is free again
  sys.timer_delete(t);
  return { whileHeld, outcome: Atomics.load(a, 1), exhausted: held.length > 0, after };
}

/** A thread that grabs a timer it already holds fails at once (EDEADLK) instead of sleeping for ever. */
function childSelfGrab(): unknown {
  sys.boot({ timer_max: 8 });
  const t = sys.timer_create(M, { sigev_notify: sys.SIGEV_NONE });
  const it = timer_grab(t);
  let err = '';
  try { timer_grab(t); } catch (e) { err = (e as sys.SysError).code; }
  timer_release(it);
  const after = sys.timer_gettime(t);
  sys.timer_delete(t);
  return { err, after };
}

const CHILD = process.env.UKERN_TIMERS_CHILD;
if (CHILD !== undefined) {
  const r = CHILD === 'reenter' ? childReenter() : CHILD === 'selfgrab' ? childSelfGrab() : await childNoSleepers();
  process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
  process.exit(0);
}

/** Runs a child scenario of this file with a deadline; returns its RESULT. */
function child(name: string, timeoutMs = 30_000): unknown {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
    encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, UKERN_TIMERS_CHILD: name },
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line !== undefined, `child ${name}: status ${r.status} signal ${r.signal} (a hang ends by timeout)\n${r.stderr}`);
  return JSON.parse(line.slice(7));
}

// ------------------------------------------------------------------- tests

if (CHILD === undefined) {
  sys.boot({ timer_max: 64 });

  test('a getter or trap that calls the kernel on the same timer does not deadlock timer_settime', () => {
    assert.deepEqual(child('reenter'), {
      seen: 1,
      afterGetter: spec(ts(5, 0)),
      afterTrap: spec(ts(0, 7)),
      advanced: 3,
    });
  });

  test('a timer-lock wait with no free sleep-queue entry waits instead of throwing under the table lock', () => {
    assert.deepEqual(child('nosleepers'), { whileHeld: 0, outcome: 1, exhausted: true, after: spec(Z, Z) });
  });

  test('grabbing a timer this thread already holds is EDEADLK, not a sleep for ever', () => {
    assert.deepEqual(child('selfgrab'), { err: 'EDEADLK', after: spec(Z, Z) });
  });

  test('every field of every clock/timer argument is read exactly once', () => {
    const counts = new Map<string, number>();
    const counted = <T extends object>(name: string, o: T): T => new Proxy(o, {
      get(target, k) {
        if (typeof k === 'string') counts.set(`${name}.${k}`, (counts.get(`${name}.${k}`) ?? 0) + 1);
        return (target as Record<string | symbol, unknown>)[k];
      },
    });
    const port = sys.port_create();
    const t = sys.timer_create(M, counted('ev', {
      sigev_notify: sys.SIGEV_PORT, sigev_value: 1,
      sigev_notify_port: counted('pn', { portnfy_port: port, portnfy_user: 4 }),
    }));
    const u = sys.timer_create(M, counted('evt', { sigev_notify: sys.SIGEV_THREAD, sigev_notify_function: () => {} }));
    sys.timer_settime(t, 0, counted('its', { it_value: counted('v', ts(0, 10)), it_interval: counted('iv', ts(0, 5)) }));
    sys.clock_settime(M, counted('tp', sys.clock_gettime(M)));
    sys.clock_advance(M, counted('d', ts(0, 1)));
    for (const k of ['ev.sigev_notify', 'ev.sigev_value', 'ev.sigev_notify_port', 'pn.portnfy_port', 'pn.portnfy_user',
      'evt.sigev_notify_function', 'its.it_value', 'its.it_interval', 'v.tv_sec', 'v.tv_nsec', 'iv.tv_sec', 'iv.tv_nsec',
      'tp.tv_sec', 'tp.tv_nsec', 'd.tv_sec', 'd.tv_nsec']) {
      assert.equal(counts.get(k), 1, `${k} read ${counts.get(k) ?? 0} times`);
    }
    for (const [k, n] of counts) assert.ok(n <= 1, `${k} read ${n} times`);
    sys.timer_delete(t);
    sys.timer_delete(u);
    sys.close(port);
  });

  test('a value valid when checked and NaN later: the kernel uses its one copy', () => {
    const port = sys.port_create();
    const mk = (user: number) => sys.timer_create(M, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: user } });
    const a = mk(1), b = mk(2);
    let reads = 0;
    // Valid for as many reads as the old code's checks made, NaN after.
    const shifty = { tv_sec: 0, get tv_nsec() { return ++reads <= 5 ? 50 : NaN; } };
    sys.timer_settime(a, 0, { it_value: shifty, it_interval: Z });
    sys.timer_settime(b, 0, spec(ts(0, 20)));
    assert.deepEqual(sys.timer_gettime(a), spec(ts(0, 50)));
    adv(20);
    assert.deepEqual(sys.port_getn(port, 4, 1, Z).map((e) => e.portev_user), [2], 'b fires at 20 ns, a not yet');
    assert.deepEqual(sys.timer_gettime(a), spec(ts(0, 30)));
    adv(30);
    assert.deepEqual(sys.port_getn(port, 4, 1, Z).map((e) => e.portev_user), [1], 'a fires at 50 ns');
    sys.timer_delete(a);
    sys.timer_delete(b);
    sys.close(port);
  });

  test('ids, flags and clock ids are C ints; signals 1..NSIG-1; bad shapes are ERR_INVALID_ARG_TYPE', () => {
    const t = sys.timer_create(M, { sigev_notify: sys.SIGEV_NONE });
    const typeErr = (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE';
    // flags are docs/sys.md's int-or-uint kind: [-2^31, 2^32) (test/timers-settime-flags).
    assert.throws(() => sys.timer_settime(t, 2 ** 32, spec(ts(1, 0))), code('EINVAL'));
    assert.throws(() => sys.timer_settime(t, -(2 ** 31) - 1, spec(ts(1, 0))), code('EINVAL'));
    for (const f of [sys.timer_gettime, sys.timer_getoverrun, sys.timer_delete]) {
      assert.throws(() => f(2 ** 31), code('EINVAL'));
      assert.throws(() => f(2 ** 32 - 1), code('EINVAL'));
      assert.throws(() => f('1' as unknown as number), typeErr);
    }
    assert.throws(() => sys.clock_gettime(2 ** 31 + sys.CLOCK_MANUAL), code('EINVAL'));
    assert.throws(() => sys.timer_create(2 ** 32 - 1, null), code('EINVAL'));
    assert.throws(() => sys.timer_create(M, { sigev_notify: 2 ** 32 + sys.SIGEV_NONE }), code('EINVAL'));
    assert.throws(() => sys.timer_create(M, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: 2 ** 32 + 14 }), code('EINVAL'));
    assert.throws(() => sys.timer_create(M, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: 2 ** 31, portnfy_user: 0 } }), code('EBADF'));
    assert.throws(() => sys.timer_create(M, 5 as unknown as sys.sigevent), typeErr);
    assert.throws(() => sys.timer_create(M, { sigev_notify: sys.SIGEV_PORT }), typeErr);
    assert.throws(() => sys.timer_settime(t, 0, { it_value: ts(1, 0) } as sys.Itimerspec), typeErr);
    assert.throws(() => sys.clock_settime(M, { tv_sec: 1 } as sys.Timespec), typeErr);
    assert.throws(() => sys.clock_advance(M, null as unknown as sys.Timespec), typeErr);
    assert.deepEqual(sys.timer_gettime(t), spec(Z, Z), 'the failed calls left the timer alone');
    sys.timer_delete(t);
  });
}
