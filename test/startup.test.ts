/**
 * Start-up paths, each in a fresh child process with a deadline (a kernel
 * that booted in this process would be warm): the first timer armed right
 * after boot fires within a few ms, by the arming thread's bridge or by a
 * blocked thread, never early; the hand-over to the clock thread loses and
 * doubles no expiry; the first LWP and a burst of 16 run.
 *
 * Bounds are generous (the machine is shared and loaded; a fresh process's
 * first run of kernel code is cold), but each fails on the old start-up,
 * where the first expiry waited for lwp0 and then the clock thread to start
 * (220-250 ms quiet, 460-970 ms loaded) and no bridge existed.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from './helpers.js';

function run(mode: string, opts?: object): Record<string, number> {
  const r = scenario('startup', opts === undefined ? [mode] : [mode, JSON.stringify(opts)], 90_000);
  assert.equal(r.status, 0, `${mode}: status ${r.status} signal ${r.signal}\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as Record<string, number>;
}

/** Fresh processes are noisy under load: the best of three runs must be within the bound. */
function best(mode: string, key: string): Record<string, number> {
  let b: Record<string, number> | undefined;
  for (let i = 0; i < 3; i++) {
    const o = run(mode);
    if (b === undefined || o[key]! < b[key]!) b = o;
    if (b[key]! < 40) break;
  }
  return b!;
}

test('a 1 ms timer armed right after boot: port_get_async sees it within a few ms, before the clock thread runs', () => {
  const o = best('first-async', 'late');
  assert.ok(o.late! >= 0, `fired early: ${o.late} ms`);
  assert.ok(o.late! < 100, `fired ${o.late} ms late`);
  assert.ok(o.bridge! >= 1, 'the first expiry was not fired by the arming thread');
});

test('a 1 ms timer armed right after boot: a blocking port_get sees it within a few ms', () => {
  const o = best('first-sync', 'late');
  assert.ok(o.late! >= 0, `fired early: ${o.late} ms`);
  assert.ok(o.late! < 100, `fired ${o.late} ms late`);
});

test('the first SIGEV_PORT timer_create warms the arm path: the first timer_settime costs well under a millisecond', () => {
  // Cold, V8 compiled some forty functions at that call (0.75-1.2 ms here),
  // inside the 1 ms the timer then had left. Warm it takes ~0.05-0.1 ms,
  // but a wall-clock figure of one call beside CPU hogs is sometimes taken
  // by a preemption (0.51 ms once in 6 runs of the suite beside one hog):
  // the best of up to six fresh processes (compiling is CPU work, never
  // quicker under load, so the cold path still fails every one).
  const seen: number[] = [];
  for (let i = 0; i < 6; i++) {
    seen.push(run('first-sync').settime!);
    if (seen[i]! < 0.5) break;
  }
  assert.ok(Math.min(...seen) < 0.5, `the first timer_settime took ${seen.join(', ')} ms`);
});

test('the warm-up of the first SIGEV_PORT timer_create leaves nothing behind', () => {
  const r = scenario('startup', ['warm-trace'], 90_000);
  assert.equal(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as { before: Record<string, number>; after: Record<string, number>; queued: number };
  assert.equal(o.after.started, 0, 'the clock thread was started');
  assert.equal(o.queued, 0);
  assert.deepEqual(o.after, { ...o.before, timers: o.before.timers! + 1 }, JSON.stringify(o));
});

test('the first expiry of a 1 ms timer armed right after boot, blocking port_get: its path is warm (well under 1 ms late)', () => {
  // Cold, the sends, takes and firing after the deadline cost ~1 ms (1.5-2.4
  // ms late in all); warmed on a port of the first timer_create's own, ~0.15.
  // Judged against the host's own wake-up lateness measured in the same
  // process just after (o.floor: ~0.05-0.1 ms on a quiet machine, so the
  // cold path still fails): beside a CPU hog and two test files every
  // thread of the machine woke 10-17 ms late, whatever it waited in.
  const seen: string[] = [];
  for (let i = 0; i < 5; i++) {
    const o = run('first-sync');
    assert.ok(o.late! >= 0, `fired early: ${o.late} ms`);
    seen.push(`${o.late!.toFixed(3)} (host floor ${o.floor!.toFixed(3)})`);
    if (o.late! < 0.8 + o.floor!) return;
  }
  assert.fail(`first expiry late by ${seen.join(', ')} ms`);
});

test('with the clock thread held back, the bridge alone delivers a series of 1 ms timers on time (port_get_async)', () => {
  const o = best('held-async', 'late');
  assert.equal(o.started, 0, JSON.stringify(o));
  assert.equal(o.early, 0, JSON.stringify(o));
  assert.ok(o.bridge! >= 10, JSON.stringify(o));
  // The old bridge's last stretch was unref'd immediates, which do not wake
  // the loop: the second expiry waited for the next unrelated event (seconds).
  assert.ok(o.late! < 40, `worst expiry ${o.late} ms late`);
});

test('the bridge covers a deadline 30 days ahead without overflowing Node\'s timer (no TimeoutOverflowWarning), and a near one on time', () => {
  const r = scenario('startup', ['far'], 90_000);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as { warnings: number; first: string; left: number; started: number };
  assert.equal(o.warnings, 0, o.first);
  assert.doesNotMatch(r.stderr, /TimeoutOverflowWarning/);
  assert.equal(o.left, 0, 'the far timer fired');
  assert.equal(o.started, 0);
});

test('a thread blocked in the kernel fires a due callout itself until the clock thread runs', () => {
  const o = run('idle');
  assert.equal(o.events, 1);
  // Either the blocked main thread fired it (the usual case), or the clock
  // thread came up within the 100 ms sleep and did; not nobody.
  assert.ok(o.bridge! >= 1 || o.started! >= 1, JSON.stringify(o));
  assert.equal(o.bridgeBefore, 0);
});

test('hand-over from the bridge to the clock thread: no expiry lost or doubled', () => {
  const o = run('handover');
  // Every expiration the timer counted was delivered once (none lost, none
  // doubled), and it counted none that had not come due.
  assert.equal(o.got, o.fired, JSON.stringify(o));
  assert.ok(o.fired! >= 1 && o.fired! <= o.elapsed!, JSON.stringify(o));
  // And the bridge delivered some before the clock thread ran.
  assert.ok(o.before! >= 1 && o.bridge! >= 1, JSON.stringify(o));
});

test('the first LWP created right after boot runs', () => {
  const o = run('first-lwp');
  assert.equal(o.n, 1);
  assert.ok(o.ms! < 30_000);
});

test('a burst of 16 LWPs created at once right after boot all run', () => {
  const o = run('burst');
  assert.equal(o.n, 16);
});

test('boot({ lwp_pool: 16 }): a burst of 16 all run', () => {
  const o = run('burst', { lwp_pool: 16 });
  assert.equal(o.n, 16);
});

test('a main thread that arms a near timer and then only polls still gets its expiry (its polls fire due callouts until the clock thread runs)', () => {
  const o = run('poll-only');
  assert.ok(o.ms! >= 2, `fired early: ${o.ms} ms`);
  assert.ok(o.ms! < 1000, `fired ${o.ms} ms late`);
});
