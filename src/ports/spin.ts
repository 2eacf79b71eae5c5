/**
 * port_get's adaptive spin before sleeping: the shared policy of
 * kern/spin.ts (spin only while the LWP that last sent to this port is
 * active, for a bounded budget, with few spinners, while it pays), with the
 * tunables port_spin_ns and port_spinners and a per-port score; plus the
 * run-time tuning of the deadline-aware wait (dwait.ts).
 */
import { I32 } from '../kern/kmem.js';
import { on_boot, tunables } from '../kern/boot.js';
import { sysenter } from '../kern/sysent.js';
import { copyin_fields, arg_type, ArgRangeError } from '../kern/copyin.js';
import { SpinDomain, type Spin } from '../kern/spin.js';
import { mutex_enter } from '../kern/mutex.js';
import { P, spinRegion, port_lock, PQ_CLOSE, SPIN_DPOST, C_SPIN_HIT, C_SPIN_MISS } from './mem.js';
import { lane_owner, LN_TAIL, LN_HEAD } from './lane-locked.js';
import { port_exit, port_exit_release, port_nent } from './queue.js';

const domain = new SpinDomain(spinRegion, P.spinScore, P.spinTick, C_SPIN_HIT, C_SPIN_MISS, 2);

on_boot(() => { domain.setLimits(tunables().port_spin_ns!, tunables().port_spinners!); });

/**
 * Changes, kernel-wide, the adaptive spin budget (ns; 0 turns spinning off),
 * the most concurrent spinners, and how long the deadline-aware wait of a
 * timer-fed port spins past the expiry (`deadlineNs`; 0 turns it off; see dwait.ts).
 */
export function port_spin_tune(o: { budgetNs?: number; maxSpinners?: number; deadlineNs?: number }): { budgetNs: number; maxSpinners: number; deadlineNs: number } {
  sysenter();
  const b = spinRegion.base;
  // Copied in (each field read once) and all checked before anything is
  // applied: a call that fails changes nothing.
  const r = copyin_fields(o, ['budgetNs', 'maxSpinners', 'deadlineNs'], 'options', 'port_spin_tune');
  const budget = tune_arg(r.budgetNs, 'budgetNs', 10_000_000);
  const spinners = tune_arg(r.maxSpinners, 'maxSpinners', 1024);
  const post = tune_arg(r.deadlineNs, 'deadlineNs', 10_000_000);
  const { budgetNs, maxSpinners } = domain.setLimits(budget, spinners, 'port_spin_tune');
  if (post !== undefined) Atomics.store(I32, b + SPIN_DPOST, post);
  return { budgetNs, maxSpinners, deadlineNs: Atomics.load(I32, b + SPIN_DPOST) };
}

/** An option of port_spin_tune: undefined, or an integer in [0, max] (a TypeError for a non-number, ERR_OUT_OF_RANGE otherwise; the ranges kern/spin.ts checks too). */
function tune_arg(v: unknown, name: string, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number') arg_type('port_spin_tune', `${name} must be a number, got type ${typeof v}`);
  if (!Number.isInteger(v) || v < 0 || v > max) throw new ArgRangeError('port_spin_tune', `${name} must be an integer in [0, ${max}]`);
  return v;
}

/** Decides whether this getter spins before it sleeps on port h (port lock held); undefined: sleep at once. */
export function spin_begin(h: number, deadline: number): Spin | undefined {
  const owner = lane_owner(h);
  return domain.begin(h, owner !== 0 ? owner : I32[h + P.lastSender]!, deadline);
}

/**
 * The spin before a getter even counts itself as waiting, for ports fed
 * through a send lane: while the lane's owner is active (same policy and
 * score as above), watch the lane with the port lock dropped. A getter that
 * registered as a waiter would make every push of the owner take the port
 * lock to wake it (lane.ts): exactly the traffic the lane exists to avoid.
 * Called with the port lock held; 1: enough events now (lock held), 0: not
 * (lock held), -1: the port was closed meanwhile (lock dropped, struct
 * released if it was the last reference).
 */
export function prespin(h: number, nget: number, deadline: number): -1 | 0 | 1 {
  const owner = lane_owner(h);
  if (owner === 0) return 0;
  lanePoll.h = h; lanePoll.ln = I32[h + P.lane]!; lanePoll.nget = nget; // the lane is bound for the struct's life, which thrcnt keeps
  const ok = domain.poll(h, owner, deadline, lanePoll);
  if ((I32[h + P.flags]! & PQ_CLOSE) !== 0) { port_exit_release(h); return -1; }
  return ok && port_nent(h) >= nget ? 1 : 0;
}

/** prespin's target, this thread's one (a get polls at most one port at a time): the port, its lane, the events wanted. */
const lanePoll = {
  h: 0, ln: 0, nget: 0,
  ready(): boolean {
    const m = I32, h = this.h, ln = this.ln;
    return Atomics.load(m, h + P.nent) + ((Atomics.load(m, ln + LN_TAIL) - Atomics.load(m, ln + LN_HEAD)) | 0) >= this.nget;
  },
  unlock(): void { I32[this.h + P.thrcnt]!++; port_exit(this.h); },
  relock(): void { mutex_enter(port_lock(this.h)); I32[this.h + P.thrcnt]!--; },
};

/** Settles a spin after sq_block returned (port lock held). */
export function spin_end(sp: Spin, woken: boolean): void { domain.end(sp, woken); }
