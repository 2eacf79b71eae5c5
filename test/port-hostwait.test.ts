/**
 * A getter's wait in the host (ports/hostwait.ts): an LWP blocked in
 * port_get on a port with a PORT_SOURCE_FD association sleeps in ppoll on
 * the descriptor and its kick eventfd instead of on its wait word. Each way
 * out of that sleep: the descriptor's event (one hop, no intr thread), every
 * other waker through the kick eventfd (port_send, port_alert, the port's
 * close, a signal: EINTR after the handler), the deadline (ETIME, never
 * early); a descriptor closed behind the kernel's back and its number
 * reused while a getter waits on it; and a seeded stress mixing descriptor
 * and user events: nothing lost, duplicated, stale or reordered, nobody
 * left asleep. kstat portfd.host_waits proves the host path was taken.
 * Deadlines everywhere.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, readSync, openSync, closeSync } from 'node:fs';
import { constants } from 'node:os';
import * as sys from 'ukern/sys';
import { pipe, pipe_high, reuse_as } from './fixtures/osfd.js';
import { until, within, seed, rng, cleanup } from './helpers.js';
import { MSG } from './fixtures/portfd-lwp.js';

const { port_associate, port_send, port_alert, close, PORT_SOURCE_FD, PORT_SOURCE_USER, PORT_SOURCE_ALERT, POLLIN, SIGUSR1 } = sys;
/**
 * The file's ports, closed once its tests are done: a test that fails
 * before its getter's event leaves that LWP in port_get with no timeout, and
 * the file ended at the runner's deadline instead of at the failure. A port
 * a test closed itself is EBADF here (or a later test's, closed by then).
 */
const ports = new Set<number>();
const port_create = (): number => { const p = sys.port_create(); ports.add(p); return p; };
after(() => { for (const p of ports) { try { close(p); } catch { /* closed by its test */ } } });
const fixture = new URL('./fixtures/portfd-lwp.js', import.meta.url);
const kst = (k: string): number => sys.kstat('portfd')[`portfd.${k}`]!;
const E = constants.errno;

/** Starts hostWaitGet on port and waits until the LWP sleeps in the host; returns its lid and result words. */
async function getter(port: number, ms?: number): Promise<{ lid: number; a: Int32Array }> {
  const sab = new SharedArrayBuffer(32);
  const a = new Int32Array(sab);
  const waits0 = kst('host_waits');
  const lid = sys.lwp_create({ module: fixture, export: 'hostWaitGet', arg: { sab, port, ms } });
  await until(() => Atomics.load(a, 0) === 1, 10_000, 'the LWP to start');
  await until(() => kst('host_waits') > waits0 || Atomics.load(a, 0) > 1, 10_000, 'the LWP to wait in the host');
  return { lid, a };
}
async function done(g: { lid: number; a: Int32Array }): Promise<void> {
  await within(sys.lwp_wait_async(g.lid), 10_000, 'the getter');
}

test('a write to the descriptor wakes the getter waiting on it in the host, with its event', async () => {
  const [r, w] = pipe();
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 42);
  const took0 = kst('host_claims') + kst('host_left') + kst('events');
  const g = await getter(port);
  assert.equal(Atomics.load(g.a, 0), 1, 'still waiting: nothing was ready');
  writeSync(w, 'x');
  await done(g);
  assert.deepEqual([...g.a.subarray(0, 4)], [2, r, POLLIN, 42]);
  assert.ok(kst('host_claims') + kst('host_left') + kst('events') > took0);
  close(port); close(r); close(w);
});

test('every other waker reaches a getter waiting in the host: port_send, port_alert, the port\'s close', async () => {
  const [r, w] = pipe();
  for (const how of ['send', 'alert', 'close'] as const) {
    const port = port_create();
    port_associate(port, PORT_SOURCE_FD, r, POLLIN, 1);
    const g = await getter(port);
    if (how === 'send') port_send(port, 7, 0);
    else if (how === 'alert') port_alert(port, sys.PORT_ALERT_SET, 9, 0);
    else close(port);
    await done(g);
    if (how === 'send') assert.deepEqual([g.a[0], g.a[2]], [2, 7], 'the user event');
    else if (how === 'alert') assert.deepEqual([g.a[0], g.a[2]], [2, 9], 'the alert');
    else assert.deepEqual([g.a[0], g.a[1]], [3, -77], 'the port closed under it: EBADFD (77 on Linux), as port_get says');
    if (how !== 'close') close(port);
  }
  void PORT_SOURCE_USER; void PORT_SOURCE_ALERT;
  close(r); close(w);
});

test('a getter waiting in the host: its deadline (ETIME, not early) and a signal (the handler, then EINTR)', async () => {
  const [r, w] = pipe();
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 1);
  const g = await getter(port, 150);
  await done(g);
  assert.deepEqual([g.a[0], g.a[1]], [3, -E.ETIME]);
  assert.ok(g.a[5]! >= 149, `waited ${g.a[5]} ms of 150`);
  const g2 = await getter(port);
  sys.lwp_kill(g2.lid, SIGUSR1);
  await done(g2);
  assert.deepEqual([g2.a[0], g2.a[1], g2.a[4]], [3, -E.EINTR, 1], 'the handler ran, then EINTR');
  sys.sigaction(SIGUSR1, { sa_handler: sys.SIG_DFL });
  close(port); close(r); close(w);
});

test('the descriptor closed behind the kernel\'s back and its number reused by a ready file while the getter waits: no event', async () => {
  const [r, w] = pipe_high();
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 1);
  const g = await getter(port, 300);
  closeSync(r);
  // The number now names a file that is always ready: the getter's host
  // wait sees it ready, and must not report it.
  const f = reuse_as(r, openSync('/dev/null', 'r'));
  await done(g);
  assert.deepEqual([g.a[0], g.a[1]], [3, -E.ETIME], 'no event for the new file');
  close(port); closeSync(f); close(w);
});

test('seeded stress: descriptor and user events to a getter waiting in the host; none lost, duplicated, stale or reordered', async () => {
  const s = seed();
  console.log(`seed ${s} (UKERN_SEED=${s} replays the schedule; the interleaving is the machine's)`);
  const rand = rng(s);
  const [r, w] = pipe();
  const port = port_create();
  const sab = new SharedArrayBuffer(MSG * 4 + 4096);
  const a = new Int32Array(sab);
  const waits0 = kst('host_waits');
  const lid = sys.lwp_create({ module: fixture, export: 'hostWaitStress', arg: { sab, port, r } });
  // After a failure the port is closed at once (its getter, in port_get with
  // no timeout, ends with EBADF), before the file's other tests run.
  let passed = false, bytes = 0, users = 0;
  try {
  await until(() => Atomics.load(a, 4) === 1, 10_000, 'the getter to start');
  const spin = (n: number): void => { const t = performance.now() + n; while (performance.now() < t) { /* vary the interleaving */ } };
  const deadline = Date.now() + 20_000;
  for (let i = 0; i < 3000 && a[3] === 0; i++) {
    const x = rand();
    if (x < 0.5) { writeSync(w, 'y'); bytes++; } else port_send(port, ++users, 0);
    if (rand() < 0.3) spin(rand() * 0.2);
    if (i % 100 === 99) {
      // Pace to the getter (the pipe and the port stay far from full), with a deadline.
      while (a[1]! < users - 50 && a[3] === 0) { assert.ok(Date.now() < deadline, 'the getter keeps up'); await new Promise((res) => setImmediate(res)); }
    }
  }
  port_send(port, 0x7fffffff, 0);
  await within(sys.lwp_wait_async(lid), 20_000, 'the getter');
  passed = true;
  } finally {
    if (!passed) { close(port); await cleanup(within(sys.lwp_wait_async(lid), 10_000, 'the getter'), false); }
  }
  const msg = new TextDecoder().decode(new Uint8Array(sab, MSG * 4, 4096)).replace(/\0+$/, '');
  assert.equal(a[3], 0, msg);
  assert.equal(a[1], users, 'every user event once, in order');
  assert.equal(a[0], bytes, 'every byte read');
  console.log(`${users} user events, ${a[2]} fd events for ${bytes} bytes; host waits ${kst('host_waits') - waits0}, claims ${kst('host_claims')}, left ${kst('host_left')}, raced ${kst('host_raced')}, misses ${kst('host_misses')}`);
  assert.ok(kst('host_waits') > waits0, 'the getter waited in the host');
  close(port); close(r); close(w);
});

// Quiet sources (intr.ts intr_source_quiet, src-fd.ts fd_hwait_quiet): a
// getter waiting in the host on the only interest of its descriptor takes
// it out of the intr thread's reports, and every way its association needs
// the intr thread again puts it back.
const ikst = (k: string): number => sys.kstat('intr')[`intr.${k}`]!;
/** A getter quietly waiting in the host on port (intr.quiets moved past q0). */
async function quietGetter(port: number, q0: number): Promise<{ lid: number; a: Int32Array }> {
  const g = await getter(port);
  await until(() => ikst('quiets') > q0 || Atomics.load(g.a, 0) > 1, 10_000, 'the getter to quiet its descriptor');
  return g;
}
const FIVE_S = { tv_sec: 5, tv_nsec: 0 };

test('quiet: writes to a descriptor whose only interest is the host-waiting getter\'s wake the getter, not the intr thread', async () => {
  const [r, w] = pipe();
  const port = port_create();
  const buf = Buffer.alloc(8);
  let events = 0;
  for (let i = 0; i < 10; i++) {
    port_associate(port, PORT_SOURCE_FD, r, POLLIN, i);
    const q0 = ikst('quiets');
    const g = await quietGetter(port, q0);
    assert.ok(ikst('quiets') > q0, 'the getter quieted its descriptor');
    const ev0 = ikst('os_events');
    writeSync(w, 'x');
    await done(g);
    events += ikst('os_events') - ev0;
    assert.deepEqual([...g.a.subarray(0, 4)], [2, r, POLLIN, i]);
    readSync(r, buf);
  }
  // Without the quiet, each write is also an event of the intr thread's set.
  assert.ok(events <= 2, `${events} OS events for 10 writes the getter waited for`);
  close(port); close(r); close(w);
});

test('quiet: a getter\'s wait that ends without the event leaves its association heard by the intr thread again', async () => {
  const [r, w] = pipe();
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 5);
  const g = await quietGetter(port, ikst('quiets'));
  port_send(port, 7, 0);
  await done(g);
  assert.deepEqual([g.a[0], g.a[2]], [2, 7], 'the user event');
  // Still associated, and nobody waits on the descriptor in the host: the
  // intr thread must queue the write's event for the async getter.
  const p = sys.port_get_async(port, FIVE_S);
  writeSync(w, 'x');
  const e = await p;
  assert.deepEqual([e.portev_source, e.portev_object, e.portev_user], [PORT_SOURCE_FD, r, 5]);
  close(port); close(r); close(w);
});

test('quiet: another interest in the descriptor (a kqueue\'s EVFILT_READ knote) ends the quiet', async () => {
  const [r, w] = pipe();
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 1);
  const g = await quietGetter(port, ikst('quiets'));
  const kq = sys.kqueue();
  sys.kevent(kq, [sys.EV_SET(r, sys.EVFILT_READ, sys.EV_ADD | sys.EV_CLEAR, 0, 0, 3)], 0);
  const p = sys.kevent_async(kq, null, 1, FIVE_S);
  writeSync(w, 'x');
  const ev = await p;
  assert.deepEqual(ev.map((e) => [e.ident, e.udata]), [[r, 3]], 'the knote\'s event, through the intr thread');
  await done(g);
  assert.deepEqual([...g.a.subarray(0, 4)], [2, r, POLLIN, 1], 'and the getter\'s own');
  close(kq); close(port); close(r); close(w);
});

test('quiet: a claimed association, associated again with no getter waiting, is heard by the intr thread again', async () => {
  const [r, w] = pipe();
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 1);
  const g = await quietGetter(port, ikst('quiets'));
  writeSync(w, 'x');
  await done(g);
  assert.deepEqual([...g.a.subarray(0, 4)], [2, r, POLLIN, 1]);
  readSync(r, Buffer.alloc(8));
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 2);
  const p = sys.port_get_async(port, FIVE_S);
  writeSync(w, 'y');
  const e = await p;
  assert.deepEqual([e.portev_object, e.portev_user], [r, 2]);
  close(port); close(r); close(w);
});
