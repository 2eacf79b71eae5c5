/**
 * port_get's adaptive spin before sleeping: the shared policy of
 * kern/spin.ts (spin only while the LWP that last sent to this port is
 * active, for a bounded budget, with few spinners, while it pays), with the
 * tunables port_spin_ns and port_spinners and a per-port score; plus the
 * run-time tuning of the deadline-aware wait (dwait.ts).
 */
import { I32 } from '../kern/kmem.js';
import { onBoot, tunables } from '../kern/boot.js';
import { sysenter } from '../kern/sysent.js';
import { SpinDomain, type Spin } from '../kern/spin.js';
import { P, spinRegion, SPIN_DPOST, C_SPIN_HIT, C_SPIN_MISS } from './mem.js';

const domain = new SpinDomain(spinRegion, P.spinScore, P.spinTick, C_SPIN_HIT, C_SPIN_MISS, 2);

onBoot(() => { domain.setLimits(tunables().port_spin_ns!, tunables().port_spinners!); });

/**
 * Changes, kernel-wide, the adaptive spin budget (ns; 0 turns spinning off),
 * the most concurrent spinners, and how long the deadline-aware wait of a
 * timer-fed port spins past the expiry (`deadlineNs`; 0 turns it off; see dwait.ts).
 */
export function port_spin_tune(o: { budgetNs?: number; maxSpinners?: number; deadlineNs?: number }): { budgetNs: number; maxSpinners: number; deadlineNs: number } {
  sysenter();
  const b = spinRegion.base;
  const { budgetNs, maxSpinners } = domain.setLimits(o.budgetNs, o.maxSpinners);
  if (o.deadlineNs !== undefined) {
    if (!Number.isInteger(o.deadlineNs) || o.deadlineNs < 0 || o.deadlineNs > 10_000_000) throw new RangeError('deadlineNs must be an integer in [0, 1e7]');
    Atomics.store(I32, b + SPIN_DPOST, o.deadlineNs);
  }
  return { budgetNs, maxSpinners, deadlineNs: Atomics.load(I32, b + SPIN_DPOST) };
}

/** Decides whether this getter spins before it sleeps on port h (port lock held); undefined: sleep at once. */
export function spin_begin(h: number, deadline: number): Spin | undefined {
  return domain.begin(h, I32[h + P.lastSender]!, deadline);
}

/** Settles a spin after sq_block returned (port lock held). */
export function spin_end(sp: Spin, woken: boolean): void { domain.end(sp, woken); }
