/**
 * Event ports, single thread and Promise forms: every errno path of the
 * ports syscalls, FIFO order, getn's max/nget/timeout rules, alert mode,
 * close, waiter priority, the event-source interface and the Port class.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as sys from '../src/ports/sys.js';
import * as facade from '../src/sys/index.js';
import { close } from '../src/kern/sys.js';
import { SysError, KernelAssertionError } from '../src/kern/errno.js';
import { fd_alloc, fileops, DTYPE_PORT } from '../src/kern/fdtab.js';
import { kstat_snapshot } from '../src/kern/kstat.js';
import {
  port_source_register, port_alloc_event, port_init_event, port_set_event, port_send_event,
  port_remove_done_event, port_free_event, port_event_fd, port_event_info, type PortDelivery,
} from '../src/ports/source.js';
import { Port } from '../src/ukern/port.js';
import { within } from './helpers.js';

const code = (c: string) => (e: unknown) => e instanceof SysError && e.code === c;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const ms = (n: number) => ({ tv_sec: Math.floor(n / 1000), tv_nsec: (n % 1000) * 1e6 });

test('ukern/sys exports the ports calls and illumos constants', () => {
  for (const f of ['port_create', 'port_associate', 'port_dissociate', 'port_send', 'port_sendn', 'port_alert',
    'port_get', 'port_getn', 'port_get_async', 'port_getn_async'] as const) assert.equal(typeof facade[f], 'function', f);
  assert.deepEqual([sys.PORT_SOURCE_AIO, sys.PORT_SOURCE_TIMER, sys.PORT_SOURCE_USER, sys.PORT_SOURCE_FD,
    sys.PORT_SOURCE_ALERT, sys.PORT_SOURCE_MQ, sys.PORT_SOURCE_FILE], [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(sys.PORT_ALERT_SET, 1); assert.equal(sys.PORT_ALERT_UPDATE, 2);
  assert.equal(sys.PORT_ALLOC_DEFAULT, 0); assert.equal(sys.PORT_ALLOC_PRIVATE, 1);
  assert.equal(sys.PORT_ALLOC_CACHED, 2); assert.equal(sys.PORT_ALLOC_SCACHED, 4);
});

test('send / get: FIFO, every field, user data bit-exact', () => {
  const p = sys.port_create();
  const users = [0, -0, 1.5, -(2 ** 60), 2 ** 53 + 2, Infinity, -Infinity, Number.MIN_VALUE, NaN];
  users.forEach((u, i) => sys.port_send(p, i - 3, u));
  for (let i = 0; i < users.length; i++) {
    const ev = sys.port_get(p, ZERO);
    assert.equal(ev.portev_source, sys.PORT_SOURCE_USER);
    assert.equal(ev.portev_events, i - 3);
    assert.equal(ev.portev_object, 0);
    assert.ok(Object.is(ev.portev_user, users[i]), `user ${users[i]}`);
  }
  assert.throws(() => sys.port_get(p, ZERO), code('ETIME'));
  sys.port_send(p, 0x7fffffff, 0); sys.port_send(p, -0x80000000, 0); sys.port_send(p, 0xffffffff, 0);
  assert.deepEqual(sys.port_getn(p, 3, 3).map((e) => e.portev_events), [0x7fffffff, -0x80000000, -1]);
  close(p);
});

test('EBADF for no descriptor, EBADFD for a descriptor that is not a port, on every call', () => {
  const p = sys.port_create();
  close(p);
  const other = fd_alloc(99, 0, 'test'); // a kernel descriptor of another type
  for (const [fd, c] of [[p, 'EBADF'], [12345, 'EBADF'], [-1, 'EBADF'], [1.5, 'EBADF'], [other, 'EBADFD']] as const) {
    assert.throws(() => sys.port_send(fd, 1, 1), code(c), `send ${fd}`);
    assert.throws(() => sys.port_get(fd, ZERO), code(c), `get ${fd}`);
    assert.throws(() => sys.port_getn(fd, 1, 1, ZERO), code(c), `getn ${fd}`);
    assert.throws(() => sys.port_getn(fd, 0, 0), code(c), `getn count ${fd}`);
    assert.throws(() => sys.port_alert(fd, sys.PORT_ALERT_SET, 1, 1), code(c), `alert ${fd}`);
    assert.throws(() => sys.port_associate(fd, sys.PORT_SOURCE_FD, 0, 1, 0), code(c), `associate ${fd}`);
    assert.throws(() => sys.port_dissociate(fd, sys.PORT_SOURCE_FD, 0), code(c), `dissociate ${fd}`);
  }
  assert.throws(() => close(p), code('EBADF'), 'closing twice');
  close(other);
});

test('wrong JS types are TypeErrors', () => {
  const p = sys.port_create();
  assert.throws(() => sys.port_send('x' as unknown as number, 1, 1), TypeError);
  assert.throws(() => sys.port_send(p, '1' as unknown as number, 1), TypeError);
  assert.throws(() => sys.port_send(p, 1, {} as unknown as number), TypeError);
  assert.throws(() => sys.port_getn(p, '1' as unknown as number, 1), TypeError);
  assert.throws(() => sys.port_get(p, 5 as unknown as sys_Timespec), TypeError);
  assert.throws(() => sys.port_get(p, { tv_sec: '1' } as unknown as sys_Timespec), TypeError);
  assert.throws(() => sys.port_sendn(p as unknown as number[], 1, 1), TypeError);
  assert.throws(() => sys.port_alert(p, 1, 1, 'u' as unknown as number), TypeError);
  close(p);
});
type sys_Timespec = { tv_sec: number; tv_nsec: number };

test('port_getn: max 0 counts, nget 0 returns at once, nget > max is EINVAL', () => {
  const p = sys.port_create();
  for (let i = 0; i < 5; i++) sys.port_send(p, i, i);
  const c = sys.port_getn(p, 0, 0);
  assert.equal(c.length, 0); assert.equal(c.nget, 5);
  assert.equal(sys.port_getn(p, 0, 99).nget, 5, 'max 0 counts even when nget > max');
  const z = sys.port_getn(p, 10, 0);
  assert.equal(z.length, 0); assert.equal(z.nget, 0);
  const z2 = sys.port_getn(p, 10, 0, null);
  assert.equal(z2.nget, 0, 'nget 0 with no timeout still returns at once');
  assert.throws(() => sys.port_getn(p, 2, 3), code('EINVAL'));
  const two = sys.port_getn(p, 2, 1);
  assert.deepEqual(two.map((e) => e.portev_user), [0, 1]); assert.equal(two.nget, 2);
  const rest = sys.port_getn(p, 10, 2);
  assert.deepEqual(rest.map((e) => e.portev_user), [2, 3, 4], 'takes up to max, not just nget');
  assert.equal(sys.port_getn(p, 0, 0).nget, 0);
  close(p);
});

test('port_getn timeouts: zero polls, positive returns what arrived, invalid is EINVAL only when it would wait', async () => {
  const p = sys.port_create();
  assert.equal(sys.port_getn(p, 4, 2, ZERO).nget, 0, 'poll on an empty port');
  sys.port_send(p, 1, 1);
  const polled = sys.port_getn(p, 4, 3, ZERO);
  assert.equal(polled.nget, 1, 'a zero timeout with too few events succeeds with what is there');
  sys.port_send(p, 2, 2);
  const t0 = performance.now();
  const timed = sys.port_getn(p, 4, 3, ms(30));
  const el = performance.now() - t0;
  assert.equal(timed.nget, 1, 'a positive timeout returns what arrived (C ETIME)');
  assert.ok(el >= 29, `waited ${el} ms`);
  for (const bad of [{ tv_sec: -1, tv_nsec: 0 }, { tv_sec: 0, tv_nsec: -1 }, { tv_sec: 0, tv_nsec: 1e9 }, { tv_sec: 1.5, tv_nsec: 0 }]) {
    assert.throws(() => sys.port_getn(p, 4, 1, bad), code('EINVAL'), JSON.stringify(bad));
    assert.throws(() => sys.port_get(p, bad), code('EINVAL'));
    await assert.rejects(sys.port_get_async(p, bad), code('EINVAL'));
    sys.port_send(p, 7, 7);
    assert.equal(sys.port_get(p, bad).portev_user, 7, 'a bad timeout is ignored when the call need not wait');
  }
  const t1 = performance.now();
  assert.throws(() => sys.port_get(p, ms(20)), code('ETIME'));
  assert.ok(performance.now() - t1 >= 19);
  assert.throws(() => sys.port_get(p, ZERO), code('ETIME'), 'port_get poll on an empty port');
  close(p);
});

test('port_alert: SET, UPDATE and EBUSY, EINVAL for both flags, removal with events 0; queued events stay', async () => {
  const p = sys.port_create();
  sys.port_send(p, 10, 10);
  assert.throws(() => sys.port_alert(p, sys.PORT_ALERT_SET | sys.PORT_ALERT_UPDATE, 1, 1), code('EINVAL'));
  sys.port_alert(p, sys.PORT_ALERT_UPDATE, 5, 55);
  assert.throws(() => sys.port_alert(p, sys.PORT_ALERT_UPDATE, 6, 66), code('EBUSY'));
  for (let i = 0; i < 3; i++) {
    const a = sys.port_get(p);
    assert.deepEqual(a, { portev_events: 5, portev_source: sys.PORT_SOURCE_ALERT, portev_object: 0, portev_user: 55 });
  }
  const an = sys.port_getn(p, 8, 4);
  assert.equal(an.nget, 1, 'getn in alert mode: one alert event, at once');
  assert.equal(an[0]!.portev_source, sys.PORT_SOURCE_ALERT);
  assert.equal((await sys.port_get_async(p)).portev_source, sys.PORT_SOURCE_ALERT);
  sys.port_alert(p, sys.PORT_ALERT_SET, 6, 66);
  assert.equal(sys.port_get(p).portev_user, 66, 'SET overwrites the alert data');
  assert.equal(sys.port_getn(p, 0, 0).nget, 1, 'the queued event stayed behind the alert');
  sys.port_alert(p, sys.PORT_ALERT_SET | sys.PORT_ALERT_UPDATE, 0, 0); // removal ignores the flags
  assert.equal(sys.port_get(p).portev_user, 10);
  sys.port_alert(p, 0, 0, 0); // removing when not in alert mode is fine
  assert.throws(() => sys.port_get(p, ZERO), code('ETIME'));
  sys.port_alert(p, sys.PORT_ALERT_UPDATE, 1, 1);
  close(p);
});

test('alert wakes every waiter, each with one alert event; later getters too', async () => {
  const p = sys.port_create();
  const waiters = [sys.port_get_async(p), sys.port_getn_async(p, 4, 4), sys.port_get_async(p, ms(10000))];
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(kstat_snapshot('port')['port.waiters'], 3);
  sys.port_alert(p, sys.PORT_ALERT_SET, 9, 99);
  const got = await within(Promise.all(waiters), 5000, 'alert to wake waiters');
  for (const g of got) {
    const ev = Array.isArray(g) ? (assert.equal(g.length, 1), g[0]!) : g;
    assert.equal(ev.portev_source, sys.PORT_SOURCE_ALERT); assert.equal(ev.portev_user, 99);
  }
  assert.equal(sys.port_get(p).portev_events, 9);
  close(p);
});

test('each waiter keeps the alert that woke it: a SET made before it runs does not change it (illumos copies the alert to each waiter); later getters get the new one', async () => {
  const p = sys.port_create();
  // Async waiters (their continuations run only after this synchronous code) and one LWP blocked in port_get.
  const sab = new SharedArrayBuffer(16), a = new Float64Array(sab);
  const mod = 'data:text/javascript,' + encodeURIComponent(`import * as sys from ${JSON.stringify(new URL('../src/sys/index.js', import.meta.url).href)};
export function get(arg) { const e = sys.port_get(arg.p, null); const a = new Float64Array(arg.sab); a[0] = e.portev_events; a[1] = e.portev_user; return 0; }`);
  const lid = facade.lwp_create({ module: mod, export: 'get', arg: { p, sab } });
  const waiters = [sys.port_get_async(p), sys.port_getn_async(p, 4, 4)];
  const until = Date.now() + 20_000;
  while (kstat_snapshot('port')['port.waiters']! < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
  assert.equal(kstat_snapshot('port')['port.waiters'], 3, 'three waiters asleep');
  sys.port_alert(p, sys.PORT_ALERT_SET, 9, 99);
  sys.port_alert(p, sys.PORT_ALERT_SET, 7, 77);
  const got = await within(Promise.all(waiters), 5000, 'the alert to wake the waiters');
  for (const g of got) {
    const ev = Array.isArray(g) ? (assert.equal(g.length, 1), g[0]!) : g;
    assert.deepEqual([ev.portev_source, ev.portev_events, ev.portev_user], [sys.PORT_SOURCE_ALERT, 9, 99]);
  }
  await within(facade.lwp_wait_async(lid), 10_000, 'the LWP');
  assert.deepEqual([a[0], a[1]], [9, 99], 'the LWP blocked in port_get');
  assert.deepEqual([sys.port_get(p).portev_events, sys.port_get(p).portev_user], [7, 77], 'a getter after it: the alert now set');
  close(p);
});

test('close wakes waiters with EBADFD and discards queued events; the descriptor is then EBADF', async () => {
  const p = sys.port_create();
  const w = [sys.port_get_async(p), sys.port_getn_async(p, 3, 2)];
  await new Promise((r) => setTimeout(r, 20));
  sys.port_send(p, 1, 1); // one event: satisfies neither (nget 1 takes it) — then close
  await new Promise((r) => setTimeout(r, 5));
  const before = kstat_snapshot('port')['port.events_discarded']!;
  const q = sys.port_create();
  sys.port_send(q, 1, 1); sys.port_send(q, 2, 2);
  close(q);
  assert.equal(kstat_snapshot('port')['port.events_discarded']! - before, 2);
  close(p);
  const r = await within(Promise.allSettled(w), 5000, 'close to wake waiters');
  assert.equal(r[0]!.status, 'fulfilled', 'the nget 1 waiter took the event');
  assert.equal(r[1]!.status, 'rejected');
  assert.ok(code('EBADFD')((r[1] as PromiseRejectedResult).reason));
  assert.throws(() => sys.port_get(p, ZERO), code('EBADF'));
});

test('the waiter wanting fewest events is served first (port_queue_thread order)', async () => {
  const p = sys.port_create();
  const order: number[] = [];
  const mk = (nget: number) => sys.port_getn_async(p, nget, nget).then((evs) => { order.push(nget); return evs; });
  const w3 = mk(3); const w1 = mk(1); const w2 = mk(2);
  await new Promise((r) => setTimeout(r, 20));
  sys.port_send(p, 1, 1);
  await within(w1, 5000, 'nget 1 waiter');
  assert.deepEqual(order, [1]);
  sys.port_send(p, 2, 2); sys.port_send(p, 3, 3);
  await within(w2, 5000, 'nget 2 waiter');
  assert.deepEqual(order, [1, 2]);
  sys.port_send(p, 4, 4); sys.port_send(p, 5, 5);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(order, [1, 2], 'two events do not satisfy nget 3');
  sys.port_send(p, 6, 6);
  assert.deepEqual((await within(w3, 5000, 'nget 3 waiter')).map((e) => e.portev_user), [4, 5, 6]);
  close(p);
});

test('port_sendn: count reached, per-port codes, EINVAL for an empty list', () => {
  const a = sys.port_create(), b = sys.port_create(), dead = sys.port_create();
  close(dead);
  const other = fd_alloc(99, 0, 'test');
  const errors: (string | null)[] = [];
  assert.equal(sys.port_sendn([a, dead, b, other, 7, 'x' as unknown as number], 3, 33, errors), 2);
  assert.deepEqual(errors, [null, 'EBADF', null, 'EBADFD', 'EBADF', 'EBADF']);
  assert.equal(sys.port_sendn([a, b], 4, 44), 2, 'the errors array is optional');
  assert.deepEqual(sys.port_getn(a, 5, 2).map((e) => e.portev_user), [33, 44]);
  assert.deepEqual(sys.port_getn(b, 5, 2).map((e) => e.portev_events), [3, 4]);
  assert.throws(() => sys.port_sendn([], 1, 1), code('EINVAL'));
  assert.equal(sys.port_sendn(new Array(sys.PORT_MAX_LIST).fill(a), 1, 1), sys.PORT_MAX_LIST);
  assert.equal(sys.port_getn(a, 0, 0).nget, sys.PORT_MAX_LIST);
  close(a); close(b); close(other);
});

test('port_sendn with more than PORT_MAX_LIST ports sends them all, in chunks, as illumos libc does', () => {
  const a = sys.port_create(), b = sys.port_create(), dead = sys.port_create();
  close(dead);
  const n = 2 * sys.PORT_MAX_LIST + 3;
  // Mostly a, a b at both chunk edges and the end, a closed port in the second chunk.
  const list = new Array<number>(n).fill(a);
  const bAt = [sys.PORT_MAX_LIST - 1, sys.PORT_MAX_LIST, 2 * sys.PORT_MAX_LIST, n - 1];
  for (const i of bAt) list[i] = b;
  list[sys.PORT_MAX_LIST + 5] = dead;
  const errors: (string | null)[] = [];
  assert.equal(sys.port_sendn(list, 9, 99, errors), n - 1, 'every live port reached, across chunks');
  assert.equal(errors.length, n);
  assert.deepEqual(errors.map((e, i) => [i, e]).filter(([, e]) => e !== null), [[sys.PORT_MAX_LIST + 5, 'EBADF']]);
  assert.equal(sys.port_getn(b, 0, 0).nget, bAt.length);
  assert.equal(sys.port_getn(a, 0, 0).nget, n - 1 - bAt.length);
  assert.throws(() => sys.port_sendn('x' as unknown as number[], 1, 1), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => sys.port_sendn([a], 1, 1, {} as unknown as string[]), { code: 'ERR_INVALID_ARG_TYPE' });
  close(a); close(b);
});

test('port_associate / port_dissociate: EINVAL for PORT_SOURCE_USER and sources nobody provides', () => {
  const p = sys.port_create();
  for (const s of [sys.PORT_SOURCE_USER, sys.PORT_SOURCE_ALERT, 0, 99, -1]) {
    assert.throws(() => sys.port_associate(p, s, 1, 1, 0), code('EINVAL'), `associate source ${s}`);
    assert.throws(() => sys.port_dissociate(p, s, 1), code('EINVAL'), `dissociate source ${s}`);
  }
  close(p);
});

// A fake kernel source (PORT_SOURCE_MQ) exercising the source interface.
const mqLog: string[] = [];
let mqDeny = 0;
port_source_register(sys.PORT_SOURCE_MQ, {
  name: 'test-mq',
  deliver(d: PortDelivery) {
    mqLog.push(`deliver ${d.arg} ${d.events}`);
    if (mqDeny > 0) { mqDeny--; return false; }
    d.events = d.events * 10 + d.arg;
    return true;
  },
  closed(port: number) { mqLog.push(`closed ${port}`); },
  associate(port, object, events, user) {
    const s = port_alloc_event(port, sys.PORT_ALLOC_DEFAULT, sys.PORT_SOURCE_MQ, 'port_associate');
    port_init_event(s, object, user, 0, false);
    port_set_event(s, events);
    port_send_event(s);
  },
  dissociate(_port, object) { mqLog.push(`dissociate ${object}`); },
});

test('event sources: reserve, init, send at most once, deliver callback updates events and can deny', () => {
  const p = sys.port_create();
  mqLog.length = 0;
  const s = port_alloc_event(p, sys.PORT_ALLOC_SCACHED, sys.PORT_SOURCE_MQ);
  assert.equal(port_event_fd(s), p);
  port_init_event(s, 42, 4.25, 7, true);
  port_set_event(s, 3);
  assert.equal(port_send_event(s), true);
  assert.equal(port_send_event(s), false, 'at most once while queued');
  assert.equal(port_event_info(s).queued, true);
  assert.equal(sys.port_getn(p, 0, 0).nget, 1);
  mqDeny = 1;
  assert.equal(sys.port_getn(p, 4, 1, ZERO).nget, 0, 'a denied event is not delivered');
  assert.equal(sys.port_getn(p, 0, 0).nget, 1, '... and stays queued');
  const ev = sys.port_get(p);
  assert.deepEqual(ev, { portev_events: 37, portev_source: sys.PORT_SOURCE_MQ, portev_object: 42, portev_user: 4.25 });
  assert.deepEqual(mqLog, ['deliver 7 3', 'deliver 7 3']);
  assert.equal(port_event_info(s).queued, false, 'SCACHED: back with the source after delivery');
  assert.equal(port_send_event(s), true, 'and can be queued again');
  assert.equal(port_remove_done_event(s), true, 'withdrawn');
  assert.equal(port_remove_done_event(s), false, 'nothing left to withdraw');
  assert.throws(() => sys.port_get(p, ZERO), code('ETIME'));
  // a denied-only queue makes a blocking getter wait for a new event, not spin
  port_send_event(s);
  mqDeny = 1;
  const t0 = performance.now();
  assert.equal(sys.port_getn(p, 4, 1, ms(30)).nget, 0);
  assert.ok(performance.now() - t0 >= 29);
  mqDeny = 0;
  assert.equal(sys.port_get(p).portev_events, 37);
  port_free_event(s);
  assert.throws(() => port_send_event(s), KernelAssertionError, 'a freed slot is not a slot');
  // PRIVATE slots are never queued; bad flags are EINVAL
  const pr = port_alloc_event(p, sys.PORT_ALLOC_PRIVATE, sys.PORT_SOURCE_MQ);
  assert.throws(() => port_send_event(pr), code('EINVAL'));
  port_free_event(pr);
  assert.throws(() => port_alloc_event(p, 3, sys.PORT_SOURCE_MQ), code('EINVAL'));
  assert.throws(() => port_alloc_event(p, 8, sys.PORT_SOURCE_MQ), code('EINVAL'));
  // a DEFAULT slot is freed by delivery; free of a queued DEFAULT slot withdraws it
  const d = port_alloc_event(p, sys.PORT_ALLOC_DEFAULT, sys.PORT_SOURCE_MQ);
  port_init_event(d, 1, 2); port_send_event(d); port_free_event(d);
  assert.equal(sys.port_getn(p, 0, 0).nget, 0);
  // associate reaches the registered source
  sys.port_associate(p, sys.PORT_SOURCE_MQ, 5, 6, 7);
  assert.deepEqual(sys.port_get(p), { portev_events: 6, portev_source: sys.PORT_SOURCE_MQ, portev_object: 5, portev_user: 7 });
  sys.port_dissociate(p, sys.PORT_SOURCE_MQ, 5);
  assert.ok(mqLog.includes('dissociate 5'));
  // close: queued SCACHED events return to the source, which hears closed() and frees
  const k = port_alloc_event(p, sys.PORT_ALLOC_SCACHED, sys.PORT_SOURCE_MQ);
  port_init_event(k, 1, 1, 1, true); port_send_event(k);
  const inUse = kstat_snapshot('port')['port.ports']!;
  close(p);
  assert.ok(mqLog.includes(`closed ${p}`));
  assert.equal(port_event_fd(k), 0, 'the slot outlives its port, which reads as closed');
  assert.equal(port_send_event(k), false, 'sending on a closed port queues nothing');
  assert.equal(kstat_snapshot('port')['port.ports'], inUse, 'the port struct waits for its last slot');
  port_free_event(k);
  assert.equal(kstat_snapshot('port')['port.ports'], inUse - 1, '... and goes with it');
});

test('a port is readable while events are queued (descriptor-table readable op)', () => {
  const p = sys.port_create();
  const ops = fileops(DTYPE_PORT)!;
  assert.equal(ops.name, 'port');
  const { fd_get } = { fd_get: (fd: number) => fd }; void fd_get;
  // readable() is given the port handle: find it through a send/count round trip
  sys.port_send(p, 1, 1); sys.port_send(p, 1, 1);
  assert.equal(sys.port_getn(p, 0, 0).nget, 2);
  close(p);
});

test('kstat counters: ports, sent, delivered, waits, alerts', async () => {
  const k0 = kstat_snapshot('port');
  const p = sys.port_create();
  sys.port_send(p, 1, 1); sys.port_send(p, 1, 1);
  sys.port_getn(p, 2, 2);
  const w = sys.port_get_async(p);
  await new Promise((r) => setTimeout(r, 10));
  sys.port_alert(p, 1, 1, 1);
  await w;
  const k1 = kstat_snapshot('port');
  assert.equal(k1['port.ports']! - k0['port.ports']!, 1);
  assert.equal(k1['port.created']! - k0['port.created']!, 1);
  assert.equal(k1['port.events_sent']! - k0['port.events_sent']!, 2);
  assert.equal(k1['port.events_delivered']! - k0['port.events_delivered']!, 2);
  assert.equal(k1['port.waits']! - k0['port.waits']!, 1);
  assert.equal(k1['port.waiters'], k0['port.waiters']);
  assert.equal(k1['port.alerts']! - k0['port.alerts']!, 1);
  close(p);
  assert.equal(kstat_snapshot('port')['port.ports']! - k0['port.ports']!, 0);
});

test('async forms keep the event loop running while they wait', async () => {
  // Shown by causality, not by timer counts (which a starved machine cannot
  // promise): the event the getter waits for is sent from the event loop,
  // after it has turned three times with the get pending. A get that
  // blocked the thread would never see it (and time out below).
  const p = sys.port_create();
  let turns = 0;
  let settled = false;
  const w = sys.port_get_async(p).finally(() => { settled = true; });
  const turn = (): void => {
    if (settled) return;
    if (++turns < 3) { setImmediate(turn); return; }
    sys.port_send(p, 3, 3);
  };
  setImmediate(turn);
  assert.equal((await within(w, 5000, 'async get')).portev_user, 3);
  assert.equal(turns, 3, 'the loop turned while the getter waited');
  close(p);
});

test('async forms keep the process alive while pending (fresh process)', () => {
  const mod = new URL('../src/ports/sys.js', import.meta.url).href;
  const src = `import * as s from ${JSON.stringify(mod)};
    const p = s.port_create();
    setTimeout(() => s.port_send(p, 1, 77), 100).unref();
    s.port_get_async(p).then((e) => console.log('got', e.portev_user));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /got 77/);
  void fileURLToPath;
});

test('Port class: send/get with ms timeouts, getn, alert, pending, async iterator, AbortSignal, dispose', async () => {
  const etime = (e: unknown): boolean => e instanceof SysError && e.code === 'ETIME';
  const aborted = (e: unknown): boolean => e instanceof Error && e.name === 'AbortError' && (e as { code?: string }).code === 'ABORT_ERR' && (e.cause as Error).message === 'stop';
  {
    using port = new Port();
    port.sendSync(1, 10); await port.send(2, 20);
    assert.equal(port.pending, 2);
    assert.equal(port.getSync().portev_user, 10);
    assert.deepEqual(port.getnSync(8).map((e) => e.portev_user), [20]);
    assert.throws(() => port.getSync({ timeout: 0 }), etime, 'a get that times out is ETIME');
    assert.throws(() => port.getSync({ timeout: 15 }), etime);
    assert.equal(port.getnSync(4, 2, { timeout: 10 }).length, 0, 'a getn that times out gives what arrived');
    assert.equal((await port.getn(4, 2, { timeout: 10 })).length, 0);
    await assert.rejects(port.get({ timeout: 10 }), etime);
    for (const t of [-1, NaN]) assert.throws(() => port.getSync({ timeout: t }), (e: unknown) => (e as { code?: string }).code === 'ERR_OUT_OF_RANGE');
    port.sendSync(3, 30);
    assert.equal((await port.get({ timeout: Infinity })).portev_user, 30);
    const ac = new AbortController();
    const w = port.get({ signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 10);
    await assert.rejects(within(w, 5000, 'abort'), aborted);
    assert.throws(() => port.getSync({ signal: ac.signal }), aborted);
    for (let i = 0; i < 5; i++) port.sendSync(i, i);
    setTimeout(() => port.alert(1), 10);
    const seen: number[] = [];
    for await (const ev of port) seen.push(ev.portev_user);
    assert.deepEqual(seen, [0, 1, 2, 3, 4], 'iteration ends at the alert');
    port.unalert();
    const errs = Port.sendAll([port], 1, 1);
    assert.deepEqual(errs, [null]);
    assert.ok(facade.kstat('port')['port.events_sent']! > 0);
  }
  {
    // Leaving for await early loses no event: the iterator takes no more than it yields.
    using port = new Port();
    for (let i = 0; i < 10; i++) port.sendSync(1, i);
    const got: number[] = [];
    for await (const ev of port) { got.push(ev.portev_user); if (got.length === 3) break; }
    assert.deepEqual(got, [0, 1, 2]);
    assert.deepEqual(port.getnSync(64, 1, { timeout: 0 }).map((e) => e.portev_user), [3, 4, 5, 6, 7, 8, 9]);
  }
  const p2 = new Port();
  const it = p2.events();
  const nx = it.next();
  p2.close();
  assert.equal((await within(nx, 5000, 'iterator end on close')).done, true);
  p2[Symbol.dispose]();
});
