/**
 * The Lwp class (public behaviour, through the `ukern` entry): create,
 * suspend, continue, wait; Lwp.park's timeout, pending unpark and abort;
 * and the examples of examples/ run as programs (all of them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Lwp, SysError, snapshot } from 'ukern';
import { pkgFixtures as fixtures, within, until } from './helpers.js';

test('Lwp: create, suspend, continue, wait', async () => {
  const sab = new SharedArrayBuffer(16);
  const a = new Int32Array(sab);
  const l = Lwp.create({ module: fixtures, export: 'syscallLoop', arg: { sab } }, { suspended: true });
  // Stopped however the test ends: a failed assertion left it suspended or
  // spinning for ever, and the file ended at the runner's deadline.
  try {
    assert.equal(snapshot().lwps.find((x) => x.lid === l.lid)?.state, 'SUSPENDED');
    l.continue();
    await until(() => Atomics.load(a, 1) > 0, 10000, 'running');
  } finally {
    Atomics.store(a, 0, 1);
    try { l.continue(); } catch { /* gone */ }
  }
  assert.equal(await within(l.wait(), 10000, 'wait'), undefined); // syscallLoop returns nothing
  assert.equal(Lwp.self().lid, 1);
});

test('Lwp.park: timeout rejects with ETIMEDOUT, a pending unpark resolves at once, abort rejects with the reason', async () => {
  await assert.rejects(Lwp.park({ timeout: 5 }), (e: unknown) => e instanceof SysError && e.code === 'ETIMEDOUT');
  Lwp.self().unpark();
  assert.equal(await Lwp.park(), true);
  const ac = new AbortController();
  const p = Lwp.park({ signal: ac.signal });
  await until(() => snapshot().lwps[0]!.state === 'SLEEP', 10000, 'parked');
  ac.abort(new Error('stop'));
  await assert.rejects(p, (e: unknown) => (e as Error).name === "AbortError" && ((e as Error).cause as Error).message === "stop");
  assert.throws(() => Lwp.parkSync({ timeout: 0 }), (e: unknown) => e instanceof SysError && e.code === 'ETIMEDOUT');
});

test('the LWP ping-pong example runs', () => {
  const file = fileURLToPath(new URL('../examples/lwp-pingpong.js', import.meta.url));
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /10000 round trips in \d+ ms/);
});

test('the port streaming example runs: every event in order, counted once', () => {
  const file = fileURLToPath(new URL('../examples/port-stream.js', import.meta.url));
  const r = spawnSync(process.execPath, [file, '300000'], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /300000 events in \d+ ms: [\d.]+ M events\/s/);
  assert.match(r.stdout, /every event in order/);
  assert.match(r.stdout, /kstat: sent 300000, delivered 300000, send lanes bound 1/);
  assert.match(r.stdout, /done\n$/);
});

test('the timer -> port -> kqueue example runs', () => {
  const file = fileURLToPath(new URL('../examples/timer-port-kqueue.js', import.meta.url));
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /port_get: source TIMER, timer \d+, user 7, expirations [1-9]/);
  assert.match(r.stdout, /port_getn took [1-9]\d* timer event/);
  assert.match(r.stdout, /done\n$/);
});

test('the child-exits example runs: an LWP collects every child\'s wait status, as Node sees them', () => {
  const file = fileURLToPath(new URL('../examples/child-exits.js', import.meta.url));
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
  const lwp = [...r.stdout.matchAll(/^LWP: pid (\d+): (.*)$/gm)].map((m) => `${m[1]}: ${m[2]}`);
  assert.deepEqual(lwp.map((l) => l.split(': ')[1]).sort(), ['exited 0', 'exited 3', 'exited 42', 'killed by signal 15']);
  const node = /^Node's 'exit' events: (.*)$/m.exec(r.stdout)![1]!.split(', ');
  // The same pids, with the same outcome (Node says SIGTERM where the status says signal 15).
  const norm = (x: string) => x.replace('killed by signal 15', 'SIGTERM').replace(/exited (\d+)/, '$1');
  assert.deepEqual(lwp.map(norm).sort(), node.sort());
  assert.match(r.stdout, /heard through (io_uring waitid and the pidfds|the pidfds)/);
});

test('the signals example runs: lwp_kill to a listener, a SIGEV_SIGNAL timer to an iterator', () => {
  const file = fileURLToPath(new URL('../examples/signals.js', import.meta.url));
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /LWP \d+: 5 SIGUSR1 taken by its listener, 5 waits ended with EINTR/);
  const m = /timer: 10 SIGRTMIN accepted \(value 7, si_code SI_TIMER\), (\d+) expirations/.exec(r.stdout);
  assert.ok(m !== null, r.stdout);
  assert.ok(Number(m[1]) >= 10, 'each delivery counts itself and its overruns');
});
