/**
 * The intr thread with other threads: an LWP blocked in kevent woken by a
 * pipe written in another thread; 1000 idle registrations cost the intr
 * thread no wake-up and ~0 CPU (its own thread's utime+stime from
 * /proc/self/task/TID/stat); and process.exit with the intr thread blocked
 * in epoll_wait ends the process (a child process, with a deadline); with
 * the thread held, the bridge alone delivers (a child process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as sys from 'ukern/sys';
import { pipe } from './fixtures/osfd.js';
import { until, within, scenario } from './helpers.js';

const { EV_SET, kevent, kqueue, close, EVFILT_READ, EV_ADD } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const stat = (k: string) => sys.kstat('intr')[`intr.${k}`]!;

async function intr_running(): Promise<void> {
  await until(() => stat('started') >= 1, 10_000, 'the intr thread to run');
}

test('an LWP blocked in kevent is woken by a pipe written in another thread (through the intr thread)', async () => {
  const [r, w] = pipe();
  const kq = kqueue();
  kevent(kq, [EV_SET(r, EVFILT_READ, EV_ADD, 0, 0, 0)], 0, ZERO);
  await intr_running();
  const sab = new SharedArrayBuffer(16);
  const res = new Int32Array(sab);
  const sleeps0 = sys.kstat('kqueue')['kqueue.sleeps']!;
  const events0 = stat('os_events');
  const lid = sys.lwp_create({ module: new URL('./fixtures/osfd-lwp.js', import.meta.url), export: 'blockInKevent', arg: { kq, sab } });
  // Write only once the LWP sleeps in kevent (its sleep is counted).
  await until(() => sys.kstat('kqueue')['kqueue.sleeps']! > sleeps0, 10_000, 'the LWP to sleep in kevent');
  writeSync(w, 'wake');
  await within(sys.lwp_wait_async(lid), 10_000, 'the LWP');
  assert.deepEqual([...res], [1, r, EVFILT_READ, 4]);
  assert.ok(stat('os_events') > events0, 'the intr thread took an OS event');
  close(kq); close(r); close(w);
});

/** utime + stime of host thread tid, in clock ticks. */
function thread_ticks(tid: number): number {
  const s = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

test('1000 idle registrations: no intr thread wake-up and ~0 CPU while nothing happens', async () => {
  const pipes = Array.from({ length: 1000 }, () => pipe());
  const kq = kqueue();
  kevent(kq, pipes.map(([r]) => EV_SET(r, EVFILT_READ, EV_ADD, 0, 0, 0)), 0, ZERO);
  await intr_running();
  assert.equal(stat('sources') >= 1000, true);
  const tid = stat('tid');
  assert.ok(tid > 0, 'the intr thread announced its host id');
  const wake0 = stat('wakeups'), ticks0 = thread_ticks(tid);
  // Idle: this thread sleeps in the kernel for 500 ms (nothing is ready).
  assert.deepEqual(kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 500e6 }), []);
  const wakeups = stat('wakeups') - wake0, ticks = thread_ticks(tid) - ticks0;
  console.log(`intr thread idle with 1000 registrations over 500 ms: ${wakeups} wake-ups, ${ticks} clock ticks of CPU`);
  assert.equal(wakeups, 0);
  assert.ok(ticks <= 1, `${ticks} ticks`);
  // Still live: one write wakes it.
  writeSync(pipes[500]![1], 'x');
  const ev = kevent(kq, null, 8, { tv_sec: 5, tv_nsec: 0 });
  assert.deepEqual(ev.map((e) => e.ident), [pipes[500]![0]]);
  close(kq);
  for (const [r, w] of pipes) { close(r); close(w); }
  assert.equal(stat('sources'), 0, 'every source released');
});

test('process.exit with the intr thread blocked in epoll_wait ends the process', () => {
  const r = scenario('intr-exit', [], 20_000);
  assert.equal(r.signal, null, `killed by ${r.signal} (hung): ${r.stderr}`);
  assert.match(r.stdout, /intr thread running: 1/);
  assert.equal(r.status, 3, r.stderr);
});

for (const mode of ['kevent', 'portfd']) {
  test(`process.exit with an LWP blocked for ever in a host wait (${mode}) ends the process`, () => {
    const r = scenario('intr-exit', [mode], 20_000);
    assert.equal(r.signal, null, `killed by ${r.signal} (hung): ${r.stderr}`);
    assert.match(r.stdout, /LWP waiting in the host: true/);
    assert.equal(r.status, 3, r.stderr);
  });
}

test('process.exit while an LWP binds host calls through koffi ends the process (no fatal N-API error), five times', () => {
  for (let i = 0; i < 5; i++) {
    const r = scenario('exit-bind', [], 20_000);
    assert.equal(r.signal, null, `run ${i}: killed by ${r.signal}: ${r.stderr}`);
    assert.match(r.stdout, /binding: 1/);
    assert.equal(r.status, 3, `run ${i}: ${r.stderr}`);
  }
});

test('until the intr thread runs (held here), the registering thread takes OS events itself (the bridge)', () => {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('./scenarios/intr-bridge.js', import.meta.url))],
    { encoding: 'utf8', timeout: 20_000, env: { ...process.env, UKERN_INTR_HOLD: '1' } });
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.stdout, 'poll after a write: [2]\nblocking kevent: [3] within 5 s: true\nintr thread started: 0\n', r.stderr);
});
