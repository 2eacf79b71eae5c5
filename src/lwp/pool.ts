/**
 * Worker pools: the worker threads that run LWPs, kept by the thread that
 * owns them. Node ends a worker when the thread that created it ends, so
 * only threads that live as long as the process own workers: the booting
 * main thread and lwp0. Each keeps one pool (this class, written once):
 *
 *  - the main thread's pool runs the LWPs the main thread creates. It
 *    starts their workers itself, so the first LWP of a program waits for
 *    one worker start, not for lwp0's start and then a worker's (chained),
 *    and a burst of creates starts its workers in parallel at once;
 *    boot({ lwp_pool }) prestarts this pool;
 *  - lwp0's pool runs the LWPs that other LWPs create (an LWP's own workers
 *    would die with it, and the main thread may be blocked in the kernel
 *    when the request comes: lwp0 never is).
 *
 * A pool's life of a worker (its state word, below). spawn -> starting
 * (loading the trampoline) -> idle; or, given an LWP while still starting,
 * running as soon as it is up (the run request waits in its channel) ->
 * idle again when its LWP is done, or gone (retired: terminated) when the
 * LWP left work behind in the thread, or when the pool has had more idle
 * workers than it keeps for `linger` ms (then the coldest idle ones go: see
 * dispatch() and sweep()).
 *
 * Why surplus workers linger. The pool keeps `size` workers idle or
 * starting ahead of the next create, so a create made while LWPs run finds
 * a worker (the refill, after each dispatch). When those LWPs end, their
 * workers come back on top of the refill's: a surplus. Retired at once, the
 * next burst of the same size takes the warm ones, the refill starts as
 * many again, and they are retired again when the burst ends: every burst
 * paid for worker starts (~50-100 ms of CPU each, competing with the LWPs
 * for the CPUs while they ran) that no create ever used. Measured with
 * bench/lwp.bench.ts, whose repetitions each create two LWPs: with the
 * surplus retired at once, the process spent ~0.6 CPU more than its peer's
 * two workers while the peer ran (the retired workers' replacements
 * starting), the park p99 of new LWPs was 54-382 us against 23-25 us with
 * lingering, and the Atomics peer's own round trip fell from ~14 to ~8 us
 * (vCPUs kept out of idle by the starts). Lingering, a program that creates
 * bursts more often than `linger` reuses the same workers; one that stops
 * gives back the surplus `linger` ms later (each ~8 MiB of RSS).
 * A worker that exits while it runs an LWP has its LWP reaped by the owner (`reap`: exited as LW_DIED, or a panic when it died
 * holding a kernel lock); the trampoline exits its LWP itself when the
 * worker ends by process.exit(), so the owner's reap is a backstop.
 *
 * Requests of a worker's LWP (create, kernel thread) always go to lwp0:
 * a worker of lwp0's pool sends them on its pool channel; a worker of the
 * main thread's pool on a channel of its own to lwp0 (`lwp0Port`), whose
 * other end the main thread transfers to lwp0.
 *
 * This module loads no kernel code: lwp0 starts its first workers before it
 * loads the kernel. Everything that needs kernel memory is a hook.
 */
import { worker_start } from './execargv.js';
import type { Worker, MessagePort } from 'node:worker_threads';
import { worker_threads, host_setTimeout } from '../kern/host.js';
import type { KernelImage } from '../kern/boot.js';

/** Messages to lwp0 (from the main thread, or from any LWP). */
export type Lwp0Request =
  | { t: 'create'; lid: number; module: string; exp: string; arg: unknown }
  | { t: 'kthread'; name: string; module: string; fails: number; words: number[] }
  | { t: 'live' };

/** Messages from an LWP worker to its pool's owner (lwp0's workers also send their requests so). */
export type WorkerReport =
  | Lwp0Request
  | { t: 'ready' }
  | { t: 'idle'; lid: number; reusable: boolean };

/** Messages from a pool's owner to an LWP worker. */
export interface RunRequest { t: 'run'; lid: number; module: string; exp: string; arg: unknown }

/** What a pool needs of its owner. */
export interface PoolHooks {
  /** The worker of LWP `lid` is gone without exiting its LWP: exit it on its behalf. */
  reap(lid: number): void;
  /** Workers started, became idle or went: gauges and the process's references. */
  changed(): void;
  /** A request a worker of this pool sent on its pool channel (lwp0's pool only). */
  request?(m: Lwp0Request): void;
  /**
   * A channel for a new worker's requests to lwp0 (the main thread's pool
   * only); `st` is the worker's state words, which lwp0 reads when the
   * channel closes (the worker is gone: {@link WS_LID}).
   */
  lwp0Port?(st: Int32Array): MessagePort;
}

/**
 * A worker's state word, in a SharedArrayBuffer of its own, so that the
 * owner sees a worker come free without its event loop turning: the main
 * thread often creates LWPs in a loop that blocks (Atomics.wait, lwp_wait)
 * and never reads the workers' 'idle' messages in between. Transitions:
 * STARTING -> IDLE (worker, at ready: CAS, fails when already given an LWP;
 * and owner, at its 'ready' report: CAS), STARTING/IDLE -> BUSY (owner, at
 * dispatch: CAS), BUSY -> STARTING or IDLE (owner, back as it was taken when
 * the dispatch's post fails), BUSY -> IDLE or GONE (worker, when its LWP is
 * done; GONE when it must not be reused), IDLE -> GONE (owner, retiring a
 * surplus worker: CAS).
 */
export const WS_STARTING = 0, WS_IDLE = 1, WS_BUSY = 2, WS_GONE = 3;
/**
 * Word 1 of the state words: the lid of the LWP the owner gave the worker
 * (set before the run request is posted, 0 before the first). A worker of
 * the main thread's pool that ends while BUSY with an LWP that did not exit
 * (it died at its start, before the trampoline ran; out of memory) is
 * reaped by lwp0, which sees the worker's channel to it close (lwp0.ts):
 * the owner's own reap, at its 'exit' event, needs the main thread's event
 * loop, and a main thread blocked in lwp_wait for that LWP (or in lwp_exit
 * for the process's end) waited for ever. Both reaps may run: the second
 * finds a zombie, or no such LWP, and does nothing (reap.ts).
 */
export const WS_LID = 1;

/** A worker of the pool; `ran` orders them by warmth: the dispatch stamp of its last LWP, 0 if it never ran one. */
interface Slot { w: Worker; port: MessagePort; st: Int32Array; lid: number; up: boolean; ran: number }

/**
 * After a dispatch, the refill waits this long (and for the messages already
 * queued): a burst of creates is dispatched first (none waits behind the
 * refill's Worker constructors, ~0.5 ms of this thread each), and its LWPs
 * get going before the refill's worker starts (CPU-bound) compete with them.
 */
const REFILL_DELAY_MS = 10;

export class WorkerPool {
  private readonly slots = new Set<Slot>();
  /** Dispatches so far (the stamps of Slot.ran). */
  private dispatches = 0;
  private refillQueued = false;
  /** Since when (ms, performance.now()) more workers have been idle than the pool keeps; Infinity: not so. */
  private surplusSince = Infinity;
  /** When the sweep timer is due (ms, performance.now()), Infinity if none is set. */
  private sweepAt = Infinity;
  /** What publish() last added to the kernel-wide gauges. */
  private shownIdle = 0;
  private shownStarting = 0;

  constructor(
    private readonly image: KernelImage,
    private readonly trampoline: string,
    /** Workers kept warm or starting ahead of the next create. */
    readonly size: number,
    /** How long (ms) idle workers beyond `size` are kept before the coldest go (boot's lwp_pool_linger). */
    readonly linger: number,
    private readonly hooks: PoolHooks,
  ) {}

  private count(state: number): number {
    let n = 0;
    for (const s of this.slots) if (Atomics.load(s.st, 0) === state) n++;
    return n;
  }

  /** Workers waiting for an LWP. */
  get idleCount(): number { return this.count(WS_IDLE); }

  /** Workers of this pool in any state but gone (diagnostics and tests). */
  get workerCount(): number { return this.slots.size; }
  /** How many idle workers are no surplus: `size`, and at least one (the worker the last LWP left). */
  private get keep(): number { return Math.max(this.size, 1); }

  /** Workers starting that no LWP waits for yet. */
  get startingCount(): number { return this.count(WS_STARTING); }

  /**
   * Brings this pool's share of the kernel-wide gauges (kstat lwp.pool_idle,
   * lwp.pool_starting: both owners' pools add to them) up to date; `add` is
   * the owner's kstat_add (this module loads no kernel code).
   */
  publish(add: (counter: number, delta: number) => void, idleCounter: number, startingCounter: number): void {
    const i = this.idleCount, st = this.startingCount;
    if (i !== this.shownIdle) { add(idleCounter, i - this.shownIdle); this.shownIdle = i; }
    if (st !== this.shownStarting) { add(startingCounter, st - this.shownStarting); this.shownStarting = st; }
  }

  /** Starts `n` workers now (boot's lwp_pool). */
  prestart(n: number): void { this.spawn_ahead(n); this.hooks.changed(); }

  /** Whether this pool has said that a worker could not be started ahead of a create. */
  private saidNoStart = false;

  /**
   * Starts up to `n` workers ahead of the creates (prestart, refill), from
   * the owner's timers; returns how many started. A start that throws (new
   * Worker, or the channel to lwp0: resources short) ends the round, said
   * once per pool; the next create starts its own worker, and the refill
   * after it tries again. Thrown through, it was an uncaught exception: in
   * the main thread the program's end, for a worker no create had asked
   * for yet; in lwp0 the end of lwp0, a panic.
   */
  private spawn_ahead(n: number): number {
    let k = 0;
    try {
      for (; k < n; k++) this.spawn(WS_STARTING);
    } catch (e) {
      if (!this.saidNoStart) {
        this.saidNoStart = true;
        console.error('ukern: a worker could not be started ahead of lwp_create (each create still starts its own):', e);
      }
    }
    return k;
  }

  /**
   * Gives an LWP a worker: an idle one, the one that ran an LWP last first,
   * else the earliest one already starting for the pool (it is nearer to
   * ready than a new one), else a new one. A create never waits for more
   * than one worker's start. Throws (nothing changed) when the argument
   * cannot be cloned.
   *
   * Why the last used: a worker keeps what V8 compiled while it ran (the
   * kernel's paths, the start module), and a fresh worker needs some
   * thousands of kernel calls before they are optimized (a park/unpark
   * ping-pong runs at ~2x its settled round trip for its first ~3 000
   * rounds). The surplus the pool retires is accordingly the coldest.
   */
  dispatch(req: RunRequest): void {
    let s = this.take_warmest();
    const was = s === undefined ? WS_STARTING : WS_IDLE;
    s ??= this.take(WS_STARTING) ?? this.spawn(WS_BUSY);
    const ran = s.ran;
    s.ran = ++this.dispatches;
    Atomics.store(s.st, WS_LID, req.lid);
    // Posted at once, even to a worker still starting: its channel holds the
    // message until the trampoline listens. The owner's event loop is not on
    // the path (the main thread may block in the kernel right after the create).
    try {
      s.port.postMessage(req);
    } catch (e) {
      Atomics.store(s.st, WS_LID, 0);
      // Back as it was taken, warmth included: a worker not known to be up
      // is starting (if it came up meanwhile, its move to idle was refused:
      // its 'ready' makes it, onReport). Stored idle with this stamp, it was
      // counted idle while starting and given the next create over the warm
      // idle worker the last LWP ran on.
      s.ran = ran;
      Atomics.store(s.st, 0, was === WS_STARTING && !s.up ? WS_STARTING : WS_IDLE);
      throw e;
    }
    s.lid = req.lid;
    if (this.surplusSince !== Infinity && this.idleCount <= this.keep) this.surplusSince = Infinity;
    this.refill();
    this.hooks.changed();
  }

  /** Claims a worker in `state` (CAS to BUSY), or none. */
  private take(state: number): Slot | undefined {
    for (const s of this.slots) if (Atomics.compareExchange(s.st, 0, state, WS_BUSY) === state) return s;
    return undefined;
  }

  /**
   * The idle worker with the highest (warmest: true) or lowest `ran`.
   * Only the owner moves a worker out of IDLE, so what this finds stays idle
   * until the owner's CAS (a BUSY worker turning IDLE meanwhile is missed).
   */
  private idle_by_warmth(warmest: boolean): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (Atomics.load(s.st, 0) !== WS_IDLE) continue;
      if (best === undefined || (warmest ? s.ran > best.ran : s.ran < best.ran)) best = s;
    }
    return best;
  }

  private take_warmest(): Slot | undefined {
    const s = this.idle_by_warmth(true);
    return s !== undefined && Atomics.compareExchange(s.st, 0, WS_IDLE, WS_BUSY) === WS_IDLE ? s : undefined;
  }

  private spawn(state: number): Slot {
    const { port1, port2 } = new (worker_threads().MessageChannel)();
    const st = new Int32Array(new SharedArrayBuffer(8));
    st[0] = state;
    const lwp0 = this.hooks.lwp0Port?.(st);
    const transfer: MessagePort[] = lwp0 === undefined ? [port2] : [port2, lwp0];
    let w: Worker;
    try {
      // Not the program's own -e code, --input-type or per-process flags (a worker refuses them).
      w = worker_start(new URL(this.trampoline), {
        workerData: { image: this.image, port: port2, lwp0, state: st },
        transferList: transfer,
        name: 'ukern lwp',
      });
    } catch (e) {
      // The channel to lwp0 is made first, and its other end is lwp0's
      // already (or on its way): closing this end closes that one too.
      lwp0?.close();
      throw e;
    }
    // Only running LWPs keep the process alive, and the owner's rule for that
    // (spawn.ts) covers them: a worker never does by itself.
    w.unref();
    const s: Slot = { w, port: port1, st, lid: 0, up: false, ran: 0 };
    this.slots.add(s);
    port1.on('message', (m: WorkerReport) => this.onReport(s, m));
    port1.unref();
    w.on('exit', () => this.on_exit(s));
    w.on('error', (e) => { console.error(`ukern: LWP ${s.lid || '(idle worker)'} thread failed:`, e); });
    return s;
  }

  private assignedStarting(): boolean {
    for (const s of this.slots) if (Atomics.load(s.st, 0) === WS_BUSY && s.lid !== 0 && !s.up) return true;
    return false;
  }

  /**
   * Keeps `size` workers warm or starting, ahead of the next create; but not
   * while the workers of a burst of creates are still starting (a worker
   * start is CPU-bound): the pool then refills as soon as the last is up.
   */
  private refill(): void {
    if (this.refillQueued) return;
    this.refillQueued = true;
    host_setTimeout(() => this.refillNow(), REFILL_DELAY_MS).unref();
  }

  private refillNow(): void {
    this.refillQueued = false;
    if (this.assignedStarting()) return;
    const need = this.size - this.idleCount - this.startingCount;
    if (need > 0 && this.spawn_ahead(need) > 0) this.hooks.changed();
  }

  private onReport(s: Slot, m: WorkerReport): void {
    // Reports queue up while the owner blocks; a worker retired meanwhile
    // may still have some in the channel.
    if (!this.slots.has(s)) return;
    switch (m.t) {
      case 'ready':
        s.up = true;
        // Its own move to idle fails when it was given an LWP while starting;
        // one given back starting (a failed dispatch) turns idle here.
        Atomics.compareExchange(s.st, 0, WS_STARTING, WS_IDLE);
        this.refill();
        this.sweep();
        break;
      case 'idle':
        // The worker has already set its state word (IDLE or GONE).
        if (Atomics.load(s.st, 0) === WS_GONE) this.retire(s);
        else this.sweep();
        break;
      default:
        this.hooks.request?.(m);
        return;
    }
    this.hooks.changed();
  }

  /**
   * Retires the surplus: once more workers than the pool keeps have been
   * idle for `linger` ms on end, the coldest idle ones go (never the one an
   * LWP ran on last while a colder one is idle); a surplus not yet due sets
   * the timer for when it is. A create that takes an idle worker in between
   * ends the surplus (dispatch), and the next one starts its own wait. The
   * owner sees a worker go idle by its report, so a blocked owner only
   * delays this.
   */
  private sweep(): void {
    const keep = this.keep;
    if (this.idleCount <= keep) { this.surplusSince = Infinity; return; }
    const now = performance.now();
    if (this.surplusSince === Infinity) this.surplusSince = now;
    const due = this.surplusSince + this.linger;
    if (due > now) { this.sweep_at(due); return; }
    let retired = false;
    while (this.idleCount > keep) {
      const c = this.idle_by_warmth(false);
      if (c === undefined) break;
      if (Atomics.compareExchange(c.st, 0, WS_IDLE, WS_GONE) === WS_IDLE) { this.retire(c); retired = true; }
    }
    this.surplusSince = Infinity;
    if (retired) this.hooks.changed();
  }

  private sweep_at(due: number): void {
    if (due >= this.sweepAt) return;
    this.sweepAt = due;
    host_setTimeout(() => { this.sweepAt = Infinity; this.sweep(); }, Math.max(1, Math.ceil(due - performance.now()))).unref();
  }

  private retire(s: Slot): void {
    this.slots.delete(s);
    s.lid = 0;
    s.port.close();
    void s.w.terminate();
  }

  private on_exit(s: Slot): void {
    // A worker that ends unasked before it ran an LWP (a start that failed)
    // is not replaced here: a start that failed may fail again, and
    // replacing each failure would start workers in a loop. The next create
    // starts its own worker, and the refill after it.
    this.slots.delete(s);
    Atomics.store(s.st, 0, WS_GONE);
    const lid = s.lid;
    s.lid = 0;
    if (lid !== 0) this.hooks.reap(lid);
    this.hooks.changed();
  }
}
