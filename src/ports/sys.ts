/**
 * Event ports under their illumos names (port_create(3C), port_associate(3C),
 * port_send(3C), port_alert(3C), port_get(3C)): the `ukern/sys` contract of
 * docs/sys.md. Blocking calls have `_async` Promise forms.
 */
import { I32 } from '../kern/kmem.js';
import { sysenter } from '../kern/sysent.js';
import { fail, fail_status } from '../kern/errno.js';
import {
  copyin_int, copyin_i32, copyin_user, copyin_array, copyin_check, arg_type, copyin_async_options, copyin_file_obj, copyin_fault,
  type AsyncOptions, type FileObjCopy,
} from '../kern/copyin.js';
import { fd_alloc, DTYPE_PORT } from '../kern/fdtab.js';
import { tunables } from '../kern/boot.js';
import { kstat_add } from '../kern/kstat.js';
import { sq_wake_all_stamped } from '../kern/sleepq.js';
import { run_sync, run_async } from '../kern/sleeprun.js';
import {
  P, E, ports, port_id_word, kev_set_user, port_set_alert_user, PQ_ALERT,
  C_PORTS, C_CREATED, C_ALERTS,
} from './mem.js';
import {
  PORT_SOURCE_USER, PORT_ALLOC_DEFAULT, PORT_ALERT_INVALID, PORT_ALERT_UPDATE, PORT_MAX_LIST, PORT_SOURCE_FILE, PORT_SOURCE_FD,
} from './consts.js';
import { intr_host_load } from '../intr/kapi.js';
import {
  port_enter, port_enter_code, port_exit, slot_alloc_locked, enqueue_locked, port_readable_notify, send_user_locked,
} from './queue.js';
import { port_source_ops } from './source.js';
import { lane_push, lane_before_locked, lane_send_locked } from './lane.js';
import { lane_ctl_sync_locked } from './lane-locked.js';
import { dwait_slack_wanted, dwait_thread_setup } from '../timers/kapi.js';
import { getn_gen, getn_fast, get_fast, getn_fast_entered, timeout_copyin, count_arg } from './getn.js';
import type { port_event_t, port_event_list, file_obj_t } from './types.js';
import { mono_now, type Timespec } from '../kern/time.js';
import './close.js';
import './msg-sys.js'; // the message source's delivery callback, in every thread that takes
import './src-file.js'; // PORT_SOURCE_FILE, in every thread (the intr thread's consumer, retrieval)
import { diag_publish, dc_port_alert } from '../kern/diag.js';

export * from './consts.js';
export type { port_event_t, port_event_list, file_obj_t } from './types.js';
export { port_spin_tune } from './spin.js';

/**
 * A port descriptor argument (a C int): a wrong type is a TypeError, any
 * other number that is not an open port's descriptor EBADF (when looked up).
 * Descriptors are primitives, so this is the copy.
 */
function port_arg(v: unknown, syscall: string): number {
  if (typeof v !== 'number') arg_type(syscall, `port must be a number, got type ${typeof v}`);
  return v;
}

/** Creates a port. EAGAIN beyond port_max_ids ports; EMFILE when the descriptor table is full. */
export function port_create(): number {
  sysenter();
  const h = ports.alloc();
  if (h === 0) fail('EAGAIN', 'port_create', `port_max_ids (${ports.count}) ports in use`);
  const maxev = tunables().port_max_events!;
  let fd: number;
  // The port's own fields are written before the descriptor is published
  // (fd_alloc's init), not after under its lock: a close of the number by
  // another LWP in between freed the port, and these stores then landed in
  // a freed, possibly reused, struct (found by the kern-core review).
  try {
    fd = fd_alloc(DTYPE_PORT, h, 'port_create', (n, file) => {
      I32[h + P.maxev] = maxev;
      I32[h + P.fd] = n;
      I32[h + P.file] = file;
      Atomics.store(I32, port_id_word(h), n);
    });
  } catch (e) { ports.free(h); throw e; }
  kstat_add(C_PORTS); kstat_add(C_CREATED);
  return fd;
}

/** The `object` argument: a number, or for PORT_SOURCE_FILE a file_obj_t (copied in once, here). */
function object_copyin(src: number, object: unknown, syscall: string): number | FileObjCopy {
  if (src === PORT_SOURCE_FILE && typeof object === 'object' && object !== null) return copyin_file_obj(object, 'object', syscall);
  return copyin_user(object, 'object', syscall);
}

/**
 * Associates an object of an event source with a port. PORT_SOURCE_USER (and
 * every source no subsystem provides yet) is EINVAL, as the man page says
 * for a source that is not valid; the source checks the rest.
 */
export function port_associate(port: number, source: number, object: number | file_obj_t, events: number, user: number): void {
  sysenter();
  const fd = port_arg(port, 'port_associate');
  const src = copyin_i32(source, 'source', 'port_associate');
  const obj = object_copyin(src, object, 'port_associate');
  const ev = copyin_int(events, 'events', 'port_associate') | 0;
  const u = copyin_user(user, 'user', 'port_associate');
  port_exit(port_enter(fd, 'port_associate'));
  // An OS source's association makes host calls under the port lock: loaded first in a thread that has not.
  if (src === PORT_SOURCE_FD || src === PORT_SOURCE_FILE) intr_host_load();
  const ops = port_source_ops(src);
  if (typeof obj !== 'number') {
    if (ops?.associate_obj === undefined) fail('EINVAL', 'port_associate', `source ${src} takes no struct object`);
    ops.associate_obj(fd, obj, ev, u);
    return;
  }
  if (ops?.associate === undefined) fail('EINVAL', 'port_associate', `source ${src} cannot be associated`);
  ops.associate(fd, obj, ev, u);
}

/** Removes an association (EINVAL for sources that have none). */
export function port_dissociate(port: number, source: number, object: number | file_obj_t): void {
  sysenter();
  const fd = port_arg(port, 'port_dissociate');
  const src = copyin_i32(source, 'source', 'port_dissociate');
  const obj = object_copyin(src, object, 'port_dissociate');
  port_exit(port_enter(fd, 'port_dissociate'));
  if (src === PORT_SOURCE_FD || src === PORT_SOURCE_FILE) intr_host_load(); // (as port_associate)
  const ops = port_source_ops(src);
  if (typeof obj !== 'number') {
    if (ops?.dissociate_obj === undefined) fail('EINVAL', 'port_dissociate', `source ${src} takes no struct object`);
    ops.dissociate_obj(fd, obj);
    return;
  }
  if (ops?.dissociate === undefined) fail('EINVAL', 'port_dissociate', `source ${src} cannot be dissociated`);
  ops.dissociate(fd, obj);
}

/** Queues a PORT_SOURCE_USER event on h (lock held); releases the lock. */
function send_locked(h: number, events: number, user: number, syscall: string): void {
  const s = slot_alloc_locked(h, PORT_ALLOC_DEFAULT, PORT_SOURCE_USER, syscall);
  I32[s + E.events] = events;
  kev_set_user(s, user);
  const tell = enqueue_locked(h, s); // counts it in events_sent
  port_exit(h);
  if (tell) port_readable_notify(h);
}

/** Sends a user event (PORT_SOURCE_USER). EBADF, EBADFD, EAGAIN (port_max_events or slots exhausted). */
export function port_send(port: number, events: number, user: number): void {
  sysenter();
  // The copy-in of copyin_int and copyin_user, inline for the common case (an int
  // and a number): this is every send's path, so it is kept to one call
  // below (lane_push), short for a fresh LWP's interpreter.
  if (typeof events === 'number' && typeof user === 'number' && (events | 0) === events) {
    if (lane_push(port, events, user)) return;
    port_send_locked(port, events, user);
    return;
  }
  port_send_locked(port, copyin_int(events, 'events', 'port_send') | 0, copyin_user(user, 'user', 'port_send'));
}

/** port_send when the lane did not take the event (arguments copied in). */
function port_send_locked(port: number, ev: number, u: number): void {
  if (lane_push(port, ev, u)) return;
  lane_before_locked(port);
  const h = port_enter(port, 'port_send');
  if (lane_send_locked(h, port, ev, u)) return;
  const tell = send_user_locked(h, ev, u, 'port_send');
  port_exit(h);
  if (tell) port_readable_notify(h);
}

/**
 * Sends a user event to every port of the list. Returns how many it reached;
 * per-port failures (EBADF, EBADFD, EAGAIN) are not thrown: `errors`, when
 * given, receives the code per port, null where the event was sent. EINVAL
 * for an empty list. A list longer than PORT_MAX_LIST is sent in chunks of
 * PORT_MAX_LIST ports, as the illumos libc function does around the system
 * call (which refuses longer lists); the result is the sum over the chunks.
 */
export function port_sendn(ports: readonly number[], events: number, user: number, errors?: (string | null)[]): number {
  sysenter();
  // Copy in: the list (length and each entry read once), the scalars; the
  // errors array is only written, at the end, with no lock held (copyout).
  const list = copyin_array(ports, 'ports', 'port_sendn');
  let isarr = false;
  try { isarr = Array.isArray(errors); } catch (e) { copyin_fault(e, errors, 'errors', 'port_sendn'); }
  if (errors !== undefined && !isarr) arg_type('port_sendn', 'errors must be an array');
  const ev = copyin_int(events, 'events', 'port_sendn') | 0;
  const u = copyin_user(user, 'user', 'port_sendn');
  const n = list.length;
  if (n === 0) fail('EINVAL', 'port_sendn', 'nent 0');
  const codes = new Array<string | null>(n);
  let reached = 0;
  for (let base = 0; base < n; base += PORT_MAX_LIST) {
    reached += sendn_chunk(list, base, Math.min(n, base + PORT_MAX_LIST), ev, u, codes);
  }
  if (errors !== undefined) {
    // Copy-out: an array that cannot take the codes (frozen, a trap that
    // refuses) is C's EFAULT; a user exception from a trap is the user's.
    copyin_check('port_sendn');
    try {
      for (let i = 0; i < n; i++) errors[i] = codes[i]!;
    } catch (e) {
      if (e instanceof TypeError) fail('EFAULT', 'port_sendn', `errors: ${e.message}`);
      throw e;
    }
  }
  return reached;
}

/** One system call's worth of port_sendn: ports list[from..to). Per-port codes into `codes`. */
function sendn_chunk(list: readonly unknown[], from: number, to: number, ev: number, u: number, codes: (string | null)[]): number {
  let reached = 0;
  for (let i = from; i < to; i++) {
    const fd = list[i];
    let code: string | null = null;
    const h = typeof fd === 'number' ? port_enter_code(fd, 'port_sendn') : 'EBADF';
    if (typeof h !== 'number') code = h;
    else {
      try { send_locked(h, ev, u, 'port_sendn'); } catch (e) { code = (e as { code?: string }).code ?? 'EIO'; }
    }
    if (code === null) reached++;
    codes[i] = code;
  }
  return reached;
}

/**
 * Sets or clears alert mode. events 0 clears it (whatever the flags);
 * otherwise PORT_ALERT_SET sets or overwrites, PORT_ALERT_UPDATE sets or
 * fails with EBUSY when already set; both flags at once is EINVAL. Setting
 * it wakes every waiting getter with the alert event; queued events stay.
 */
export function port_alert(port: number, flags: number, events: number, user: number): void {
  sysenter();
  const fd = port_arg(port, 'port_alert');
  const fl = copyin_i32(flags, 'flags', 'port_alert');
  const ev = copyin_int(events, 'events', 'port_alert') | 0;
  const u = copyin_user(user, 'user', 'port_alert');
  const h = port_enter(fd, 'port_alert');
  const f = I32[h + P.flags]!;
  if (ev === 0) {
    I32[h + P.flags] = f & ~PQ_ALERT;
    port_exit(h);
    diag_publish(dc_port_alert, () => ({ port: fd, flags: fl, events: 0, user: u }));
    return;
  }
  if ((fl & PORT_ALERT_INVALID) === PORT_ALERT_INVALID) { port_exit(h); fail('EINVAL', 'port_alert', `flags ${fl}`); }
  if (fl === PORT_ALERT_UPDATE && (f & PQ_ALERT)) { port_exit(h); fail('EBUSY', 'port_alert', 'port already in alert mode'); }
  I32[h + P.flags] = f | PQ_ALERT;
  I32[h + P.alertEvents] = ev;
  port_set_alert_user(h, u);
  I32[h + P.alertGen]!++;
  // Each waiter keeps this alert (getn.ts), whatever another sets before it runs.
  sq_wake_all_stamped(h + P.wqh, ev, u);
  lane_ctl_sync_locked(h);
  port_exit(h);
  kstat_add(C_ALERTS);
  diag_publish(dc_port_alert, () => ({ port: fd, flags: fl, events: ev, user: u }));
}

/** Retrieves one event, waiting up to `timeout` (null/undefined: forever; zero: poll). ETIME when none came. */
export function port_get(port: number, timeout?: Timespec | null): port_event_t {
  sysenter();
  const tns = timeout_copyin(timeout, 'port_get');
  const t0 = tns > 0 ? mono_now() : -1; // (a timeout runs from the call's entry: getn.ts GetnReq)
  const fast = get_fast(port, 'port_get', tns, t0);
  if (fast === null) fail_status('ETIME', 'port_get', 'timeout expired'); // a poll found nothing
  if (typeof fast === 'object') return fast;
  try {
    return run_sync(getn_gen(port, { max: 1, nget: 1, tns, t0, one: true, async: false, syscall: 'port_get', needNew: fast ?? -1, entered: getn_fast_entered() }))[0]!;
  } finally {
    if (dwait_slack_wanted) dwait_thread_setup();
  }
}

/**
 * Retrieves at least `nget` and at most `max` events, in FIFO order; the
 * array's `nget` is its length. Fewer than nget returned means the timeout
 * expired (C's ETIME, not thrown: no event taken is lost), the call polled,
 * or sources denied or withdrew some of the nget events it took as it
 * delivered them (a stale association, a deleted timer: the rest is
 * returned, as illumos' port_getn does; a take that delivers none waits
 * on), or another getter took some between two passes of a take of more
 * than 64 with messages (docs/sys.md). `max` 0 takes
 * nothing and sets `nget` to the number of events queued; `nget` 0 returns
 * [] at once; `nget` > `max` > 0 is EINVAL (docs/sys.md).
 */
export function port_getn(port: number, max: number, nget: number, timeout?: Timespec | null): port_event_list {
  sysenter();
  const mx = count_arg(max, 'max', 'port_getn');
  const ng = count_arg(nget, 'nget', 'port_getn');
  const tns = timeout_copyin(timeout, 'port_getn');
  const t0 = tns > 0 ? mono_now() : -1;
  const fast = getn_fast(port, mx, ng, 'port_getn', tns, t0);
  if (typeof fast === 'object') return fast;
  try {
    return run_sync(getn_gen(port, { max: mx, nget: ng, tns, t0, one: false, async: false, syscall: 'port_getn', needNew: fast ?? -1, entered: getn_fast_entered() }));
  } finally {
    if (dwait_slack_wanted) dwait_thread_setup();
  }
}

/** The Promise form of {@link port_get}: never blocks the event loop, keeps the process alive while pending. */
export async function port_get_async(port: number, timeout?: Timespec | null, opts?: AsyncOptions): Promise<port_event_t> {
  sysenter();
  const tns = timeout_copyin(timeout, 'port_get');
  const signal = copyin_async_options(opts, 'port_get');
  const t0 = tns > 0 ? mono_now() : -1;
  return (await run_async(getn_gen(port, { max: 1, nget: 1, tns, t0, one: true, async: true, syscall: 'port_get', needNew: -1, entered: false }), signal))[0]!;
}

/** The Promise form of {@link port_getn}. */
export async function port_getn_async(port: number, max: number, nget: number, timeout?: Timespec | null, opts?: AsyncOptions): Promise<port_event_list> {
  sysenter();
  const mx = count_arg(max, 'max', 'port_getn');
  const ng = count_arg(nget, 'nget', 'port_getn');
  const tns = timeout_copyin(timeout, 'port_getn');
  const signal = copyin_async_options(opts, 'port_getn');
  const t0 = tns > 0 ? mono_now() : -1;
  return run_async(getn_gen(port, { max: mx, nget: ng, tns, t0, one: false, async: true, syscall: 'port_getn', needNew: -1, entered: false }), signal);
}
