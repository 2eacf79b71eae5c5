/**
 * The `ukern/sys` calls of POSIX asynchronous I/O (the contract's
 * "Asynchronous I/O" section; errno semantics of POSIX and the illumos
 * aio manual pages). Each copies its arguments in once (copy.ts), checks
 * them, and only then takes the aio lock; requests are named by aio_id in
 * every LWP. lio_listio is in lio.ts.
 */
import { I32 } from '../kern/kmem.js';
import { sysenter } from '../kern/sysent.js';
import { fail, fail_status, errno_code } from '../kern/errno.js';
import { copyin_i32, copyin_array, copyin_deadline, copyin_async_options, type AsyncOptions } from '../kern/copyin.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { mono_now, type Timespec } from '../kern/time.js';
import { run_sync, run_async, type SleepGen } from '../kern/sleeprun.js';
import {
  R, RS_QUEUED, RS_ACTIVE, RS_DONE, RF_CANCELASKED, RF_GROUP, OP_READ, OP_WRITE, OP_FSYNC, OP_DSYNC,
  ECANCELED_NO, EINPROGRESS_NO, reqs, aio_lock, aio_lookup, aio_free, aio_done_locked, aio_settled, buf_drop, buf_ids,
} from './aio.js';
import { aio_engine, aio_engine_peek } from './engine.js';
import { copyin_aiocb, copyin_aio_id, copyout_id, type aiocb } from './copy.js';
import { aio_make, aio_go, fd_check } from './submit.js';
import { aio_wait, wait_outcome } from './wait.js';
import { AIO_CANCELED, AIO_NOTCANCELED, AIO_ALLDONE, O_SYNC, O_DSYNC } from './consts.js';
import { on_osclose } from '../kern/sys.js';
import { on_proc_exit, on_lwp_exit } from '../kern/proc.js';
import { cur } from '../kern/hdr.js';
import './notify.js';
import './sigev.js';

export * from './consts.js';
export type { aiocb, aio_sigevent } from './copy.js';
export { lio_listio, lio_listio_async } from './lio.js';


function submit1(cb: aiocb, op: number, S: string): void {
  sysenter();
  const c = copyin_aiocb(cb, op, S);
  fd_check(c.fd, S);
  const h = aio_make(c, op, 0, S);
  const id = I32[h + R.id]!;
  aio_go(h, c.buf);
  copyout_id(c.user, id);
}

/** aio_read(3C): queues a read of aio_nbytes at aio_offset into aio_buf. EAGAIN, EBADF, EINVAL. */
export function aio_read(cb: aiocb): void { submit1(cb, OP_READ, 'aio_read'); }
/** aio_write(3C). */
export function aio_write(cb: aiocb): void { submit1(cb, OP_WRITE, 'aio_write'); }
/** aio_fsync(3C): op O_SYNC (fsync) or O_DSYNC (fdatasync); EINVAL for another op. */
export function aio_fsync(op: number, cb: aiocb): void {
  sysenter();
  const o = copyin_i32(op, 'op', 'aio_fsync');
  if (o !== O_SYNC && o !== O_DSYNC) fail('EINVAL', 'aio_fsync', `op ${o}`);
  submit1(cb, o === O_DSYNC ? OP_DSYNC : OP_FSYNC, 'aio_fsync');
}

/** A live request by id (EINVAL for a stale or unknown one), after reaping what is ready. */
function request(id: number, S: string): number {
  aio_engine_peek()?.poll();
  const h = aio_lookup(id);
  if (h === 0) fail('EINVAL', S, `aio_id ${id}`);
  return h;
}

/** aio_error(3C): 0 when done, EINPROGRESS, ECANCELED, or the request's errno. EINVAL for no such request. */
export function aio_error(cb: aiocb | number): number {
  sysenter();
  const id = copyin_aio_id(cb, 'aio_error');
  const h = request(id, 'aio_error');
  // Lock-free: the state (and result) read, then the id checked again. A
  // request collected meanwhile by another LWP (aio_free clears the id
  // before the state) was EINPROGRESS when the id was re-checked only for a
  // done one: its freed or reused slot is not DONE.
  const st = Atomics.load(I32, h + R.state);
  const res = I32[h + R.res]!;
  if (Atomics.load(I32, h + R.id) !== id) fail('EINVAL', 'aio_error', `aio_id ${id}`);
  return st !== RS_DONE ? EINPROGRESS_NO : res < 0 ? -res : 0;
}

/**
 * aio_return(3C): the bytes transferred, once: the request is collected and
 * its id is stale afterwards (EINVAL). A request that failed throws its
 * errno (ECANCELED for a cancelled one), collected too; one not done yet is
 * EINPROGRESS and stays.
 */
export function aio_return(cb: aiocb | number): number {
  sysenter();
  const id = copyin_aio_id(cb, 'aio_return');
  const h = request(id, 'aio_return');
  mutex_enter(aio_lock());
  if (I32[h + R.id] !== id) { mutex_exit(aio_lock()); fail('EINVAL', 'aio_return', `aio_id ${id}`); }
  if (I32[h + R.state] !== RS_DONE) { mutex_exit(aio_lock()); fail('EINPROGRESS', 'aio_return', `aio_id ${id}`); }
  const res = I32[h + R.res]!;
  aio_free(h);
  mutex_exit(aio_lock());
  buf_drop(id);
  if (res < 0) fail(errno_code(-res), 'aio_return', `aio_id ${id}`);
  return res;
}

/** aio_cancel(3C) targets: one request (by id) or every request of fd (aio lock held). */
function targets_locked(fd: number, id: number): number[] {
  if (id !== 0) { const h = aio_lookup(id); return h === 0 ? [] : [h]; }
  const out: number[] = [];
  for (let i = 0; i < reqs.count; i++) {
    const h = reqs.handle(i);
    if (I32[h + R.id] !== 0 && I32[h + R.state] !== 0 && I32[h + R.fd] === fd) out.push(h);
  }
  return out;
}

/**
 * aio_cancel(3C): AIO_CANCELED when every named request still pending was
 * cancelled, AIO_NOTCANCELED when one is in progress and could not be,
 * AIO_ALLDONE when all were done. EBADF for a closed fd; EINVAL for a
 * request that is not fd's. Cancelled requests complete with ECANCELED and
 * are notified as usual. On io_uring a request in flight is asked to stop
 * (IORING_OP_ASYNC_CANCEL, e.g. a read of a pipe nobody writes): it counts
 * as cancelled when the host answers within 100 ms that it stopped it.
 */
export function aio_cancel(fd: number, cb: aiocb | number | null): number {
  sysenter();
  const S = 'aio_cancel';
  const f = copyin_i32(fd, 'fd', S, 'EBADF');
  const id = cb === null || cb === undefined ? 0 : copyin_aio_id(cb, S);
  fd_check(f, S);
  if (id !== 0) { const h = request(id, S); if (I32[h + R.fd] !== f) fail('EINVAL', S, `aio_id ${id} is not a request of fd ${f}`); }
  return aio_cancel_fd(f, id, S);
}

/** The cancel itself (no lock held): also close(fd)'s and process exit's. */
function aio_cancel_fd(fd: number, id: number, S: string): number {
  let canceled = 0;
  const active: number[] = [], activeIds: number[] = [];
  const eng = aio_engine_peek() ?? aio_engine();
  mutex_enter(aio_lock());
  for (const h of targets_locked(fd, id)) {
    const st = I32[h + R.state];
    if (st === RS_QUEUED) { aio_done_locked(h, -ECANCELED_NO); canceled++; }
    else if (st === RS_ACTIVE) { active.push(h); activeIds.push(I32[h + R.id]!); I32[h + R.flags]! |= RF_CANCELASKED; }
  }
  mutex_exit(aio_lock());
  if (active.length === 0) return canceled > 0 ? AIO_CANCELED : AIO_ALLDONE;
  let asked = false;
  for (let i = 0; i < active.length; i++) asked = eng.cancel(active[i]!, activeIds[i]!) || asked;
  // Not interruptible: close(fd) relies on this wait to keep an I/O thread
  // from touching the number once the host has closed it (on_osclose below),
  // and a signal taken here (one a cancelled request's SIGEV_SIGNAL generated
  // a moment ago, say) ended it at once: the I/O thread, still polling the
  // number, then read another file opened under it into the request's buffer.
  if (asked) run_sync(aio_wait(active, activeIds, active.length, mono_now() + 100e6, false, S, false));
  let notcanceled = 0;
  mutex_enter(aio_lock());
  for (let i = 0; i < active.length; i++) {
    const h = active[i]!;
    if (I32[h + R.id] === activeIds[i] && I32[h + R.state] === RS_DONE && I32[h + R.res] === -ECANCELED_NO) canceled++;
    else notcanceled++;
  }
  mutex_exit(aio_lock());
  return notcanceled > 0 ? AIO_NOTCANCELED : canceled > 0 ? AIO_CANCELED : AIO_ALLDONE;
}

function suspend_args(list: unknown, timeout: unknown, S: string): { hs: number[]; ids: number[]; deadline: number } {
  const a = copyin_array(list, 'list', S);
  const ids: number[] = [];
  for (const e of a) if (e !== null && e !== undefined) ids.push(copyin_aio_id(e, S));
  const deadline = copyin_deadline(timeout, S);
  aio_engine_peek()?.poll();
  return { hs: ids.map(aio_lookup), ids, deadline };
}

/**
 * aio_suspend(3C): returns when at least one request of the list is done
 * (null entries are ignored; a collected request counts as done). EAGAIN
 * when the timeout passes first, EINTR for a signal.
 */
export function aio_suspend(list: readonly (aiocb | number | null)[], timeout?: Timespec | null): void {
  sysenter();
  const { hs, ids, deadline } = suspend_args(list, timeout, 'aio_suspend');
  run_sync(suspend_gen(hs, ids, deadline, false));
}

function* suspend_gen(hs: number[], ids: number[], deadline: number, async: boolean): SleepGen<void> {
  const err = wait_outcome(yield* aio_wait(hs, ids, 1, deadline, async, 'aio_suspend'));
  if (err !== 0) fail_status(err, 'aio_suspend'); // EINTR, or EAGAIN: the timeout passed
}

/** The Promise form of {@link aio_suspend} (`{ signal }` aborts it). */
export async function aio_suspend_async(list: readonly (aiocb | number | null)[], timeout?: Timespec | null, opts?: AsyncOptions): Promise<void> {
  sysenter();
  const signal = copyin_async_options(opts, 'aio_suspend_async');
  const { hs, ids, deadline } = suspend_args(list, timeout, 'aio_suspend');
  await run_async(suspend_gen(hs, ids, deadline, true), signal);
}

/*
 * close(2) of a descriptor with requests pending: they are cancelled or
 * complete, never lost (POSIX leaves the choice). Queued ones are cancelled;
 * one in progress is asked to stop (io_uring: the host holds the file until
 * it completes, with ECANCELED if stopped in time; an I/O thread waiting for
 * a pipe gives up) and waited for up to 100 ms, so an I/O thread never
 * touches the number after the host has closed it (it could be reused).
 */
on_osclose((fd) => { if (reqs.inuse !== 0) aio_cancel_fd(fd, 0, 'close'); });

/*
 * Process exit with requests in flight: queued ones are cancelled (no I/O
 * thread starts them), ones in progress are asked to stop, without waiting:
 * nothing of ours blocks the exit (I/O threads wait in interruptible naps,
 * the io_uring is the host's and goes with the process).
 */
on_proc_exit(() => {
  if (reqs.inuse === 0) return;
  const eng = aio_engine_peek();
  const active: number[] = [];
  mutex_enter(aio_lock());
  for (let i = 0; i < reqs.count; i++) {
    const h = reqs.handle(i);
    const st = I32[h + R.state];
    if (I32[h + R.id] === 0 || (I32[h + R.flags]! & RF_GROUP) !== 0) continue;
    if (st === RS_QUEUED) aio_done_locked(h, -ECANCELED_NO);
    else if (st === RS_ACTIVE) { I32[h + R.flags]! |= RF_CANCELASKED; active.push(h); }
  }
  mutex_exit(aio_lock());
  for (const h of active) eng?.cancel(h, I32[h + R.id]!);
});

/*
 * An LWP that exits with io_uring requests in flight on its buffers: its
 * reference may be all that keeps a buffer's memory, and the host writes
 * into it by address. So its exit waits for them (up to 50 ms), then asks
 * the host to stop the rest and waits for that (up to 1 s): a read of a
 * pipe nobody writes then ends ECANCELED instead of writing, later, into
 * memory that may be gone. (The threads engine's I/O thread holds its own
 * reference while it performs a request.)
 */
function settle_mine(ms: number): number[] {
  const eng = aio_engine_peek();
  const end = Date.now() + ms, nap = new Int32Array(new SharedArrayBuffer(4));
  let left: number[] = [];
  for (;;) {
    eng?.poll();
    left = buf_ids().filter((id) => { const h = aio_lookup(id); return h !== 0 && !aio_settled(h, id); });
    if (left.length === 0 || Date.now() >= end) return left;
    Atomics.wait(nap, 0, 0, 1);
  }
}
on_lwp_exit((lid) => {
  const eng = aio_engine_peek();
  if (lid !== cur.lid || eng === undefined || eng.queued || buf_ids().length === 0) return;
  const left = settle_mine(50);
  for (const id of left) {
    const h = aio_lookup(id);
    if (h === 0) continue;
    mutex_enter(aio_lock());
    const active = I32[h + R.id] === id && I32[h + R.state] === RS_ACTIVE;
    if (active) I32[h + R.flags]! |= RF_CANCELASKED;
    mutex_exit(aio_lock());
    if (active) eng.cancel(h, id);
  }
  if (left.length !== 0) settle_mine(1000);
});
