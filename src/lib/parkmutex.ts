/**
 * A sleeping mutex for LWPs built on lwp_park / lwp_unpark, the way NetBSD's
 * libpthread builds pthread_mutex: an uncontended lock is one
 * compare-and-swap in user memory; a contended one parks, and unlock
 * unparks one registered waiter. No wake-up is lost: an unpark that comes
 * before the park is left pending by the kernel and the park returns at
 * once (EALREADY), after which the waiter tries again.
 *
 * Its state lives in a SharedArrayBuffer that every LWP using it maps:
 * [lock, list spin lock, waiter count, waiter lids...].
 */
import { lwp_park, lwp_unpark, lwp_self, SysError } from '../sys/index.js';

const LOCK = 0, SPIN = 1, NWAIT = 2, LIST = 3;

export class ParkMutex {
  readonly sab: SharedArrayBuffer;
  private readonly w: Int32Array;
  private readonly cap: number;

  /** A new mutex for up to `maxWaiters` LWPs, or one over existing shared state. */
  constructor(from: SharedArrayBuffer | number = 64) {
    this.sab = typeof from === 'number' ? new SharedArrayBuffer((LIST + from) * 4) : from;
    this.w = new Int32Array(this.sab);
    this.cap = this.w.length - LIST;
  }

  tryLock(): boolean { return Atomics.compareExchange(this.w, LOCK, 0, 1) === 0; }

  lock(): void {
    if (this.tryLock()) return;
    const me = lwp_self();
    for (;;) {
      this.register(me);
      if (this.tryLock()) { this.unregister(me); return; }
      try {
        lwp_park(null);
      } catch (e) {
        // EALREADY: an unpark was pending; EINTR: lwp_wakeup. Either way, try again.
        if (!(e instanceof SysError) || (e.code !== 'EALREADY' && e.code !== 'EINTR')) throw e;
      }
      this.unregister(me);
      if (this.tryLock()) return;
    }
  }

  unlock(): void {
    Atomics.store(this.w, LOCK, 0);
    const t = this.pop();
    if (t !== 0) {
      try { lwp_unpark(t); } catch (e) { if (!(e instanceof SysError) || e.code !== 'ESRCH') throw e; }
    }
  }

  private spin(): void { while (Atomics.compareExchange(this.w, SPIN, 0, 1) !== 0); }
  private unspin(): void { Atomics.store(this.w, SPIN, 0); }

  private register(lid: number): void {
    this.spin();
    const n = this.w[NWAIT]!;
    let present = false;
    for (let i = 0; i < n; i++) if (this.w[LIST + i] === lid) { present = true; break; }
    if (!present) {
      if (n >= this.cap) { this.unspin(); throw new RangeError('ParkMutex: more waiters than its capacity'); }
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
