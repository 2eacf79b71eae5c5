/**
 * A robust sleeping mutex for LWPs built on lwp_park / lwp_unpark, the way
 * NetBSD's libpthread builds pthread_mutex: an uncontended lock is one
 * compare-and-swap in user memory; a contended one parks, and unlock
 * unparks one registered waiter. No wake-up is lost: an unpark that comes
 * before the park is left pending by the kernel and the park returns at
 * once (EALREADY), after which the waiter tries again.
 *
 * Robust, like a PTHREAD_MUTEX_ROBUST mutex. The lock word holds the
 * owner's lid, so a locker can ask the kernel whether the owner still lives
 * (lwp_kill(lid, 0): ESRCH once it has exited, zombie or freed; lids are
 * not reused before the lid space wraps, ~10^9 LWPs later). When the owner
 * exited without unlocking (returned, threw, lwp_exit, its worker died),
 * the next locker takes the lock over and gets a SysError EOWNERDEAD while
 * holding it; it repairs the protected state and calls consistent(). An
 * unlock without consistent() makes the mutex unusable: every later lock
 * is ENOTRECOVERABLE. Waiters park with a bounded sleep (OWNER_POLL_MS) and
 * look at the owner again when it ends, so a dead owner's waiters are never
 * left blocked. lwp_wakeup interrupts a waiting lock() with EINTR (it does
 * not hold the mutex then).
 *
 * Its state lives in a SharedArrayBuffer that every LWP using it maps:
 * [owner lid, list spin lock, waiter count, state, waiter lids...].
 */
import { lwp_park, lwp_unpark, lwp_self, lwp_kill, SysError } from '../sys/index.js';
import { int_arg } from './args.js';
import { realtime_deadline, wait_options, abort_check, type WaitOptions } from './waitopts.js';
import { arg_type, ArgRangeError } from '../sys/ext.js';

const LOCK = 0, SPIN = 1, NWAIT = 2, STATE = 3, LIST = 4;
/** STATE values: taken over from a dead owner and not yet made consistent; given up. */
const S_OK = 0, S_OWNERDEAD = 1, S_NOTRECOVERABLE = 2;
/** How long a waiter sleeps before it looks whether the owner died. */
const OWNER_POLL_MS = 25;

function owner_alive(lid: number): boolean {
  try { lwp_kill(lid, 0); return true; } catch (e) {
    if (e instanceof SysError && e.code === 'ESRCH') return false;
    throw e;
  }
}

/**
 * A robust mutex for LWPs over lwp_park / lwp_unpark, its state in a
 * SharedArrayBuffer (`sab`) that each LWP using it wraps with
 * `new ParkMutex(sab)`. A lock whose holder's LWP ended without unlocking
 * is taken over with an EOWNERDEAD error; call consistent() then.
 */
export class ParkMutex {
  readonly sab: SharedArrayBuffer;
  private readonly w: Int32Array;
  private readonly cap: number;

  /** A new mutex for up to `maxWaiters` LWPs, or one over existing shared state. */
  constructor(from: SharedArrayBuffer | number = 64) {
    if (typeof from === 'number') int_arg(from, 'maxWaiters', 'ParkMutex', 1, 1 << 20);
    else if (!(from instanceof SharedArrayBuffer)) arg_type('ParkMutex', 'the argument must be a SharedArrayBuffer or a number of waiters');
    else if (from.byteLength < (LIST + 1) * 4) throw new ArgRangeError('ParkMutex', `the SharedArrayBuffer holds ${from.byteLength} bytes, at least ${(LIST + 1) * 4} needed`);
    this.sab = typeof from === 'number' ? new SharedArrayBuffer((LIST + from) * 4) : from;
    this.w = new Int32Array(this.sab);
    this.cap = this.w.length - LIST;
  }

  /**
   * Takes the mutex if free (true) or held by a live LWP (false). Throws
   * EOWNERDEAD holding it when its owner died, ENOTRECOVERABLE when it was
   * given up.
   */
  tryLock(): boolean {
    this.checkUsable();
    const me = lwp_self();
    const v = Atomics.compareExchange(this.w, LOCK, 0, me);
    if (v === 0) return true;
    if (v === me) throw new SysError('EDEADLK', 'ParkMutex.tryLock', `LWP ${me} already holds it`);
    this.takeOverIfDead(v, me, 'ParkMutex.tryLock');
    return false;
  }

  /**
   * Takes the mutex, parking while another LWP holds it. EOWNERDEAD (held):
   * the previous owner died holding it. ENOTRECOVERABLE: it was given up.
   * EINTR: lwp_wakeup interrupted the wait (not held). EDEADLK: the caller
   * holds it already. With `timeout` (milliseconds, the class layer's rule:
   * 0 tries once), ETIMEDOUT when it was not taken in that time
   * (pthread_mutex_timedlock). A blocking call: `signal` is looked at
   * before the wait only (an AbortError when already aborted).
   */
  lock(options?: WaitOptions): void {
    const { timeout, signal } = wait_options(options, 'ParkMutex.lock');
    abort_check(signal);
    if (this.tryLock()) return;
    const end = timeout === undefined || timeout === Infinity ? Infinity : performance.now() + timeout;
    const me = lwp_self();
    for (;;) {
      const left = end - performance.now();
      if (!(left > 0)) throw new SysError('ETIMEDOUT', 'ParkMutex.lock', `not taken within ${timeout} ms`);
      this.register(me);
      if (this.tryLockRegistered(me)) return;
      try {
        lwp_park(realtime_deadline(Math.min(OWNER_POLL_MS, left)));
      } catch (e) {
        // EALREADY: an unpark was pending; ETIMEDOUT: look at the owner again.
        if (!(e instanceof SysError) || (e.code !== 'EALREADY' && e.code !== 'ETIMEDOUT')) {
          this.unregister(me);
          throw e; // EINTR (lwp_wakeup) and anything unexpected
        }
      }
      this.unregister(me);
      if (this.tryLock()) return;
    }
  }

  /** pthread_mutex_consistent: the caller, holding the mutex after EOWNERDEAD, has repaired it. EINVAL otherwise. */
  consistent(): void {
    const me = lwp_self();
    if (Atomics.load(this.w, LOCK) !== me || Atomics.load(this.w, STATE) !== S_OWNERDEAD) {
      throw new SysError('EINVAL', 'ParkMutex.consistent', 'not held after EOWNERDEAD');
    }
    Atomics.store(this.w, STATE, S_OK);
  }

  /**
   * Releases the mutex. EPERM when the caller does not hold it. Released
   * after EOWNERDEAD without consistent(), it becomes unrecoverable and
   * every waiter is woken to learn so.
   */
  unlock(): void {
    const me = lwp_self();
    if (Atomics.load(this.w, LOCK) !== me) throw new SysError('EPERM', 'ParkMutex.unlock', `LWP ${me} does not hold it`);
    const giveUp = Atomics.load(this.w, STATE) === S_OWNERDEAD;
    if (giveUp) Atomics.store(this.w, STATE, S_NOTRECOVERABLE);
    Atomics.store(this.w, LOCK, 0);
    do {
      const t = this.pop();
      if (t === 0) break;
      if (wake(t) && !giveUp) break; // a waiter that has exited is skipped: wake the next
    } while (true);
  }

  /** Whether the mutex was given up (ENOTRECOVERABLE). */
  get notRecoverable(): boolean { return Atomics.load(this.w, STATE) === S_NOTRECOVERABLE; }

  private checkUsable(): void {
    if (Atomics.load(this.w, STATE) === S_NOTRECOVERABLE) {
      throw new SysError('ENOTRECOVERABLE', 'ParkMutex.lock', 'a previous owner died and it was never made consistent');
    }
  }

  private tryLockRegistered(me: number): boolean {
    try {
      if (this.tryLock()) { this.unregister(me); return true; }
      return false;
    } catch (e) {
      this.unregister(me);
      throw e;
    }
  }

  /** The owner `v` has exited: take the lock over from it and throw EOWNERDEAD (held). */
  private takeOverIfDead(v: number, me: number, syscall: string): void {
    if (owner_alive(v)) return;
    if (Atomics.compareExchange(this.w, LOCK, v, me) !== v) return; // someone else was quicker
    Atomics.store(this.w, STATE, S_OWNERDEAD);
    throw new SysError('EOWNERDEAD', syscall, `LWP ${v} exited holding it; call consistent() once repaired`);
  }

  private spin(): void { while (Atomics.compareExchange(this.w, SPIN, 0, 1) !== 0); }
  private unspin(): void { Atomics.store(this.w, SPIN, 0); }

  private register(lid: number): void {
    this.spin();
    const n = this.w[NWAIT]!;
    let present = false;
    for (let i = 0; i < n; i++) if (this.w[LIST + i] === lid) { present = true; break; }
    if (!present) {
      if (n >= this.cap) { this.unspin(); throw new SysError('EAGAIN', 'ParkMutex.lock', `more waiters than its capacity (${this.cap})`); }
      this.w[LIST + n] = lid;
      this.w[NWAIT] = n + 1;
    }
    this.unspin();
  }
  private unregister(lid: number): void {
    this.spin();
    const n = this.w[NWAIT]!;
    for (let i = 0; i < n; i++) {
      if (this.w[LIST + i] === lid) { this.w[LIST + i] = this.w[LIST + n - 1]!; this.w[NWAIT] = n - 1; break; }
    }
    this.unspin();
  }
  private pop(): number {
    this.spin();
    const n = this.w[NWAIT]!;
    let t = 0;
    if (n > 0) { t = this.w[LIST]!; this.w[LIST] = this.w[LIST + n - 1]!; this.w[NWAIT] = n - 1; }
    this.unspin();
    return t;
  }
}

/** Unparks LWP t; false when it no longer exists. */
function wake(t: number): boolean {
  try { lwp_unpark(t); return true; } catch (e) {
    if (e instanceof SysError && e.code === 'ESRCH') return false;
    throw e;
  }
}

