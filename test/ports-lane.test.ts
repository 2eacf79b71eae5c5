/**
 * Send lanes (src/ports/lane.ts): the lock-free path of port_send must keep
 * every promise of the locked queue. FIFO across lane entries, locked-list
 * events (other senders, port_sendn, sources) and the take boundaries;
 * port_max_events exact through credits (and their revocation for other
 * senders); a full lane spilling onto the list in order; close discarding
 * lane entries and releasing the struct; ownership moving (sends elsewhere,
 * exit, death of the owner); waking sleepers and kqueue watchers with no
 * wake-up lost; a descriptor reused by a new port.
 */
import { isMainThread } from 'node:worker_threads';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/sys/index.js';
import { boot } from '../src/kern/boot.js';
import * as ports from '../src/ports/sys.js';
import * as lwp from '../src/lwp/sys.js';
import * as kq from '../src/kqueue/sys.js';
import { close } from '../src/kern/sys.js';
import { SysError } from '../src/kern/errno.js';
import { kstat_snapshot } from '../src/kern/kstat.js';
import { fd_get, DTYPE_PORT } from '../src/kern/fdtab.js';
import { port_alloc_event, port_init_event, port_send_event, port_free_event } from '../src/ports/source.js';
import { LANE_SWITCH } from '../src/ports/lane.js';
import { lane_owner } from '../src/ports/lane-locked.js';
import { within, seed, rng } from './helpers.js';

const SELF = new URL(import.meta.url);
const MAXEV = 64, ENTRIES = 16;
if (isMainThread) boot({ port_max_events: MAXEV, port_lane_entries: ENTRIES });

const code = (c: string) => (e: unknown) => e instanceof SysError && e.code === c;
const users = (evs: readonly ports.port_event_t[]) => evs.map((e) => e.portev_user);
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const handle = (fd: number) => fd_get(fd, DTYPE_PORT, 'test', 'EBADFD');
const portsInUse = () => kstat_snapshot('port')['port.ports']!;

/** LWP: sends `n` events with user base..base+n-1, then returns (its lane is let go at exit). */
export function sendSome(a: { port: number; base: number; n: number }): void {
  for (let i = 0; i < a.n; i++) ports.port_send(a.port, 1, a.base + i);
}

/** LWP: sends n events to p, waits for go[0], then sends one to q (and so lets go of p's lane). */
export function sendThenMove(a: { p: number; q: number; n: number; go: SharedArrayBuffer }): void {
  for (let i = 0; i < a.n; i++) ports.port_send(a.p, 1, i);
  const g = new Int32Array(a.go);
  Atomics.store(g, 1, 1); Atomics.notify(g, 1);
  while (Atomics.load(g, 0) === 0) Atomics.wait(g, 0, 0, 1000);
  ports.port_send(a.q, 1, 0);
}

/**
 * LWP: sends n events to p, says so (go[1]), waits for go[0] without a
 * syscall, makes one unrelated syscall, says so (go[2]), and stays alive
 * until go[3].
 */
export function sendThenSyscall(a: { p: number; n: number; go: SharedArrayBuffer }): void {
  const g = new Int32Array(a.go);
  for (let i = 0; i < a.n; i++) ports.port_send(a.p, 1, i);
  Atomics.store(g, 1, 1); Atomics.notify(g, 1);
  while (Atomics.load(g, 0) === 0) Atomics.wait(g, 0, 0, 1000);
  lwp.lwp_self();
  Atomics.store(g, 2, 1); Atomics.notify(g, 2);
  while (Atomics.load(g, 3) === 0) Atomics.wait(g, 3, 0, 1000);
}

/** LWP: sends `n` events, counting EAGAINs in out[0] and sends in out[1]. */
export function sendCount(a: { port: number; n: number; out: SharedArrayBuffer }): void {
  const o = new Int32Array(a.out);
  for (let i = 0; i < a.n; i++) {
    try { ports.port_send(a.port, 1, 100 + i); o[1]!++; } catch (e) { if ((e as SysError).code !== 'EAGAIN') throw e; o[0]!++; }
  }
}

/**
 * LWP: lock-step with the main thread through a shared word, sends one event
 * each time it is asked: step[0] = k asks for event k, step[1] = k says done.
 */
export function stepSender(a: { port: number; step: SharedArrayBuffer; rounds: number }): void {
  const s = new Int32Array(a.step);
  for (let k = 1; k <= a.rounds; k++) {
    while (Atomics.load(s, 0) !== k) Atomics.wait(s, 0, k - 1, 1000);
    ports.port_send(a.port, 2, 1000 + k);
    Atomics.store(s, 1, k); Atomics.notify(s, 1);
  }
}

/** LWP: n round trips: send on pout, port_get on pin. */
export function pinger(a: { pin: number; pout: number; n: number; seedv: number }): void {
  const r = rng(a.seedv);
  for (let i = 0; i < a.n; i++) {
    ports.port_send(a.pout, 1, i);
    const ev = ports.port_get(a.pin);
    if (ev.portev_user !== i) throw new Error(`round ${i}: got ${ev.portev_user}`);
    if (r() < 0.05) { const t = performance.now() + r() * 0.05; while (performance.now() < t); }
  }
}
export function ponger(a: { pin: number; pout: number; n: number; seedv: number }): void {
  const r = rng(a.seedv ^ 0x5bd1e995);
  for (let i = 0; i < a.n; i++) {
    const ev = ports.port_get(a.pin);
    if (r() < 0.05) { const t = performance.now() + r() * 0.05; while (performance.now() < t); }
    ports.port_send(a.pout, 1, ev.portev_user);
  }
}

/** Stress producer: bursts of sends to randomly chosen live ports (lanes move with the bursts). */
export function stressProducer(a: { fds: SharedArrayBuffer; id: number; per: number; seedv: number; sent: SharedArrayBuffer }): void {
  const fds = new Int32Array(a.fds), sent = new Int32Array(a.sent), r = rng(a.seedv);
  let k = 0;
  while (k < a.per) {
    const slot = Math.floor(r() * fds.length);
    const burst = 1 + Math.floor(r() * 200);
    for (let b = 0; b < burst && k < a.per; b++, k++) {
      const fd = Atomics.load(fds, slot);
      try { ports.port_send(fd, 1, a.id * a.per + k); Atomics.add(sent, 0, 1); } catch (e) {
        const c = (e as SysError).code;
        if (c !== 'EBADF' && c !== 'EAGAIN') throw e;
      }
    }
  }
}
/** Stress consumer: takes from random live ports until told to stop, marking each event seen. */
export function stressConsumer(a: { fds: SharedArrayBuffer; seen: SharedArrayBuffer; stop: SharedArrayBuffer; seedv: number }): void {
  const fds = new Int32Array(a.fds), seen = new Int32Array(a.seen), stop = new Int32Array(a.stop), r = rng(a.seedv);
  const t = { tv_sec: 0, tv_nsec: 200_000 };
  while (Atomics.load(stop, 0) === 0) {
    const fd = Atomics.load(fds, Math.floor(r() * fds.length));
    try {
      for (const ev of ports.port_getn(fd, 1 + Math.floor(r() * 64), 1 + Math.floor(r() * 4), t)) Atomics.add(seen, ev.portev_user, 1);
    } catch (e) {
      const c = (e as SysError).code;
      if (c !== 'EBADF' && c !== 'EBADFD') throw e;
    }
  }
}

if (isMainThread) {
  test('FIFO across the lane, port_sendn (locked list) and a source event, over several takes', () => {
    const p = ports.port_create();
    const s = port_alloc_event(p, ports.PORT_ALLOC_SCACHED, ports.PORT_SOURCE_FILE);
    port_init_event(s, 0, 3, 0, false);
    ports.port_send(p, 1, 1);               // lane (this thread takes it)
    ports.port_send(p, 1, 2);
    assert.ok(lane_owner(handle(p)) > 0, 'the sender owns the port\'s lane');
    assert.equal(port_send_event(s), true); // list, after 1 and 2
    ports.port_send(p, 1, 4);               // lane, after 3
    ports.port_sendn([p], 1, 5);            // list
    ports.port_send(p, 1, 6);
    ports.port_sendn([p], 1, 7);
    ports.port_sendn([p], 1, 8);
    ports.port_send(p, 1, 9);
    assert.equal(ports.port_getn(p, 0, 0).nget, 9, 'max 0 counts lane and list');
    const got: number[] = [];
    for (const max of [2, 1, 3, 1, 5]) got.push(...users(ports.port_getn(p, max, 1, ZERO)));
    assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    port_free_event(s);
    close(p);
  });

  test('FIFO across two senders in causal order: lane owner and a locked-path sender interleaved', async () => {
    const p = ports.port_create();
    const rounds = 200;
    const step = new SharedArrayBuffer(8);
    const st = new Int32Array(step);
    const other = lwp.lwp_create({ module: SELF, export: 'stepSender', arg: { port: p, step, rounds } });
    const expect: number[] = [];
    const got: number[] = [];
    for (let k = 1; k <= rounds; k++) {
      ports.port_send(p, 1, k); expect.push(k);                 // ours: the lane
      Atomics.store(st, 0, k); Atomics.notify(st, 0);
      while (Atomics.load(st, 1) !== k) Atomics.wait(st, 1, k - 1, 1000);
      expect.push(1000 + k);                                     // theirs: the list
      if (k % 7 === 0) got.push(...users(ports.port_getn(p, 3, 1, ZERO)));
      if (ports.port_getn(p, 0, 0).nget > MAXEV - 8) got.push(...users(ports.port_getn(p, 64, 1, ZERO)));
    }
    await within(lwp.lwp_wait_async(other), 10_000, 'step sender');
    got.push(...users(ports.port_getn(p, 1000, 1, ZERO)));
    assert.deepEqual(got, expect);
    close(p);
  });

  test('port_max_events holds through the lane; a full lane spills onto the list in order', () => {
    const p = ports.port_create();
    for (let i = 0; i < MAXEV; i++) ports.port_send(p, 1, i);   // 16 on the lane, then the list
    assert.throws(() => ports.port_send(p, 1, 99), code('EAGAIN'));
    const errs: (string | null)[] = [];
    assert.equal(ports.port_sendn([p], 1, 99, errs), 0);
    assert.deepEqual(errs, ['EAGAIN']);
    assert.deepEqual(users(ports.port_getn(p, 5, 5)), [0, 1, 2, 3, 4]);
    for (let i = 0; i < 5; i++) ports.port_send(p, 1, MAXEV + i);
    assert.throws(() => ports.port_send(p, 1, 99), code('EAGAIN'));
    const rest = users(ports.port_getn(p, 1000, 1, ZERO));
    assert.deepEqual(rest, Array.from({ length: MAXEV }, (_, i) => i + 5));
    close(p);
  });

  test('a full lane never waits for room on its own getter', () => {
    const p = ports.port_create();
    ports.port_spin_tune({ budgetNs: 10_000_000 }); // a wait for room would last 40 ms
    try {
      for (let i = 0; i < ENTRIES; i++) ports.port_send(p, 1, i);
      assert.equal(ports.port_get(p, ZERO).portev_user, 0); // this thread is the lane's last getter now
      const t0 = performance.now();
      for (let i = 0; i < 10; i++) ports.port_send(p, 1, ENTRIES + i);
      assert.ok(performance.now() - t0 < 200, `10 sends onto a full lane took ${(performance.now() - t0).toFixed(1)} ms`);
      assert.deepEqual(users(ports.port_getn(p, 100, 1, ZERO)), Array.from({ length: ENTRIES + 9 }, (_, i) => i + 1));
    } finally {
      ports.port_spin_tune({ budgetNs: 20_000 });
      close(p);
    }
  });

  test('credits the owner holds unused go back to another sender (all but one)', async () => {
    const p = ports.port_create();
    ports.port_send(p, 1, 0); ports.port_send(p, 1, 1);         // we own the lane, with credits
    const out = new SharedArrayBuffer(8);
    const l = lwp.lwp_create({ module: SELF, export: 'sendCount', arg: { port: p, n: MAXEV, out } });
    await within(lwp.lwp_wait_async(l), 10_000, 'other sender');
    const o = new Int32Array(out);
    assert.equal(o[1], MAXEV - 3, 'the other sender got every slot but ours and the one kept back');
    assert.equal(o[0], 3);
    ports.port_send(p, 1, 2);                                   // the credit kept for us
    assert.throws(() => ports.port_send(p, 1, 3), code('EAGAIN'));
    assert.equal(ports.port_getn(p, 0, 0).nget, MAXEV);
    close(p);
  });

  test('close discards lane entries, counts them, and releases the port struct', async () => {
    const base = portsInUse();
    const k0 = kstat_snapshot('port');
    const lanes0 = k0['port.lanes']!;
    const p = ports.port_create();
    for (let i = 0; i < 10; i++) ports.port_send(p, 1, i);
    close(p);
    const k1 = kstat_snapshot('port');
    assert.equal(k1['port.events_discarded']! - k0['port.events_discarded']!, 10);
    assert.equal(k1['port.events_sent']! - k0['port.events_sent']!, 10);
    assert.equal(portsInUse(), base, 'closed by its lane owner: released at once');
    assert.equal(k1['port.lanes'], lanes0, 'and its lane went back to the pool');
    assert.throws(() => ports.port_send(p, 1, 1), code('EBADF'));

    // Owned by another LWP: released when that LWP exits.
    const q = ports.port_create();
    const l = lwp.lwp_create({ module: SELF, export: 'sendSome', arg: { port: q, base: 0, n: 5 } });
    await within(lwp.lwp_wait_async(l), 10_000, 'sender');
    assert.deepEqual(users(ports.port_getn(q, 2, 2)), [0, 1], 'the lane outlives its owner');
    assert.equal(lane_owner(handle(q)), 0, 'let go at exit');
    close(q);
    assert.equal(portsInUse(), base);
  });

  test('a closed port whose lane another LWP owns lives until that LWP lets go', async () => {
    const p = ports.port_create(), q = ports.port_create();
    const go = new SharedArrayBuffer(8), g = new Int32Array(go);
    const l = lwp.lwp_create({ module: SELF, export: 'sendThenMove', arg: { p, q, n: ENTRIES, go } });
    await within((async () => { while (Atomics.load(g, 1) === 0) await new Promise((r) => setTimeout(r, 1)); })(), 10_000, 'sends');
    assert.deepEqual(users(ports.port_getn(p, ENTRIES, ENTRIES)), Array.from({ length: ENTRIES }, (_, i) => i));
    const before = portsInUse();
    close(p); // every credit used and every event taken: only the owner holds the struct now
    assert.equal(portsInUse(), before, 'not released under its lane owner');
    Atomics.store(g, 0, 1); Atomics.notify(g, 0);
    await within(lwp.lwp_wait_async(l), 10_000, 'owner');
    assert.equal(portsInUse(), before - 1, 'released once the owner let go');
    assert.equal(ports.port_get(q, ZERO).portev_user, 0);
    close(q);
  });

  test('the close asks a live owner to let go at its next syscall of any kind', async () => {
    const p = ports.port_create();
    const go = new SharedArrayBuffer(16), g = new Int32Array(go);
    const l = lwp.lwp_create({ module: SELF, export: 'sendThenSyscall', arg: { p, n: ENTRIES, go } });
    const flag = (i: number, what: string) => within((async () => { while (Atomics.load(g, i) === 0) await new Promise((r) => setTimeout(r, 1)); })(), 10_000, what);
    await flag(1, 'sends');
    ports.port_getn(p, ENTRIES, ENTRIES);
    const before = portsInUse();
    close(p);
    assert.equal(portsInUse(), before, 'pinned by its lane owner');
    Atomics.store(g, 0, 1); Atomics.notify(g, 0);
    await flag(2, 'the owner\'s next syscall');
    assert.equal(portsInUse(), before - 1, 'released at that syscall, the owner still alive');
    Atomics.store(g, 3, 1); Atomics.notify(g, 3);
    await within(lwp.lwp_wait_async(l), 10_000, 'owner');
  });

  test('a descriptor number reused by a new port never reaches the old lane', () => {
    for (let i = 0; i < 20; i++) {
      const p = ports.port_create();
      ports.port_send(p, 1, 1);
      close(p);
      const q = ports.port_create();
      ports.port_send(q, 1, 2);
      assert.deepEqual(users(ports.port_getn(q, 4, 1, ZERO)), [2]);
      if (p !== q) assert.throws(() => ports.port_send(p, 1, 3), code('EBADF'));
      close(q);
    }
  });

  test('ownership moves to where the thread keeps sending', () => {
    const a = ports.port_create(), b = ports.port_create();
    ports.port_send(a, 1, 0);
    const ha = handle(a), hb = handle(b);
    assert.ok(lane_owner(ha) > 0);
    const got: number[] = [];
    for (let i = 0; i < LANE_SWITCH + 2; i++) {
      ports.port_send(b, 1, i);
      if (i % 32 === 31) got.push(...users(ports.port_getn(b, 100, 1, ZERO)));
    }
    assert.equal(lane_owner(ha), 0, 'let go of a');
    assert.ok(lane_owner(hb) > 0, 'took b');
    assert.equal(ports.port_getn(a, 0, 0).nget, 1);
    got.push(...users(ports.port_getn(b, 100, 1, ZERO)));
    assert.deepEqual(got, Array.from({ length: LANE_SWITCH + 2 }, (_, i) => i));
    close(a); close(b);
  });

  test('a kqueue watching a port hears of lane events', async () => {
    const p = ports.port_create(), k = kq.kqueue();
    kq.kevent(k, [kq.EV_SET(p, kq.EVFILT_READ, kq.EV_ADD, 0, 0, 7)], 1, ZERO);
    assert.deepEqual(kq.kevent(k, null, 4, ZERO), []);
    const l = lwp.lwp_create({ module: SELF, export: 'sendSome', arg: { port: p, base: 0, n: 3 } });
    const evs = await within(kq.kevent_async(k, null, 4, { tv_sec: 10, tv_nsec: 0 }), 10_000, 'EVFILT_READ on the port');
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.ident, p);
    await within(lwp.lwp_wait_async(l), 10_000, 'sender');
    assert.equal(kq.kevent(k, null, 4, ZERO)[0]!.data, 3);
    ports.port_getn(p, 10, 3);
    assert.deepEqual(kq.kevent(k, null, 4, ZERO), [], 'drained');
    close(k); close(p);
  });

  test('no wake-up lost: 20 000 round trips through lanes, spin off and on, random pauses', async () => {
    const s = seed();
    try {
      for (const budgetNs of [0, 20_000]) {
        ports.port_spin_tune({ budgetNs });
        const p1 = ports.port_create(), p2 = ports.port_create();
        const n = 10_000;
        const b = lwp.lwp_create({ module: SELF, export: 'ponger', arg: { pin: p2, pout: p1, n, seedv: s } });
        const a = lwp.lwp_create({ module: SELF, export: 'pinger', arg: { pin: p1, pout: p2, n, seedv: s } });
        await within(Promise.all([lwp.lwp_wait_async(a), lwp.lwp_wait_async(b)]), 60_000, `ping-pong, spin budget ${budgetNs}, seed ${s}`);
        close(p1); close(p2);
      }
    } catch (e) {
      console.log(`# seed ${s} (replay: UKERN_SEED=${s})`);
      throw e;
    } finally {
      ports.port_spin_tune({ budgetNs: 20_000 });
    }
  });

  test('a getter blocked for many events is woken by lane pushes once enough arrived', async () => {
    const p = ports.port_create();
    const got = ports.port_getn_async(p, 40, 30);
    const l = lwp.lwp_create({ module: SELF, export: 'sendSome', arg: { port: p, base: 0, n: 30 } });
    const evs = await within(got, 10_000, 'port_getn for 30');
    assert.equal(evs.length, 30);
    assert.deepEqual(users(evs), Array.from({ length: 30 }, (_, i) => i));
    await within(lwp.lwp_wait_async(l), 10_000, 'sender');
    close(p);
  });

  test('stress: lanes moving between ports, ports closed under their owners: every event once, counts add up, nothing left', async (t) => {
    const s = seed();
    const r = rng(s);
    t.diagnostic(`seed ${s} (replay: UKERN_SEED=${s})`);
    const K = 4, NP = 3, NC = 2, PER = 40_000;
    const base = portsInUse(), k0 = kstat_snapshot('port');
    const fds = new Int32Array(new SharedArrayBuffer(4 * K));
    for (let i = 0; i < K; i++) fds[i] = ports.port_create();
    const seen = new SharedArrayBuffer(4 * NP * PER), sent = new SharedArrayBuffer(8), stop = new SharedArrayBuffer(8);
    const prods = Array.from({ length: NP }, (_, id) => lwp.lwp_create({ module: SELF, export: 'stressProducer', arg: { fds: fds.buffer, id, per: PER, seedv: s + id, sent } }));
    const cons = Array.from({ length: NC }, (_, id) => lwp.lwp_create({ module: SELF, export: 'stressConsumer', arg: { fds: fds.buffer, seen, stop, seedv: s + 100 + id } }));
    let done = 0;
    const prodWait = Promise.all(prods.map((l) => lwp.lwp_wait_async(l).then(() => { done++; })));
    const deadline = Date.now() + 60_000;
    let reopened = 0;
    try {
      while (done < NP) {
        if (Date.now() > deadline) throw new Error('producers did not finish in 60 s');
        await new Promise((res) => setTimeout(res, 1 + Math.floor(r() * 4)));
        if (r() < 0.3) {
          const i = Math.floor(r() * K);
          const old = fds[i]!;
          Atomics.store(fds, i, ports.port_create());
          close(old); reopened++;
        }
      }
      await prodWait;
      Atomics.store(new Int32Array(stop), 0, 1);
      for (const l of cons) await within(lwp.lwp_wait_async(l), 30_000, 'consumers to stop');
      const counts = new Int32Array(seen);
      for (let i = 0; i < K; i++) {
        for (;;) {
          const evs = ports.port_getn(fds[i]!, 64, 1, ZERO);
          if (evs.length === 0) break;
          for (const ev of evs) counts[ev.portev_user]!++;
        }
        close(fds[i]!);
      }
      let delivered = 0, dup = 0;
      for (let i = 0; i < counts.length; i++) { delivered += counts[i]!; if (counts[i]! > 1) dup++; }
      const k1 = kstat_snapshot('port');
      const discarded = k1['port.events_discarded']! - k0['port.events_discarded']!;
      assert.equal(dup, 0, 'no event delivered twice');
      assert.equal(delivered + discarded, new Int32Array(sent)[0], `sent = delivered + discarded (${reopened} ports closed under load)`);
      assert.equal(k1['port.events_sent']! - k0['port.events_sent']!, new Int32Array(sent)[0], 'kstat events_sent');
      assert.equal(portsInUse(), base, 'every port struct released (owners let go at exit)');
      assert.equal(k1['port.lanes'], k0['port.lanes'], 'every lane back in the pool');
      assert.equal(k1['port.waiters'], 0, 'nobody left asleep');
    } catch (e) {
      console.log(`# seed ${s} (replay: UKERN_SEED=${s})`);
      throw e;
    }
  });
}
