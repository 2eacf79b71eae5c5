/**
 * Adaptive spinning before a kevent caller sleeps. A blocking wake-up costs
 * ~25 us on these VMs (the idle vCPU is halted; shared/BASELINES.md) while
 * an answered spin costs well under 1 us, so, like illumos' adaptive
 * mutexes and our port_get, a waiter about to sleep spins first, but only
 *  - while the thread that last queued an event on this kqueue is running
 *    (or itself spinning in kevent), i.e. may trigger again soon;
 *  - for a bounded budget (tunable kq_spin_ns, 0 turns it off);
 *  - while fewer than kq_spinners threads spin kernel-wide;
 *  - while it pays: a per-kqueue score rises on answered spins and falls on
 *    wasted ones; below zero the waiter sleeps at once, probing one time in 32.
 * Async waiters never spin: they must not hold up their event loop.
 */
import { availableParallelism } from 'node:os';
import { I32, kregionCreate } from '../kern/kmem.js';
import { cur } from '../kern/hdr.js';
import { monoNow } from '../kern/time.js';
import { defineTunable } from '../kern/options.js';
import { onBoot, tunables, ensureBooted } from '../kern/boot.js';
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import type { SpinPolicy } from '../kern/sleepq.js';
import { lwp_byid, lwp_stat, LSONPROC, LSRUN } from '../lwp/lwp.js';
import { Q } from './knote.js';
import { lastWoken } from './kern.js';

declare module '../kern/options.js' {
  interface BootOptions {
    /** Adaptive spin budget of kevent before it sleeps, ns (default 20000; 0: never spin). */
    kq_spin_ns?: number;
    /** Most threads spinning in kevent at once (default: the number of CPUs). */
    kq_spinners?: number;
  }
}
defineTunable('kq_spin_ns', 20_000, 0, 10_000_000);
defineTunable('kq_spinners', availableParallelism(), 0, 1024);

// Words: [0] spinning now, [1] budget ns, [2] most spinners, then one word per LWP slot.
const NOW = 0, BUDGET = 1, MAX = 2, LWPS = 4;
const region = kregionCreate('kq_spin', (t) => LWPS + t.maxlwp!);
const C_HIT = kstat_counter('kqueue', 'spin_hits');
const C_MISS = kstat_counter('kqueue', 'spin_misses');
const SCORE_MAX = 16, SCORE_MIN = -16, MISS_COST = 4, PROBE_EVERY = 32;

onBoot(() => {
  I32[region.base + BUDGET] = tunables().kq_spin_ns!;
  I32[region.base + MAX] = tunables().kq_spinners!;
});

/** Changes the spin budget (ns) and/or the most concurrent spinners at run time. */
export function kq_spin_tune(o: { budgetNs?: number; maxSpinners?: number }): { budgetNs: number; maxSpinners: number } {
  ensureBooted();
  const b = region.base;
  if (o.budgetNs !== undefined) {
    if (!Number.isInteger(o.budgetNs) || o.budgetNs < 0 || o.budgetNs > 10_000_000) throw new RangeError('budgetNs must be an integer in [0, 1e7]');
    Atomics.store(I32, b + BUDGET, o.budgetNs);
  }
  if (o.maxSpinners !== undefined) {
    if (!Number.isInteger(o.maxSpinners) || o.maxSpinners < 0 || o.maxSpinners > 1024) throw new RangeError('maxSpinners must be an integer in [0, 1024]');
    Atomics.store(I32, b + MAX, o.maxSpinners);
  }
  return { budgetNs: Atomics.load(I32, b + BUDGET), maxSpinners: Atomics.load(I32, b + MAX) };
}

function lwpWord(lid: number): number { return region.base + LWPS + ((lid - 1) % tunables().maxlwp!); }

/** Whether LWP `lid` may queue an event soon: on a CPU, just woken by us, or spinning in kevent itself. */
function peerActive(lid: number): boolean {
  if (lid <= 0 || lid === cur.lid) return false;
  if (lid === lastWoken.lid) return true;
  const l = lwp_byid(lid);
  if (l === 0) return false;
  if (Atomics.load(I32, lwpWord(lid)) === lid) return true;
  const st = lwp_stat(l);
  return st === LSONPROC || st === LSRUN;
}

export interface Spin { policy: SpinPolicy; kq: number; spinning: boolean; stoppedEarly: boolean }

function stop(sp: Spin): void {
  if (!sp.spinning) return;
  sp.spinning = false;
  Atomics.sub(I32, region.base + NOW, 1);
  if (cur.lwp !== 0) Atomics.store(I32, lwpWord(cur.lid), 0);
}

/** Whether to spin before sleeping on kq (kqueue lock held); undefined: sleep at once. */
export function spin_begin(kq: number, deadline: number): Spin | undefined {
  const b = region.base;
  const budget = Atomics.load(I32, b + BUDGET);
  if (budget === 0 || (deadline !== Infinity && deadline - monoNow() < 2 * budget)) return undefined;
  if (I32[kq + Q.spinScore] < 0 && (++I32[kq + Q.spinTick] % PROBE_EVERY) !== 0) return undefined;
  const peer = I32[kq + Q.lastq];
  if (!peerActive(peer)) return undefined;
  if (Atomics.add(I32, b + NOW, 1) >= Atomics.load(I32, b + MAX)) { Atomics.sub(I32, b + NOW, 1); return undefined; }
  if (cur.lwp !== 0) Atomics.store(I32, lwpWord(cur.lid), cur.lid);
  const end = monoNow() + budget;
  const sp: Spin = {
    kq, spinning: true, stoppedEarly: false,
    policy: {
      // active() ends the spin; sleepq's budget is only a backstop.
      budgetNs: budget + 1_000_000,
      active: () => {
        if (monoNow() < end && peerActive(peer)) return true;
        sp.stoppedEarly = true;
        stop(sp);
        return false;
      },
    },
  };
  return sp;
}

/** Settles a spin once the sleep is over (kqueue lock held): clears marks, adapts the score. */
export function spin_end(sp: Spin, woken: boolean): void {
  const hit = woken && !sp.stoppedEarly;
  stop(sp);
  const s = I32[sp.kq + Q.spinScore];
  if (hit) { I32[sp.kq + Q.spinScore] = s < SCORE_MAX ? s + 1 : s; kstat_add(C_HIT); }
  else { I32[sp.kq + Q.spinScore] = Math.max(SCORE_MIN, s - MISS_COST); kstat_add(C_MISS); }
}
