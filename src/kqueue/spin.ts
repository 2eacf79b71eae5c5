/**
 * kevent's adaptive spin before it queues itself to sleep: the shared policy of kern/spin.ts
 * (spin only while the LWP that last queued on this kqueue is active, for a
 * bounded budget, with few spinners, while it pays), with kqueue's tunables
 * kq_spin_ns and kq_spinners and a per-kqueue score.
 */
import { availableParallelism } from 'node:os';
import { I32 } from '../kern/kmem.js';
import { define_tunable } from '../kern/options.js';
import { on_boot, tunables, ensure_booted } from '../kern/boot.js';
import { kstat_counter } from '../kern/kstat.js';
import { SpinDomain, spin_region } from '../kern/spin.js';
import { Q } from './knote.js';
import { kq_lock, kq_unlock } from './kern.js';

declare module '../kern/options.js' {
  interface BootOptions {
    /** Adaptive spin budget of kevent before it sleeps, ns (default 20000; 0: never spin). */
    kq_spin_ns?: number;
    /** Most threads spinning in kevent at once (default: the number of CPUs). */
    kq_spinners?: number;
  }
}
define_tunable('kq_spin_ns', 20_000, 0, 10_000_000);
define_tunable('kq_spinners', availableParallelism(), 0, 1024);

const domain = new SpinDomain(spin_region('kq_spin'), Q.spinScore, Q.spinTick,
  kstat_counter('kqueue', 'spin_hits'), kstat_counter('kqueue', 'spin_misses'), 4);

on_boot(() => { domain.setLimits(tunables().kq_spin_ns!, tunables().kq_spinners!); });

/** Changes the spin budget (ns) and/or the most concurrent spinners at run time. */
export function kq_spin_tune(o: { budgetNs?: number; maxSpinners?: number }): { budgetNs: number; maxSpinners: number } {
  ensure_booted();
  return domain.setLimits(o.budgetNs, o.maxSpinners, 'kq_spin_tune');
}

/**
 * kevent's spin before it queues itself to sleep (kqueue lock held; the
 * caller holds a reference): watches the pending count with the lock
 * dropped while the LWP that last queued on kq is active. True when
 * something is pending (lock held again either way).
 */
export function spin_poll(kq: number, deadline: number): boolean {
  kqPoll.kq = kq;
  return domain.poll(kq, I32[kq + Q.lastq]!, deadline, kqPoll);
}

/** spin_poll's target, this thread's one (a kevent polls one kqueue at a time): nothing is allocated per poll. */
const kqPoll = {
  kq: 0,
  ready(): boolean { return Atomics.load(I32, this.kq + Q.count) !== 0; },
  unlock(): void { kq_unlock(this.kq); },
  relock(): void { kq_lock(this.kq); },
};

