/**
 * The body of every LWP worker thread (its entry, trampoline.ts or the
 * bundle's, calls trampoline_start once). It attaches to kernel memory, tells
 * lwp0 it is ready, and then runs LWPs one after another: bind to the LWP,
 * wait while it is suspended, import the module and call the start function
 * with its argument; when that returns or its Promise settles (or throws),
 * the LWP exits as by lwp_exit. The worker then goes back to the pool,
 * unless the LWP left work behind in this thread (timers, sockets, ports
 * listening, pending kernel waits) that would run under the next LWP, or an
 * uncaught error ended it while its start function was still suspended (it
 * could resume later, under the next LWP): then it is retired, as a plain
 * worker's thread would have ended with that work.
 */
import type { MessagePort } from 'node:worker_threads';
import { syncBuiltinESMExports } from 'node:module';
import type * as TimersPromises from 'node:timers/promises';
import { worker_threads, host_builtin, host_setTimeout, host_setInterval, host_clearInterval, host_setImmediate } from '../kern/host.js';
import { attach, type KernelImage } from '../kern/boot.js';
import { cur, H_SCRATCH, panicked } from '../kern/hdr.js';
import { LW_THREW, lwp_byid } from './lwp.js';
import { sq_abandon_thread, sq_thread_abandoned } from '../kern/sleepwait.js';
import { lwp_bind, lwp_bind_exited, lwp_startup, lwp_halt, lwp_exit_common, lwp_orphan_sleepers } from './ops.js';
import { spawn_set_lwp0_port } from './spawn.js';
import { lwp_reap_dead } from './reap.js';
import { LwpExit, exited_self } from './exit.js';
import { WS_STARTING, WS_IDLE, WS_GONE, type RunRequest, type WorkerReport } from './pool.js';
import { start_importer, type ModuleImporter } from './start-import.js';

// The channel to the pool's owner (workerData.port); requests to lwp0 go on
// workerData.lwp0 when the owner is the main thread, else on this one.
let port: MessagePort;
/** This worker's state word, shared with the pool's owner (pool.ts). */
let state: Int32Array;
/** How the entry imports a start module (import() resolves from the file that calls it). */
let importer: ModuleImporter;
const START_IMPORT = Symbol.for('ukern.start_import');

/**
 * Attaches this worker to kernel memory and starts serving run requests.
 * `importer` is the entry's own `(s) => import(s)`.
 */
export function trampoline_start(imp: (specifier: string) => Promise<unknown>): void {
  const d = worker_threads().workerData as { image: KernelImage; port: MessagePort; lwp0?: MessagePort; state: Int32Array };
  importer = start_importer(imp, import.meta.url);
  // Offered to start modules that load another (the class layer's start
  // shim, ukern/lwp-start.ts, which loads no kernel code to import this).
  (globalThis as { [START_IMPORT]?: ModuleImporter })[START_IMPORT] = importer;
  port = d.port;
  state = d.state;
  attach(d.image);
  spawn_set_lwp0_port(d.lwp0 ?? port);
  scope_timers();
  process.on('uncaughtException', on_uncaught);
  process.on('exit', on_exit);
  process.on('unhandledRejection', on_unhandled);
  port.on('message', (m: RunRequest) => {
    if (m.t === 'run') void run(m);
  });
  ownPorts = ports_listed();
  Atomics.compareExchange(state, 0, WS_STARTING, WS_IDLE); // fails when already given an LWP
  post({ t: 'ready' });
}

/*
 * Run-scoped timers. Node lists only what is ref'd, so a worker whose LWP
 * left an unref'd timer or immediate pending (an unref'd setTimeout or
 * setInterval, an AbortSignal.timeout, an immediate unref'd at the end)
 * goes back to the pool, and that callback would run under the next LWP of
 * the worker (a throw there ended that LWP as if its own start function had
 * thrown). A plain worker would have ended, and the callback never run. So
 * the LWP's timer functions schedule the host's timer with the callback
 * wrapped: it runs only while the run that scheduled it is the current one
 * (a stale interval clears itself). Whatever the LWP holds is the host's own
 * Timeout or Immediate, so clear*, ref, unref, hasRef, refresh and
 * Symbol.toPrimitive work as ever. The kernel's own timers of the whole
 * thread use the functions host.ts captured before this (they belong to no
 * LWP). Measured against async_hooks designs (2-25x on promise-heavy code,
 * the first pool helper's report): a wrapper costs only the timer calls.
 *
 * One more exemption: a wrapped timer that Node's own code unrefs (its
 * bundled fetch, undici, keeps its clock on an unref'd global setTimeout,
 * refreshed from its own callback, made by whichever LWP first fetched)
 * stays the thread's: dropped once, that clock would stop for good, and
 * every later LWP's fetch with it. Only at unref (a stack frame ~5 us),
 * never at every timer call: a timer left ref'd retires the worker anyway.
 *
 * Not covered (docs/internals.md, the LWP pool): unref'd handles (sockets,
 * servers, child processes, fs.watch), Atomics.waitAsync and promises that
 * settle from them, FinalizationRegistry callbacks.
 */

/**
 * The run a callback belongs to: the current run's serial, 0 between runs.
 * A callback scheduled between runs (by a finished LWP's microtasks, after
 * its exit) belongs to no run and never runs: its LWP is gone.
 */
function epoch(): number { return running; }
/** Whether the run `me` is the current one. */
function live(me: number): boolean { return me !== 0 && running === me; }

/**
 * On a scoped Timeout or Immediate: the run it belongs to (RUN_NODE once
 * Node's own code unrefs it: the thread's), and the LWP's callback. On the
 * object, with one shared callback, rather than in a closure per timer (a
 * micro-benchmark of 1e5 setTimeout(cb, 0) at once, medians of 9: Node's
 * own ~0.3 us a timer, a closure with rest arguments ~2 us more, these
 * ~0.8 us more).
 */
const RUN = Symbol('ukern.timer_run');
const CB = Symbol('ukern.timer_cb');
const RUN_NODE = -1;
type Scoped = { [RUN]?: number; [CB]?: Fn };
type Fn = (...a: unknown[]) => unknown;
const PROMISIFY = Symbol.for('nodejs.util.promisify.custom');
const NODE_FRAME = /\n\s*at (?:[^\n]* \()?node:/;
const stack_probe: { stack?: string } = {};

/** Whether the caller of `fn` is Node's own code (a `node:` module). */
function called_from_node(fn: Fn): boolean {
  const lim = Error.stackTraceLimit;
  Error.stackTraceLimit = 1;
  Error.captureStackTrace(stack_probe, fn);
  Error.stackTraceLimit = lim;
  const st = stack_probe.stack ?? '';
  stack_probe.stack = undefined;
  return NODE_FRAME.test(st);
}

/** A promise that never settles: what a finished run's awaits get, as in a thread that has ended. */
function never<T>(): Promise<T> { return new Promise<T>(() => { /* the run is over */ }); }

/** `p`, settled only while the run `me` is current (else never: the finished run's async code does not resume). */
function gate<T>(p: Promise<T>, me: number): Promise<T> {
  return p.then((v) => (live(me) ? v : never<T>()), (e: unknown) => { if (live(me)) throw e; return never<T>(); });
}

function scope_timers(): void {
  const g = globalThis as unknown as Record<string, unknown>;
  const timers = host_builtin('node:timers') as Record<string, unknown>;
  const tp = host_builtin('node:timers/promises') as typeof TimersPromises & Record<string, unknown>;
  const st = host_setTimeout as unknown as (cb: Fn, ms?: unknown, ...a: unknown[]) => NodeJS.Timeout;
  const si = host_setInterval as unknown as (cb: Fn, ms?: unknown, ...a: unknown[]) => NodeJS.Timeout;
  const sm = host_setImmediate as unknown as (cb: Fn, ...a: unknown[]) => NodeJS.Immediate;

  // Node calls a callback with its Timeout or Immediate as `this` and the
  // arguments given after the delay (handed over as they come, with
  // Node's own checks and errors for the delay and the callback).
  const scope = <T extends object>(t: T, cb: unknown): T => {
    (t as Scoped)[RUN] = epoch();
    (t as Scoped)[CB] = cb as Fn;
    return t;
  };
  // setTimeout and setInterval differ only in the host's function and what
  // fires: one wrapper made twice. Each argument count written out, so that
  // no rest array is made per timer.
  const delayed = (name: string, host: typeof st, plain: Fn, withArgs: Fn): ((cb: unknown, ms?: unknown, a1?: unknown, a2?: unknown, a3?: unknown) => NodeJS.Timeout) => {
    const f = function (cb: unknown, ms?: unknown, a1?: unknown, a2?: unknown, a3?: unknown): NodeJS.Timeout {
      if (typeof cb !== 'function') return host(cb as Fn, ms); // Node's ERR_INVALID_ARG_TYPE
      switch (arguments.length) {
        case 1: case 2: return scope(host(plain, ms), cb);
        case 3: return scope(host(withArgs, ms, a1), cb);
        case 4: return scope(host(withArgs, ms, a1, a2), cb);
        case 5: return scope(host(withArgs, ms, a1, a2, a3), cb);
        default: return scope(host(withArgs, ms, ...(Array.prototype.slice.call(arguments, 2) as unknown[])), cb);
      }
    };
    Object.defineProperty(f, 'name', { value: name });
    return f;
  };
  const setTimeout = delayed('setTimeout', st, fire, fire_args);
  const setInterval = delayed('setInterval', si, fire_interval, fire_interval);
  const setImmediate = function setImmediate(cb: unknown, a1?: unknown, a2?: unknown, a3?: unknown): NodeJS.Immediate {
    if (typeof cb !== 'function') return sm(cb as Fn);
    switch (arguments.length) {
      case 1: return scope(sm(fire), cb);
      case 2: return scope(sm(fire_args, a1), cb);
      case 3: return scope(sm(fire_args, a1, a2), cb);
      case 4: return scope(sm(fire_args, a1, a2, a3), cb);
      default: return scope(sm(fire_args, ...(Array.prototype.slice.call(arguments, 1) as unknown[])), cb);
    }
  };
  // util.promisify(setTimeout) and (setImmediate): timers/promises' (below), read when asked as Node's getter does.
  Object.defineProperty(setTimeout, PROMISIFY, { get: () => tp.setTimeout, enumerable: true });
  Object.defineProperty(setImmediate, PROMISIFY, { get: () => tp.setImmediate, enumerable: true });

  // The exemption for Node's own unref'd timers (see above): on the
  // prototypes, so the objects stay the host's own.
  const probeT = st(noop, 0), probeI = sm(noop);
  clearTimeout(probeT); clearImmediate(probeI);
  const hostUnref = scope_unref(Object.getPrototypeOf(probeT) as UnrefProto);
  scope_unref(Object.getPrototypeOf(probeI) as UnrefProto);

  g.setTimeout = timers.setTimeout = setTimeout;
  g.setInterval = timers.setInterval = setInterval;
  g.setImmediate = timers.setImmediate = setImmediate;

  // AbortSignal.timeout: Node's own timer is internal (no global call to
  // wrap); this one aborts the same way (a TimeoutError DOMException), on
  // an unref'd host timer, only while its run is current. Not a uint32:
  // Node's own call, for Node's own error.
  const abortTimeout = AbortSignal.timeout.bind(AbortSignal);
  AbortSignal.timeout = function timeout(delay: number): AbortSignal {
    if (typeof delay !== 'number' || !Number.isInteger(delay) || delay < 0 || delay > 0xffffffff) return abortTimeout(delay);
    const ac = new AbortController();
    const me = epoch();
    const t = st(() => {
      if (live(me)) ac.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    }, delay);
    hostUnref.call(t as unknown as Scoped);
    return ac.signal;
  };

  // timers/promises makes its timers inside Node: what the LWP awaits is
  // gated instead. A promise of a finished run never settles, so the
  // finished run's async code never resumes (under whichever LWP runs
  // then), as in a thread that has ended; an interval's iterator is also
  // stopped then.
  const pTimeout = tp.setTimeout, pImmediate = tp.setImmediate, pInterval = tp.setInterval, sched = tp.scheduler;
  tp.setTimeout = function setTimeout(...a: unknown[]) { return gate(Reflect.apply(pTimeout, tp, a) as Promise<unknown>, epoch()); } as typeof tp.setTimeout;
  tp.setImmediate = function setImmediate(...a: unknown[]) { return gate(Reflect.apply(pImmediate, tp, a) as Promise<unknown>, epoch()); } as typeof tp.setImmediate;
  tp.setInterval = function setInterval(...a: unknown[]) {
    const it = Reflect.apply(pInterval, tp, a) as AsyncIterableIterator<unknown> & AsyncGenerator<unknown>;
    const me = epoch();
    const stale = (): Promise<IteratorResult<unknown>> => { void it.return(undefined).catch(noop); return never(); };
    const wrapped = {
      next: (...n: [] | [unknown]) => it.next(...n).then((r) => (live(me) ? r : stale()), (e: unknown) => { if (live(me)) throw e; return stale(); }),
      return: (v?: unknown) => it.return(v),
      throw: (e?: unknown) => it.throw(e),
      [Symbol.asyncIterator]() { return this; },
    };
    return wrapped;
  } as typeof tp.setInterval;
  const gsched = Object.create(sched) as typeof sched;
  Object.defineProperties(gsched, {
    wait: { value: function wait(...a: unknown[]) { return gate(Reflect.apply(sched.wait, sched, a) as Promise<void>, epoch()); }, writable: true, configurable: true },
    yield: { value: function yield_() { return gate(sched.yield(), epoch()); }, writable: true, configurable: true },
  });
  (tp as Record<string, unknown>).scheduler = gsched;
  syncBuiltinESMExports();
}

function noop(): void { /* nothing */ }

/** Whether a scoped timer's callback may run now: its run is current, or it is the thread's. */
function due(t: Scoped): boolean {
  const me = t[RUN]!;
  return me === RUN_NODE || live(me);
}
/** The host's callback of a scoped timer or immediate without arguments. */
function fire(this: Scoped): unknown {
  return due(this) ? this[CB]!.call(this) : undefined;
}
/** The same with arguments. */
function fire_args(this: Scoped): unknown {
  return due(this) ? Reflect.apply(this[CB]!, this, arguments) : undefined;
}
/** An interval's: a stale one clears itself (it would fire for nobody from now on). */
function fire_interval(this: Scoped): unknown {
  if (due(this)) return Reflect.apply(this[CB]!, this, arguments);
  host_clearInterval(this as unknown as NodeJS.Timeout);
  return undefined;
}

type UnrefProto = { unref(this: Scoped): unknown };
/** Patches `proto`'s unref for the exemption of Node's own timers; returns the host's unref. */
function scope_unref(proto: UnrefProto): (this: Scoped) => unknown {
  const unref = proto.unref;
  proto.unref = function unref_(this: Scoped) {
    const me = this[RUN];
    if (me !== undefined && me !== RUN_NODE && called_from_node(unref_ as Fn)) this[RUN] = RUN_NODE;
    return unref.call(this);
  };
  return unref;
}

/** This worker is free again (or must not be reused): the state word first, then the owner's bookkeeping. */
function done(lid: number, reusable: boolean): void {
  Atomics.store(state, 0, reusable ? WS_IDLE : WS_GONE);
  post({ t: 'idle', lid, reusable });
}

function post(m: WorkerReport): void { port.postMessage(m); }

function on_uncaught(e: unknown): void {
  if (e instanceof LwpExit) {
    // lwp_exit() unwound through a callback: the LWP has exited, but its
    // start function has not settled (finish would have unbound it). As
    // below: the worker is retired, that function with it; left bound to
    // the dead LWP, the worker was never reused nor ended, and the function
    // resumed in it at its next event.
    if (cur.lwp !== 0) finish(0, true);
    return;
  }
  const lid = cur.lid;
  console.error(`ukern: uncaught exception in LWP ${lid || '(none)'}:`, e);
  // The start function has not settled (finish would have unbound the LWP):
  // it may resume at any later event, and nothing here can cancel it. In a
  // worker of its own an uncaught error would end the thread, and that
  // function with it: so does this one, retired (not reused) once the LWP
  // has exited.
  if (cur.lwp !== 0) finish(LW_THREW, true);
}

/**
 * An lwp_exit() in an async callback the start function does not await
 * rejects a promise nobody handles: the LWP has exited, its start function
 * has not settled. Retired as on_uncaught retires it; only printed, the
 * worker never told its owner the LWP was gone (the booting thread held the
 * process for it for ever) and stayed bound to the dead LWP.
 */
function on_unhandled(e: unknown): void {
  if (e instanceof LwpExit) { on_uncaught(e); return; } // as thrown from a callback
  console.error(`ukern: unhandled rejection in LWP ${cur.lid || '(none)'}:`, e);
}

/*
 * process.exit() in an LWP ends the worker: its LWP exits as LW_DIED here,
 * synchronously, before the thread goes (the pool's owner reaps it too, from
 * the worker's 'exit' event, but the owner may be the main thread, blocked
 * in the kernel waiting for this very LWP). The thread's other 'exit'
 * listeners (the program's exit hooks) run after this one: the thread then
 * stops being that LWP, as after lwp_exit (ops.ts lwp_bind_exited), and a
 * kernel call from a hook unwinds with LwpExit. Left bound, such a call
 * acted as the zombie (a sleep took it back to ONPROC, and its waiter's
 * lwp_wait waited for ever) or, its slot freed and reused, as another LWP.
 */
function on_exit(): void {
  if (running !== 0 && cur.lwp !== 0 && !exited_self()) {
    lwp_reap_dead(cur.lid);
    exited_self(true);
    lwp_bind_exited();
  }
}

/**
 * The run whose LWP this worker is bound to (a serial of this worker's
 * runs), 0 when none. Each run finishes its LWP only while it is still the
 * current one: a start function that settles after its LWP was ended for it
 * (an uncaught error) must not end the LWP bound after it.
 */
let running = 0;
let runs = 0;
/** MessagePorts the trampoline itself keeps listening (its channel to the pool's owner), as Node lists them. */
let ownPorts = 0;

function ports_listed(): number {
  let n = 0;
  for (const r of process.getActiveResourcesInfo()) if (r === 'MessagePort') n++;
  return n;
}

/**
 * Whether the thread holds work of the LWP that would run under the next
 * one: whatever keeps the event loop alive (Node lists what is ref'd:
 * timers, immediates, handles, requests), but the trampoline's own ports
 * and a close in progress. A ref'd port the LWP left listening (a
 * MessagePort or BroadcastChannel with a handler: Node lists both as
 * MessagePort) is work too: it would deliver its next message to that
 * handler, under whichever LWP runs then. One more is not: a worker's
 * stdout and stderr write to the parent thread on a port of Node's own,
 * ref'd while a write waits for the parent to take it (as long as the
 * parent does not turn its event loop: the main thread may be blocked in
 * lwp_wait). Counted, any LWP that printed just before it ended (3 % of the
 * test suite's LWPs) would cost the next create a worker start.
 */
function left_behind(): boolean {
  let ports = 0;
  for (const r of process.getActiveResourcesInfo()) {
    if (r === 'MessagePort') ports++;
    else if (r !== 'CloseReq') return true;
  }
  if (ports <= ownPorts) return false;
  const stdio = process.stdout.writableLength > 0 || process.stderr.writableLength > 0 ? 1 : 0;
  return ports > ownPorts + stdio;
}

/**
 * Start modules this worker has imported, by href. A warm worker that runs
 * the same module again calls its export at once: import() of a module
 * already loaded still resolves it through the loader and settles a
 * Promise (~8-10 us of an lwp_create -> running of ~40 us, measured).
 */
const loaded = new Map<string, Record<string, unknown>>();
async function load(href: string): Promise<Record<string, unknown>> {
  const mod = (await importer(href)) as Record<string, unknown>;
  loaded.set(href, mod);
  return mod;
}

/** What a failed run's line says, by where it got to. */
const RUN_FAILED = {
  halted: 'ended before its start function ran',
  loading: 'could not start: its start module or export',
  running: 'start function threw',
} as const;

async function run(req: RunRequest): Promise<void> {
  const h = lwp_byid(req.lid);
  if (h === 0) { done(req.lid, true); return; }
  const me = running = ++runs;
  lwp_bind(h);
  let flags = 0;
  // Where it got to: waiting for lwp_continue, loading its module, running its function.
  let phase: 'halted' | 'loading' | 'running' = 'halted';
  try {
    // In the try: a panic ends the wait for lwp_continue with EIO, and the
    // LWP then ends here (thrown out of the run, it stayed bound and its
    // worker never reported: the process was held for it for ever).
    lwp_startup(h);
    lwp_halt(); // created LWP_SUSPENDED: wait here for lwp_continue
    phase = 'loading';
    const mod = loaded.get(req.module) ?? await load(req.module);
    const fn = mod[req.exp];
    if (typeof fn !== 'function') throw new TypeError(`lwp_create: ${req.module} has no function export '${req.exp}'`);
    phase = 'running';
    await (fn as (a: unknown) => unknown)(req.arg);
  } catch (e) {
    if (!(e instanceof LwpExit)) {
      flags = LW_THREW;
      // Said as it was: a start function that never ran (a panic in its wait
      // for lwp_continue; a module that could not be loaded, or has no such
      // export) did not throw.
      console.error(`ukern: LWP ${req.lid} ${RUN_FAILED[phase]}:`, e);
    }
  }
  if (running === me) finish(flags);
}

/**
 * Ends the current LWP (unless lwp_exit already did) and returns the worker
 * to its pool; `abandoned`: its start function has not settled, and the
 * worker is retired.
 */
function finish(flags: number, abandoned = false): void {
  running = 0;
  const h = cur.lwp, lid = cur.lid;
  if (h === 0) return;
  let stuck = false;
  if (!exited_self()) {
    try {
      // Pending async waits leave their queues (and are freed) before the LWP
      // goes: their continuations must not run under the next LWP.
      if (lwp_orphan_sleepers(h) > 0) sq_abandon_thread();
      lwp_exit_common(h, lid, flags);
    } catch (e) {
      // After a panic the exit can fail (EIO: a lock it needs was left held
      // by the thread that panicked). The LWP then never exits, but the
      // worker still reports, retired: thrown through, it said nothing, and
      // the booting thread, never told of the panic, kept the process alive
      // for that LWP for ever (test/lwp0-keepalive-panic).
      if (!panicked()) throw e;
      stuck = true;
    }
  }
  const busy = stuck || abandoned || left_behind();
  cur.lid = 0; cur.lwp = 0; cur.nlocksw = H_SCRATCH; cur.sparew = 0;
  exited_self(false);
  done(lid, !busy && !sq_thread_abandoned());
}

