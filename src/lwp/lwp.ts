/**
 * struct lwp, the LWP table, and the theory of the LWP subsystem: its
 * states, who changes them, its locks, and where it meets the rest of the
 * kernel. The other files of src/lwp/ point here rather than repeat it.
 *
 * An LWP is a thread of the process: the booting thread is LWP 1 (LW_MAIN);
 * the others run in worker threads that lwp0 hands out (lwp0.ts, pool.ts,
 * trampoline-main.ts). States, flags and counters follow NetBSD's
 * kern_lwp.c; the code that changes them is ops.ts (life cycle, userret,
 * sleep hooks), sys.ts (the system calls), park.ts, reap.ts.
 *
 * A lid is found in O(1): lids grow from 1 and an LWP lives in table slot
 * (lid - 1) mod maxlwp, so allocation skips lids whose slot is taken. A slot
 * whose l_stat is 0 is free; a slot is reused by a later lid, so whoever
 * found an LWP by lid without the proc lock checks l_lid again.
 *
 * ---- States (l_stat) ------------------------------------------------------
 *
 *   IDL        allocated, not yet set running: lasts only within one hold
 *              of p_lock (lwp_create and boot allocate and set it running
 *              in one hold); lock-free lookups (lwp_find, lwp_unpark) treat
 *              it as absent
 *   RUN        set running; its worker thread has not picked it up yet
 *   ONPROC     its thread runs it (user code or kernel code)
 *   SLEEP      asleep in the kernel: a sync sleep (l_sleeping), a kernel
 *              mutex (wmesg kmutex), or pending async sleeps (l_nasync > 0;
 *              the thread may be running other JavaScript meanwhile)
 *   STOP       reserved (NetBSD's number): nothing enters it yet; the
 *              signals subsystem will (job-control stop). lwp_suspend
 *              already treats it as SLEEP.
 *   SUSPENDED  halted by lwp_suspend at a syscall boundary or in an
 *              interruptible sleep; l_resume is the state it returns to
 *   ZOMB       exited, waiting for lwp_wait (a detached LWP skips it)
 *
 * p_nrlwps counts RUN, ONPROC and SLEEP (`counted` in ops.ts); every
 * transition into or out of those states adjusts it under p_lock, except
 * the ones among the three (which keep the count). p_nlwpwait counts the
 * LWPs among those blocked in lwp_wait (LW_WAITING; one with only
 * lwp_wait_async pending is not, its thread runs on: lwp_wait's scan counts
 * those): the same transitions adjust it (a waiter suspended in its wait is
 * not one; lwp_wait's deadlock check weighs the two).
 *
 * Transitions. "self" is the LWP's own thread; locks are those held across
 * the store of l_stat (p: p_lock, l: l_lock; see kern/lockorder.ts).
 *
 *   from        to          who / which call                         locks
 *   (free)      IDL         lwp_alloc (lwp_create; boot for LWP 1)   p
 *   IDL         RUN         lwp_setrun                               p+l
 *   IDL         SUSPENDED   lwp_setrun, LWP_SUSPENDED or a creator   p+l
 *                           suspending/exiting (l_resume = RUN,
 *                           LW_WSUSPEND set)
 *   RUN         ONPROC      lwp_startup, self (trampoline; boot)     l
 *   SUSPENDED   SUSPENDED   lwp_startup of an LWP created            l
 *                           suspended: l_resume = ONPROC
 *   ONPROC      SLEEP       sync sleep: sq_block's enter hook, self  l
 *                           (after the object lock is dropped)
 *   ONPROC      SLEEP       first async sleep: asyncEnter hook, self l
 *   ONPROC      SLEEP       blocked on a kernel mutex: the mutex     none (CAS)
 *                           sleep hook, self (wmesg kmutex)
 *   SLEEP       ONPROC      sync sleep over (leave hook, self) with  l
 *                           no async sleep pending; last async
 *                           sleep over (asyncLeave) with no sync
 *                           one; kernel mutex acquired (CAS back)    none (CAS)
 *   ONPROC      SUSPENDED   lwp_halt, self: at syscall entry         p+l
 *                           (userret, LW_WSUSPEND), lwp_suspend of
 *                           itself, a park ended by suspension on
 *                           its way out (userret_suspend), the
 *                           trampoline before the start function
 *   SLEEP       SUSPENDED   lwp_halt, self, from inside an           p+l
 *                           interruptible sleep that lwp_suspend
 *                           kicked (sq_block / sq_sleep_async see
 *                           must_halt); l_resume = SLEEP, the sleep
 *                           goes on when continued. Also when the
 *                           sleep was woken before it saw the kick:
 *                           it acts on the wake-up once continued
 *                           (a sigwaiter stays a waiter). A park is
 *                           instead ended (SQ_UNSLEPT: SLEEP ->
 *                           ONPROC) and suspends on its way out
 *   SUSPENDED   l_resume    lwp_continue (RUN, ONPROC or SLEEP)      p+l
 *   any live    ZOMB        lwp_exit_common: self (lwp_exit; the     p+l
 *                           trampoline when the start function
 *                           returns, or throws: LW_THREW), or the
 *                           pool's owner for a worker that died
 *                           (lwp_reap_dead: LW_DIED)
 *   ZOMB        (free)      lwp_free: lwp_wait collecting it, or at  p
 *                           once for a detached LWP (lwp_exit_common,
 *                           lwp_detach of a zombie)
 *   RUN/SUSP.   (free)      lwp_create undoing an LWP whose worker   p
 *                           could not be asked for (lwp_free)
 *
 * The last LWP to exit does not become a zombie: it ends the process
 * (proc_exit, status 0) and its slot keeps its state.
 *
 * A worker that dies holding a kernel mutex (l_nlocks > 0) leaves kernel
 * memory inconsistent: lwp_reap_dead panics instead of exiting it. A panic
 * changes no state: every sleeper is interrupted (SQ_INTR, then EIO), every
 * suspended LWP is woken on l_suspw and lwp_halt throws EIO, the main
 * thread's wait for process exit ends (status 70); l_stat stays as it was.
 *
 * ---- Flags (l_flag) -------------------------------------------------------
 *
 * The word is key `a`: every change is an Atomics read-modify-write, so bits
 * with different owners never overwrite each other (lwp_alloc's first plain
 * store precedes publication). Set/cleared by, and under:
 *
 *   LW_WSUSPEND   set: lwp_suspend, lwp_setrun (created suspended); cleared:
 *                 lwp_continue. Under p+l. Read lock-free by the LWP at each
 *                 syscall entry (sysenter), in its sleeps (must_halt), by
 *                 lwp_create for the creator
 *   LW_WAITING    set/cleared: the LWP itself in lwp_wait (the blocking
 *                 form: an lwp_wait_async leaves its thread running),
 *                 under p; cleared by lwp_exit_common for a worker that
 *                 died in its wait, under p
 *   (0x4)         free: a pending unpark is the l_unpark word, not a bit
 *                 (below); interruptibility is the sleeper's
 *                 SQF_INTERRUPTIBLE, not NetBSD's LW_SINTR
 *   LW_DETACHED   set: lwp_alloc (LWP_DETACHED, before publication),
 *                 lwp_detach; under p; never cleared
 *   LW_WEXIT      set: lwp_exit_common, under p; never cleared
 *   LW_MAIN       set at boot for LWP 1, under p; constant
 *   LW_THREW,     set with LW_WEXIT by lwp_exit_common (the trampoline; the
 *   LW_DIED       reaper), under p: informational (snapshot, diagnostics)
 *   LW_CANCELLED  set: lwp_wakeup, under p+l; cleared: the LWP itself, no
 *                 lock (consume_cancel), when an interruptible sleep starts
 *                 or ends interrupted; set again by the LWP itself, no lock
 *                 (cancel_again), when the sleep that took it had already
 *                 been woken
 *   LW_PENDING    set: any thread, no lock (lwp_post_userret); cleared: the
 *                 LWP itself at its next syscall entry (userret). A post
 *                 that found its LWP by lid while the slot was being reused
 *                 may land on the slot's next LWP: one userret pass for
 *                 nothing (every on_userret hook checks its own state)
 *   LW_NUDGE      set: any thread, no lock (lwp_nudge, which also kicks
 *                 the LWP's sync sleep without ending it); cleared: the LWP
 *                 itself, in that sleep or at its next syscall entry, as
 *                 it runs the on_nudge hooks (the SharedArrayBuffer a
 *                 receiver asks it for: ports/msg-codec.ts)
 *   LW_NOREF      set: lwp_ref(lid, false); cleared: lwp_ref(lid, true);
 *                 under p, with p_nkeep while the LWP counts in p_nlive
 *                 (lwp_live_drop takes it out of both when it stops)
 *   LW_PENDSIG    set: a thread generating a signal the LWP may take, under
 *                 the signal lock (lwp/sig.ts); cleared: the LWP itself,
 *                 under the signal lock, when it finds nothing left to take
 *                 (signals/sig.ts). Also ends (SQ_INTR) an interruptible
 *                 sleep that starts while it is set (consume_cancel)
 *
 * A pending unpark (l_unpark) holds the lid it is for, not a flag bit:
 * lwp_unpark finds its target by lid without the proc lock, so the slot can
 * be freed and reused by another LWP between that lookup and the store; a
 * bit would then make the newcomer's first park fail with EALREADY for an
 * unpark meant for its predecessor, while a stored lid does not match it
 * (lwp_alloc zeroes the word too, before or after such a store). Set by
 * lwp_unpark not finding the target parked on its hint's bucket, under
 * that bucket (b); consumed by the LWP's next park, under its hint's
 * bucket. Same hint, same bucket: an unpark racing a park is never lost.
 *
 * ---- Locks ----------------------------------------------------------------
 *
 *   p_lock (proc)  the LWP counters of struct proc, lwp_wait's cv, l_waiter
 *                  and l_waitingfor, every transition that changes a count
 *                  (create, exit, free, suspend, continue)
 *   l_lock (lwp)   l_stat (with p_lock where a count changes), l_resume,
 *                  l_sleeping, l_wmesg, the async-sleeper chain (l_asq,
 *                  l_nasync)
 *   bucket (parktab)  the park table: parked sleepers, l_unpark
 *
 * Order: p_lock, then a park bucket, then l_lock (kern/lockorder.ts). The
 * sleep hooks take l_lock with at most an object lock held, which comes
 * before it; lwp_wakeup and lwp_suspend interrupt or kick sleepers under
 * p+l and take no lock to do it (sq_interrupt, sq_unsleep, sq_kick are
 * compare-and-swaps on the sleeper's word).
 *
 * ---- Where it meets the rest of the kernel ---------------------------------
 *
 *   kern/sleepq.ts   SleepHooks (ops.ts): a sleep moves the LWP to SLEEP and
 *                    back, registers async sleepers on l_asq so that
 *                    lwp_wakeup reaches them, consumes LW_CANCELLED and
 *                    halts in place for LW_WSUSPEND
 *   kern/sysent.ts   sysent_set_userret_hook: sysenter tests l_flag & LW_USERRET with one
 *                    plain load and runs lwp_userret (posted work, suspend)
 *   kern/mutex.ts    l_nlocks counts the kernel mutexes the thread holds
 *                    (cur.nlocksw); the mutex sleep hook shows SLEEP/kmutex
 *   kern/spin.ts     reads l_stat: spin only while the other LWP runs
 *   kern/proc.ts     on_proc_exit (timers, ports close), on_lwp_exit (a port's
 *                    send lane), on_userret + lwp_post_userret (work only the
 *                    LWP itself may do, e.g. give up a port's lane)
 *   lwp0, pool       workers run LWPs; a worker's death is lwp_reap_dead
 */
import { I32, define_struct, kregion_create, f64_get, f64_set } from '../kern/kmem.js';
import { SYSID_BASE } from '../kern/hdr.js';
import { mutex_class } from '../kern/lockdebug.js';
import { sq_spares_hook } from '../kern/sleepq.js';

/** LWP states, with NetBSD's numbers. 0 marks a free slot. */
export const LSIDL = 1, LSRUN = 2, LSSLEEP = 3, LSSTOP = 4, LSZOMB = 5, LSONPROC = 7, LSSUSPENDED = 8;
export const STATE_NAMES: Readonly<Record<number, string>> = {
  [LSIDL]: 'IDL', [LSRUN]: 'RUN', [LSSLEEP]: 'SLEEP', [LSSTOP]: 'STOP', [LSZOMB]: 'ZOMB',
  [LSONPROC]: 'ONPROC', [LSSUSPENDED]: 'SUSPENDED',
};

/** l_flag bits: who sets and clears each, under which lock, is in the header's table. */
export const LW_WSUSPEND = 0x1;    // suspend requested: act at the next syscall boundary
export const LW_WAITING = 0x2;     // blocked in lwp_wait (the sync form): one of p_nlwpwait while counted in p_nrlwps
export const LW_DETACHED = 0x8;    // LPR_DETACHED
export const LW_WEXIT = 0x10;      // exiting
export const LW_MAIN = 0x20;       // the booting thread
export const LW_THREW = 0x40;      // its start function threw
export const LW_DIED = 0x80;       // its worker died outside the kernel
export const LW_CANCELLED = 0x100; // lwp_wakeup: end the current or next interruptible sleep with EINTR
export const LW_PENDING = 0x200;   // a subsystem left work for the LWP's next syscall (on_userret hooks)
export const LW_PENDSIG = 0x400;   // a signal may be deliverable to it (NetBSD's LW_PENDSIG): signals/sig.ts
export const LW_NUDGE = 0x800;     // another thread needs this one's own JS state now (on_nudge hooks): in its sleeps too
export const LW_NOREF = 0x1000;    // unref'd: does not keep the Node process alive (lwp_ref; not counted in p_nkeep)
/** Bits that send the LWP through userret at its next syscall. */
export const LW_USERRET = LW_WSUSPEND | LW_PENDING | LW_PENDSIG | LW_NUDGE;

/**
 * struct lwp. `[key]`: what guards the field (legend in kern/lockorder.ts).
 * lwp_alloc zeroes the slot and fills it under p_lock before l_stat
 * publishes it.
 */
export const LWP = define_struct('lwp', {
  private: 'f64',      // [!] lwp_getprivate / lwp_setprivate
  created: 'f64',      // [c] kernel monotonic ns
  lock: 'i32',         // l_lock (class lwp)
  lid: 'i32',          // [c] until the slot is freed and reused: re-check after a lock-free lookup
  stat: 'i32',         // [l,a] LS*; with p too where p_nrlwps changes. Exceptions: lwp_alloc/lwp_free (p only, slot
                       //   unpublished or dead), the kernel-mutex sleep hook (CAS, no lock; see the header)
  flag: 'i32',         // [a] LW_*: each bit's owner in the header's table. One plain read: sysenter's peek at
                       //   LW_USERRET (kern/sysent.ts), a hint: a bit set meanwhile is seen at the next syscall
  waitingfor: 'i32',   // [p] lid it waits for in lwp_wait (0 for whichever)
  waiter: 'i32',       // [p] the first waiter for it
  nwait: 'i32',        // [p] its lwp_wait calls in progress (several when async): what lwp_exit_common takes back
                       //   for waits its exit abandons (p_nlwpwait counts the blocking one alone: LW_WAITING)
  unpark: 'i32',       // [b,a] lid an unpark is pending for (0: none; NetBSD's L_CANCELLED for park): set by
                       //   lwp_unpark not finding it parked (or its park already ended), consumed by its next park, both under the hint's bucket
  sleeping: 'i32',     // [l] the sleeper it is blocked on now (sync), 0 if none; written by self
  asq: 'i32',          // [l] chain of its pending async sleepers (through the sleepers' lnext)
  nasync: 'i32',       // [l] length of that chain
  suspw: 'i32',        // [a] suspended LWPs wait on this word (0: halted; 1: continued or panic)
  resume: 'i32',       // [l] state to return to when continued
  nlocks: 'i32',       // [!] kernel mutexes held (mutex.ts); the reaper reads it once the thread is gone
  wmesg: 'i32',        // [l] what it sleeps on (WMESG); the kernel-mutex hook writes it without l (self)
  nparks: 'i32',       // [!] statistic: parks, counted by self under its bucket
  sparesl: 'i32',      // [!] a sleeper kept for its next sleep (kern/sleepq.ts spares): written by self while it
                       //   runs (cur.sparew), given back by self as it exits, or by lwp_free once its worker is gone
}, true); // lines: its lock count and state are written per kernel call, beside the next LWP's
export const L = LWP.F;

const lwptab = kregion_create('lwptab', (t) => t.maxlwp! * LWP.words);
mutex_class('lwp', lwptab, { field: L.lock, stride: LWP.words });

/**
 * The struct a worker's thread is bound to once its LWP has exited itself
 * (lwp_exit, until the trampoline unbinds it): never in the table, its
 * l_flag keeps LW_PENDING set, so every later kernel entry from that thread
 * goes to lwp_userret, which unwinds it again (ops.ts lwp_bind_exited).
 */
const lwpdead = kregion_create('lwpdead', () => LWP.words);
export function lwp_dead_handle(): number { return lwpdead.base; }

export function maxlwp(): number { return lwptab.words / LWP.words; }
export function slot_handle(slot: number): number { return lwptab.base + slot * LWP.words; }

// The sleepers LWPs keep spare are not in use (kern/sleepq.ts spares).
sq_spares_hook(() => {
  let n = 0;
  for (let i = 0, m = maxlwp(); i < m; i++) if (Atomics.load(I32, slot_handle(i) + L.sparesl) !== 0) n++;
  return n;
});

/** The live LWP with this lid (any state but free), or 0. */
export function lwp_byid(lid: number): number {
  if (!Number.isInteger(lid) || lid <= 0 || lid >= SYSID_BASE) return 0;
  const h = slot_handle((lid - 1) % maxlwp());
  return I32[h + L.lid] === lid && Atomics.load(I32, h + L.stat) !== 0 ? h : 0;
}

export function lwp_stat(h: number): number { return Atomics.load(I32, h + L.stat); }
export function lwp_private(h: number): number { return f64_get(h, L.private); }
export function lwp_setprivate_(h: number, v: number): void { f64_set(h, L.private, v); }
