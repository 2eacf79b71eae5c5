/**
 * lio_listio(3C): a list of requests submitted in one call. LIO_WAIT
 * returns when every one is done (EINTR for a signal: the requests go on;
 * EIO when one of them failed: aio_error says which); LIO_NOWAIT returns at
 * once, and its own sigevent is notified when the whole list is done.
 *
 * The list is all or nothing: every entry is copied in and checked, then
 * every request is made (allocated, its notification reserved) before any
 * is started; a failure part-way undoes what was made (EAGAIN past aio_max,
 * or a notification's errno), so no request of a failed call exists.
 *
 * The list's own notification is carried by a group request: an aioreq of
 * its own (OP_LIO, RF_GROUP: outside the counters and never collected by
 * aio_return) whose `nbytes` counts the members not yet done. Each member's
 * completion decrements it under the aio lock (aio_set_lio_hook); the last
 * one completes the group through the usual notifiers, so a group notifies
 * by port, kevent, signal or thread exactly as a request does, once, and
 * is freed right after.
 */
import { I32 } from '../kern/kmem.js';
import { sysenter } from '../kern/sysent.js';
import { fail, fail_status } from '../kern/errno.js';
import { copyin_i32, copyin_array, copyin_async_options, type AsyncOptions } from '../kern/copyin.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { run_sync, run_async, type SleepGen } from '../kern/sleeprun.js';
import { SIGEV_NONE } from '../timers/consts.js';
import {
  R, RS_ACTIVE, RS_DONE, RF_GROUP, OP_READ, OP_WRITE, OP_LIO, aio_lock, aio_publish_locked, aio_done_locked,
  aio_set_lio_hook, aio_free,
} from './aio.js';
import { copyin_aiocb, copyin_aio_sigevent, copyout_id, type aiocb, type aio_sigevent, type Cb } from './copy.js';
import { aio_make, aio_unmake, aio_go, fd_check } from './submit.js';
import { aio_wait, wait_outcome } from './wait.js';
import { LIO_WAIT, LIO_NOWAIT, LIO_READ, LIO_NOP, AIO_LISTIO_MAX } from './consts.js';

aio_set_lio_hook((h) => {
  const g = I32[h + R.lio]!;
  if (g === 0 || I32[g + R.state] !== RS_ACTIVE) return;
  if (--I32[g + R.nbytes]! > 0) return;
  aio_done_locked(g, 0);
  aio_free(g);
});

interface Lio { mode: number; cbs: Cb[]; group: Cb | null }

function copyin_lio(mode: unknown, list: unknown, sig: unknown, S: string): Lio {
  const m = copyin_i32(mode, 'mode', S);
  if (m !== LIO_WAIT && m !== LIO_NOWAIT) fail('EINVAL', S, `mode ${m}`);
  const a = copyin_array(list, 'list', S, AIO_LISTIO_MAX);
  const cbs: Cb[] = [];
  for (const e of a) {
    if (e === null || e === undefined) continue;
    const c = copyin_aiocb(e, -1, S);
    if (c.lioop !== LIO_NOP) cbs.push(c);
  }
  const ev = copyin_aio_sigevent(sig, S);
  for (const c of cbs) fd_check(c.fd, S);
  // A list with no I/O in it (empty, nulls, LIO_NOP only) is done at once: its
  // group is made all the same and completed at submission (lio_submit).
  const group = m === LIO_NOWAIT && ev.notify !== SIGEV_NONE
    ? { fd: -1, offset: 0, buf: null, nbytes: 0, ev, lioop: LIO_NOP, user: {} } : null;
  return { mode: m, cbs, group };
}

/** Makes every request (and the group), all or nothing: their handles. */
function make_all(l: Lio, S: string): { hs: number[]; g: number } {
  const hs: number[] = [];
  let g = 0;
  try {
    if (l.group !== null) {
      g = aio_make(l.group, OP_LIO, 0, S);
      I32[g + R.flags] = RF_GROUP;
      I32[g + R.nbytes] = l.cbs.length;
    }
    for (const c of l.cbs) hs.push(aio_make(c, c.lioop === LIO_READ ? OP_READ : OP_WRITE, g, S));
  } catch (e) {
    for (const h of hs) aio_unmake(h);
    if (g !== 0) aio_unmake(g);
    throw e;
  }
  return { hs, g };
}

/** Submits the list: the members' handles and ids. */
function lio_submit(l: Lio, S: string): { hs: number[]; ids: number[] } {
  const { hs, g } = make_all(l, S);
  if (g !== 0) {
    mutex_enter(aio_lock());
    aio_publish_locked(g, RS_ACTIVE);
    // No member to count down: the whole (empty) list is done now, and its
    // sigevent is notified now, as for a list whose last member completed.
    if (hs.length === 0) { aio_done_locked(g, 0); aio_free(g); }
    mutex_exit(aio_lock());
  }
  const ids = hs.map((h) => I32[h + R.id]!);
  for (let i = 0; i < hs.length; i++) aio_go(hs[i]!, l.cbs[i]!.buf);
  for (let i = 0; i < hs.length; i++) copyout_id(l.cbs[i]!.user, ids[i]!);
  return { hs, ids };
}

function* lio_wait_gen(hs: number[], ids: number[], async: boolean, S: string): SleepGen<void> {
  const err = wait_outcome(yield* aio_wait(hs, ids, hs.length, Infinity, async, S));
  if (err !== 0) fail_status(err, S); // EINTR (no timeout here)
  mutex_enter(aio_lock());
  let failed = 0;
  for (let i = 0; i < hs.length; i++) {
    const h = hs[i]!;
    if (I32[h + R.id] === ids[i] && I32[h + R.state] === RS_DONE && I32[h + R.res]! < 0) failed++;
  }
  mutex_exit(aio_lock());
  if (failed > 0) fail('EIO', S, `${failed} of ${hs.length} requests failed (aio_error says which)`);
}

/**
 * lio_listio(3C). EINVAL: a bad mode or opcode, more than AIO_LISTIO_MAX
 * entries, or an entry's own EINVAL; EBADF; EAGAIN past aio_max (nothing
 * queued then); LIO_WAIT: EINTR, or EIO when a request failed.
 */
export function lio_listio(mode: number, list: readonly (aiocb | null)[], sig: aio_sigevent | null): void {
  sysenter();
  const S = 'lio_listio';
  const l = copyin_lio(mode, list, sig, S);
  const { hs, ids } = lio_submit(l, S);
  if (l.mode === LIO_WAIT) run_sync(lio_wait_gen(hs, ids, false, S));
}

/** The Promise form of {@link lio_listio}: with LIO_WAIT it settles when the list is done. */
export async function lio_listio_async(mode: number, list: readonly (aiocb | null)[], sig: aio_sigevent | null, opts?: AsyncOptions): Promise<void> {
  sysenter();
  const S = 'lio_listio';
  const signal = copyin_async_options(opts, 'lio_listio_async');
  const l = copyin_lio(mode, list, sig, S);
  const { hs, ids } = lio_submit(l, S);
  if (l.mode === LIO_WAIT) await run_async(lio_wait_gen(hs, ids, true, S), signal);
}
