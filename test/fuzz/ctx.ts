/**
 * The fuzzing thread's own objects (ports, kqueues, timers, child LWPs).
 *
 * Why a context: hostile calls need real descriptors to be dangerous (a
 * kqueue fd passed to port_send, a closed port, a timer id used as an fd),
 * and the run must end with everything it created gone so that kernel
 * memory can be compared with its baseline. Ids are recorded as the calls
 * that create them return; objects closed behind our back (a re-entrant
 * close, another LWP closing a reused number) are tolerated at cleanup:
 * only SysErrors are expected there, anything else is a finding.
 */
import { openSync, writeSync, unlinkSync } from 'node:fs';
import { tmpdir, constants } from 'node:os';
import { join } from 'node:path';
import * as sys from '../../src/sys/index.js';

const EINPROGRESS = constants.errno.EINPROGRESS;
/** Read once: os.tmpdir() reads three environment variables at every call (5 % of a fuzzing LWP's CPU in a profile). */
const TMP = tmpdir();

export class Ctx {
  readonly ports: number[] = [];
  readonly kqs: number[] = [];
  readonly timers: number[] = [];
  /** Child LWPs this thread created, with what it knows of them. */
  readonly children = new Map<number, { suspended: boolean; detached: boolean }>();
  /** Descriptors this thread closed (stale numbers). */
  readonly closed: number[] = [];
  /** A temp file of this thread's, the only OS descriptor AIO requests are aimed at (-1: none). */
  file = -1;
  /** aio_ids of requests this thread submitted, recorded by the aiocbs' aio_id setter (calls.ts); collected at cleanup. */
  readonly aios: number[] = [];
  /** Lids of the other fuzzing LWPs (for wakeup/unpark/kill only). */
  readonly peers: readonly number[];
  /** The fixture module for child LWPs. */
  readonly childModule: URL;
  /** True when several LWPs fuzz at once (lwp_wait(0) would steal children). */
  readonly concurrent: boolean;

  constructor(peers: readonly number[], childModule: URL, concurrent: boolean) {
    this.peers = peers;
    this.childModule = childModule;
    this.concurrent = concurrent;
  }

  /** Creates one port, one kqueue and one timer (each may fail under exhaustion). */
  setup(): void {
    tryPush(this.ports, () => sys.port_create());
    tryPush(this.kqs, () => sys.kqueue());
    tryPush(this.timers, () => sys.timer_create(sys.CLOCK_MONOTONIC, null));
    if (this.file < 0) {
      const path = join(TMP, `ukern-fuzz-${process.pid}-${sys.lwp_self()}-${Date.now()}`);
      this.file = openSync(path, 'w+');
      unlinkSync(path);
      writeSync(this.file, new Uint8Array(4096).fill(7));
    }
  }

  pick<T>(list: readonly T[], i: number, dflt: T): T {
    return list.length === 0 ? dflt : list[i % list.length]!;
  }
  port(i = 0): number { return this.pick(this.ports, i, -1); }
  kq(i = 0): number { return this.pick(this.kqs, i, -1); }
  timer(i = 0): number { return this.pick(this.timers, i, -1); }
  closedFd(i = 0): number { return this.pick(this.closed, i, 0x7fff0000); }
  aioId(i = 0): number { return this.pick(this.aios, i, 0x7fff0001); }
  child(i = 0): number {
    const lids = [...this.children.keys()];
    return this.pick(lids, i, 0x7fff);
  }

  /** Records what a successful call created or destroyed. */
  note(name: string, args: readonly unknown[], result: unknown): void {
    if (name === 'port_create' && typeof result === 'number') this.ports.push(result);
    else if (name === 'kqueue' && typeof result === 'number') this.kqs.push(result);
    else if (name === 'timer_create' && typeof result === 'number') this.timers.push(result);
    else if (name === 'lwp_create' && typeof result === 'number') {
      const f = typeof args[1] === 'number' ? args[1] : 0;
      this.children.set(result, { suspended: (f & sys.LWP_SUSPENDED) !== 0, detached: (f & sys.LWP_DETACHED) !== 0 });
    } else if (name === 'close' && typeof args[0] === 'number') this.closed.push(args[0]);
    else if (name === 'timer_delete' && typeof args[0] === 'number') remove(this.timers, args[0]);
    else if (name === 'lwp_wait' && typeof result === 'number') this.children.delete(result);
    else if (name === 'lwp_detach' && typeof args[0] === 'number') {
      const c = this.children.get(args[0]); if (c) c.detached = true;
    } else if (name === 'lwp_suspend' && typeof args[0] === 'number') {
      const c = this.children.get(args[0]); if (c) c.suspended = true;
    } else if (name === 'lwp_continue' && typeof args[0] === 'number') {
      const c = this.children.get(args[0]); if (c) c.suspended = false;
    }
  }

  /**
   * Closes, deletes and collects everything created. Returns a problem
   * description when something other than a SysError was thrown.
   */
  cleanup(): string | null {
    const problems: string[] = [];
    const quiet = (what: string, f: () => unknown): void => {
      try { f(); } catch (e) { if (!(e instanceof sys.SysError)) problems.push(`${what}: ${String(e)}`); }
    };
    // AIO first: each request done (cancelled or waited for) and collected, then the file closed.
    // A request the cancel could not stop (in flight in the engine) is waited
    // for; on a loaded machine that can take seconds (a fsync behind other
    // processes' writes), so the wait retries up to 20 s and says so, rather
    // than leave the request uncollected for the kmem check to report as a leak.
    for (const id of this.aios) {
      quiet(`aio_cancel(${id})`, () => sys.aio_cancel(this.file, id));
      const until = Date.now() + 20_000;
      let err = 0;
      for (;;) {
        try { err = sys.aio_error(id); } catch (e) { if (!(e instanceof sys.SysError)) problems.push(`aio_error(${id}): ${String(e)}`); break; }
        if (err !== EINPROGRESS || Date.now() >= until) break;
        quiet(`aio_suspend(${id})`, () => sys.aio_suspend([id], { tv_sec: 2, tv_nsec: 0 }));
      }
      if (err === EINPROGRESS) problems.push(`aio ${id} still in progress 20 s after its cancel`);
      quiet(`aio_return(${id})`, () => sys.aio_return(id));
    }
    this.aios.length = 0;
    if (this.file >= 0) { quiet('close(file)', () => sys.close(this.file)); this.file = -1; }
    for (const fd of [...this.ports, ...this.kqs]) if (!this.closed.includes(fd)) quiet(`close(${fd})`, () => sys.close(fd));
    for (const t of this.timers) quiet(`timer_delete(${t})`, () => sys.timer_delete(t));
    for (const lid of this.children.keys()) quiet(`lwp_continue(${lid})`, () => sys.lwp_continue(lid));
    for (const [lid, c] of this.children) if (!c.detached) quiet(`lwp_wait(${lid})`, () => waitRetrying(lid));
    quiet('sigprocmask(SIG_SETMASK, {})', () => sys.sigprocmask(sys.SIG_SETMASK, sys.sigemptyset())); // takes what it blocked
    this.ports.length = 0; this.kqs.length = 0; this.timers.length = 0; this.children.clear(); this.closed.length = 0;
    return problems.length ? problems.join('; ') : null;
  }
}

/** lwp_wait, again when a peer's lwp_wakeup interrupted it (EINTR), a few times. */
function waitRetrying(lid: number): void {
  for (let i = 0; ; i++) {
    try { sys.lwp_wait(lid); return; } catch (e) {
      if (!(e instanceof sys.SysError) || e.code !== 'EINTR' || i === 20) throw e;
    }
  }
}

function tryPush(list: number[], f: () => number): void {
  try { list.push(f()); } catch (e) { if (!(e instanceof sys.SysError)) throw e; }
}
function remove(list: number[], v: number): void {
  const i = list.indexOf(v);
  if (i >= 0) list.splice(i, 1);
}
