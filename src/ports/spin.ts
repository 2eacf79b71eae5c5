/**
 * Adaptive spinning before port_get sleeps, in the manner of illumos'
 * adaptive mutexes: a getter about to sleep first spins, but only
 *  - while the thread that last sent to this port is active: on a CPU
 *    (ONPROC/RUN) or itself spinning in port_get, i.e. able to answer soon;
 *  - for a bounded budget (tunable port_spin_ns, changeable at run time);
 *  - while fewer than port_spinners threads spin kernel-wide (spinning
 *    threads must not starve the ones that would send);
 *  - while it pays: each port keeps a score, raised when a spin ended with
 *    the event and lowered when the budget was wasted; a port with a low
 *    score sleeps at once, probing with a spin only once in 32 gets.
 * On this VM a sleeping wake-up costs ~25 us of vCPU wake (BASELINES.md);
 * a spin that is answered costs well under 1 us.
 */
import { I32 } from '../kern/kmem.js';
import { cur } from '../kern/hdr.js';
import { monoNow } from '../kern/time.js';
import { onBoot, tunables } from '../kern/boot.js';
import { kstat_add } from '../kern/kstat.js';
import { sysenter } from '../kern/sysent.js';
import type { SpinPolicy } from '../kern/sleepq.js';
import { lwp_byid, lwp_stat, LSONPROC, LSRUN } from '../lwp/lwp.js';
import { lastWoken } from './queue.js';
import { P, spinRegion, SPIN_NOW, SPIN_BUDGET, SPIN_MAX, SPIN_DPOST, SPIN_LWP, C_SPIN_HIT, C_SPIN_MISS } from './mem.js';

const SCORE_MAX = 16, SCORE_MIN = -16, MISS_COST = 2, PROBE_EVERY = 32;

onBoot(() => {
  const t = tunables();
  I32[spinRegion.base + SPIN_BUDGET] = t.port_spin_ns!;
  I32[spinRegion.base + SPIN_MAX] = t.port_spinners!;
});

/**
 * Changes, kernel-wide, the adaptive spin budget (ns; 0 turns spinning off),
 * the most concurrent spinners, and how long the deadline-aware wait of a
 * timer-fed port spins past the expiry (`deadlineNs`; 0 turns it off; see dwait.ts).
 */
export function port_spin_tune(o: { budgetNs?: number; maxSpinners?: number; deadlineNs?: number }): { budgetNs: number; maxSpinners: number; deadlineNs: number } {
  sysenter();
  const b = spinRegion.base;
  if (o.budgetNs !== undefined) {
    if (!Number.isInteger(o.budgetNs) || o.budgetNs < 0 || o.budgetNs > 10_000_000) throw new RangeError('budgetNs must be an integer in [0, 1e7]');
    Atomics.store(I32, b + SPIN_BUDGET, o.budgetNs);
  }
  if (o.maxSpinners !== undefined) {
    if (!Number.isInteger(o.maxSpinners) || o.maxSpinners < 0 || o.maxSpinners > 1024) throw new RangeError('maxSpinners must be an integer in [0, 1024]');
    Atomics.store(I32, b + SPIN_MAX, o.maxSpinners);
  }
  if (o.deadlineNs !== undefined) {
    if (!Number.isInteger(o.deadlineNs) || o.deadlineNs < 0 || o.deadlineNs > 10_000_000) throw new RangeError('deadlineNs must be an integer in [0, 1e7]');
    Atomics.store(I32, b + SPIN_DPOST, o.deadlineNs);
  }
  return { budgetNs: Atomics.load(I32, b + SPIN_BUDGET), maxSpinners: Atomics.load(I32, b + SPIN_MAX), deadlineNs: Atomics.load(I32, b + SPIN_DPOST) };
}

function lwpWord(lid: number): number { return spinRegion.base + SPIN_LWP + ((lid - 1) % tunables().maxlwp!); }

/** True when LWP `lid` can answer soon: running, or spinning in port_get itself. */
function peerActive(lid: number): boolean {
  if (lid <= 0 || lid === cur.lid) return false;
  if (Atomics.load(I32, lwpWord(lid)) === lid || lid === lastWoken.lid) return true;
  const l = lwp_byid(lid);
  if (l === 0) return false;
  const st = lwp_stat(l);
  return st === LSONPROC || st === LSRUN;
}

/** A spin in progress: the policy given to sq_block plus what we need to settle it. */
export interface Spin { policy: SpinPolicy; h: number; spinning: boolean; stoppedEarly: boolean }

function stop(sp: Spin): void {
  if (!sp.spinning) return;
  sp.spinning = false;
  Atomics.sub(I32, spinRegion.base + SPIN_NOW, 1);
  if (cur.lid > 0 && cur.lwp !== 0) Atomics.store(I32, lwpWord(cur.lid), 0);
}

/** Decides whether this getter spins before it sleeps on port h (port lock held); undefined: sleep at once. */
export function spin_begin(h: number, deadline: number): Spin | undefined {
  const b = spinRegion.base;
  const budget = Atomics.load(I32, b + SPIN_BUDGET);
  if (budget === 0 || deadline !== Infinity && deadline - monoNow() < 2 * budget) return undefined;
  if (I32[h + P.spinScore]! < 0 && (++I32[h + P.spinTick]! % PROBE_EVERY) !== 0) return undefined;
  const peer = I32[h + P.lastSender]!;
  if (!peerActive(peer)) return undefined;
  if (Atomics.add(I32, b + SPIN_NOW, 1) >= Atomics.load(I32, b + SPIN_MAX)) {
    Atomics.sub(I32, b + SPIN_NOW, 1);
    return undefined;
  }
  if (cur.lid > 0 && cur.lwp !== 0) Atomics.store(I32, lwpWord(cur.lid), cur.lid);
  const end = monoNow() + budget;
  const sp: Spin = {
    h, spinning: true, stoppedEarly: false,
    // sleepq's own budget is a backstop; active() below ends the spin, so
    // that the spinning marks are cleared exactly when spinning stops.
    policy: {
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

/** Settles a spin after sq_block returned (port lock held): clears marks, adapts the port's score. */
export function spin_end(sp: Spin, woken: boolean): void {
  const h = sp.h;
  const hit = woken && !sp.stoppedEarly;
  stop(sp);
  const s = I32[h + P.spinScore]!;
  if (hit) { I32[h + P.spinScore] = s < SCORE_MAX ? s + 1 : s; kstat_add(C_SPIN_HIT); }
  else { I32[h + P.spinScore] = Math.max(SCORE_MIN, s - MISS_COST); kstat_add(C_SPIN_MISS); }
}
