/**
 * Kernel threads (the clock thread, the intr thread, the AIO threads): worker threads that
 * run kernel code only. They must live as long as the process, so they are
 * started by a thread that does: lwp0, or the booting main thread itself
 * (`direct`), which saves the start of lwp0 in front of theirs (the two
 * start in parallel). The module's worker gets `workerData.image` and must
 * call attach_system_thread(image) first. A built bundle of the module
 * (spawn.ts kernel_module_url) is preferred: one file starts faster.
 *
 * Each subsystem claims its thread's start kernel-wide (a compare-and-swap
 * on a word of kernel memory) before it calls kthread_start, and says in
 * a KthreadClaim what a failed start gives back: the words it set when it
 * claimed (the claim last), and a word of its own that counts the name's
 * failed starts.
 *
 * A start request that cannot be made (new Worker, or the post to lwp0,
 * throws) is given back: kthread_start stores 0 in the claim's words and
 * returns false, so the next need tries again (until then
 * the bridges serve, as while any start is under way). Thrown through, it
 * failed the registering syscall whose registration had been made, and
 * left the start claimed for good: the intr thread never came, and its
 * sleepers polled the bridge every millisecond for ever.
 *
 * A start that fails after the request was made, before the thread is up
 * (its worker ends before its first message: a module that does not load,
 * koffi failing in the thread, a worker out of memory; test hook
 * UKERN_KTHREAD_FAIL_UP, spawn.ts), is given back by its starter (the
 * booting thread for its direct starts, lwp0 for the LWPs' requests) when
 * it sees the worker's 'exit' (kthread_watch): it bumps the name's failure
 * word, then stores 0 in the claim's words, the claim last, so that the
 * next need, in any thread, claims and asks again. Every memo of "asked
 * already" (this thread's `started`, lwp0's `served`) holds only while the
 * name's failure word is what it was when the memo was made; the bump comes
 * before the claim is free, so a thread that wins the claim next sees it.
 * Before, the starter only printed the failure: the claim stayed taken,
 * both memos kept the name, and the thread never came (the intr thread's
 * sleepers polled the bridge for ever, as in the synchronous case). A
 * starter that is blocked in the kernel (the main thread waiting in
 * aio_read for the AIO threads it started) sees the 'exit' only when its
 * event loop runs again. Failed starts are reported once per name per
 * thread (either kind), and counted (kstat lwp.kthread_start_failures).
 *
 * A kernel thread that ends after it said it is up is a panic, never a
 * restart (kthread_died; docs/internals.md, "A dead kernel thread"). Its
 * body never returns and nothing but process exit terminates it, so it
 * ended on a kernel bug: an uncaught error in kernel code, which may have
 * left a kernel lock held (a system thread's lock count is a word of its
 * own that no other thread reads) or work half done (a callout left
 * firing, events taken from the epoll set and not dispatched). A
 * restarted thread would wait for that lock for ever, or run the same
 * error again; the panic wakes every sleeper with EIO at once and names
 * the thread, where a silent death left them waiting for events and
 * expiries that never came.
 */
import type { Worker } from 'node:worker_threads';
import { writeSync } from 'node:fs';
import { format } from 'node:util';
import { lwp0_post, kernel_worker_start } from './spawn.js';
import { ensure_booted } from '../kern/boot.js';
import { I32 } from '../kern/kmem.js';
import { P, curproc } from '../kern/proc.js';
import { kstat_gauge, kstat_counter, kstat_add } from '../kern/kstat.js';
import { panic_mark } from '../kern/panic.js';

kstat_gauge('lwp', 'kthreads_starting', () => Atomics.load(I32, curproc() + P.kstarting));
/** Kernel threads whose start failed before they were up (given back by their starter). */
const C_START_FAILURES = kstat_counter('lwp', 'kthread_start_failures');

/**
 * What a kernel thread's start claimed, given back by its starter when the
 * start fails before the thread is up (see the header). Word addresses are
 * I32 indices of kernel memory, the same in every thread.
 */
export interface KthreadClaim {
  /** The name's failed starts (bumped before the words below are given back). */
  fails: number;
  /** Stored 0 (and notified) in this order: what the claimant set, its kernel-wide claim last. */
  words: readonly number[];
}

/** Names this thread asked for, with their failure word's value then (valid while it is unchanged). */
const started = new Map<string, number>();
/** Names whose failed start this thread reported already (one line, not one per registration). */
const reported = new Set<string>();

/** Reports a failed start of `name` here, once per name. */
function report_failure(name: string, what: string, e: unknown): void {
  if (reported.has(name)) return;
  reported.add(name);
  error_sync(`ukern: kernel thread ${name} ${what} (asked again at its next need):`, e);
}
/** console.error's line written to stderr at once, also from a worker (kthread_died says why). */
function error_sync(...a: unknown[]): void {
  try { writeSync(2, `${format(...a)}\n`); } catch { /* no stderr */ }
}

/**
 * Test hook: UKERN_KTHREAD_FAIL_START=name:n makes this thread's first n
 * start requests of `name` fail where the request is made, as a throwing
 * new Worker or post to lwp0 would.
 */
let failHook: { name: string; left: number } | null | undefined;
function fail_hook(name: string): void {
  if (failHook === undefined) {
    const m = /^([a-z0-9]+):(\d+)$/.exec(process.env.UKERN_KTHREAD_FAIL_START ?? '');
    failHook = m === null ? null : { name: m[1]!, left: Number(m[2]) };
  }
  if (failHook === null || failHook.name !== name || failHook.left <= 0) return;
  failHook.left--;
  throw new Error(`UKERN_KTHREAD_FAIL_START: start of ${name} refused (test)`);
}

/**
 * Starts the kernel thread `name` from `module` unless this thread already
 * asked for it since its last failed start; lwp0 likewise. With `direct`
 * (only from the booting main thread), this thread starts it. Returns
 * false when the request could not be made (reported once per name here):
 * nothing is asked then, and the claim's words are given back (stored 0,
 * the claim last) so that a later need asks again; the caller only resets
 * its own thread's state. Never throws for that. A start that fails later,
 * before the thread is up, is given back by the starter the same way.
 */
export function kthread_start(name: string, module: URL, direct: boolean, claim: KthreadClaim): boolean {
  ensure_booted();
  const gen = Atomics.load(I32, claim.fails);
  if (started.get(name) === gen) return true;
  started.set(name, gen);
  try {
    fail_hook(name);
    if (direct) { kthread_watch(kernel_worker_start(module, name), name, claim); return true; }
    // Counted until the thread is up (lwp0 uncounts it then, or at once when it
    // started that name already): the booting thread keeps lwp0, and so the
    // process, alive meanwhile. A kernel thread terminated while it loads
    // koffi aborts the whole process (spawn.ts kernel_worker_start), and this
    // LWP, alive now, may be gone before the thread is up.
    Atomics.add(I32, curproc() + P.kstarting, 1);
    try {
      lwp0_post({ t: 'kthread', name, module: module.href, fails: claim.fails, words: [...claim.words] });
    } catch (e) {
      Atomics.sub(I32, curproc() + P.kstarting, 1);
      throw e;
    }
    return true;
  } catch (e) {
    started.delete(name);
    give_back(claim);
    report_failure(name, 'could not be started', e);
    return false;
  }
}

/** lwp0's memo of the names it started, as `started` above. */
const served = new Map<string, number>();
/**
 * lwp0: serves an LWP's request for kernel thread `name` (counted by the
 * LWP until `settled`: up, failed, or asked already since its last failure).
 */
export function kthread_serve(name: string, module: URL, claim: KthreadClaim, settled: () => void): void {
  const gen = Atomics.load(I32, claim.fails);
  if (served.get(name) === gen) { settled(); return; }
  served.set(name, gen);
  let w: Worker;
  // A new Worker that throws here fails the start as an early end would
  // (thrown through, it ended lwp0, a panic, and kept the claim taken).
  try { w = kernel_worker_start(module, name, settled); } catch (e) { settled(); kthread_start_failed(name, claim, e); return; }
  kthread_watch(w, name, claim);
}

/** Stores 0 in the claim's words, in order (the claim last), and wakes whoever waits on them. */
function give_back(claim: KthreadClaim): void {
  for (const w of claim.words) { Atomics.store(I32, w, 0); Atomics.notify(I32, w); }
}

/**
 * The starter's give-back of a start that failed before the thread was up
 * (no lock held: a worker's 'exit' on the starter's event loop): the
 * failure word first, then the claim's words, the claim last (see the
 * header). Never throws.
 */
function kthread_start_failed(name: string, claim: KthreadClaim, why: unknown): void {
  Atomics.add(I32, claim.fails, 1);
  give_back(claim);
  kstat_add(C_START_FAILURES);
  report_failure(name, 'failed before it was up', why);
}

/**
 * Panics for kernel thread `name`, dead after it was up (see the header):
 * called by the thread's body on an error that escaped its loop, and by the
 * starting thread when the worker ended otherwise. Never throws.
 *
 * The panic's line is written to stderr at once, whichever thread calls
 * (as report_failure's are):
 * a worker's console output goes through its parent's event loop, which
 * may be blocked in the kernel or about to end (a program failing on the
 * EIO it now gets), and the line was lost. So it was from the dying
 * thread's own body at first; then from lwp0's watch of a thread it
 * started for an LWP, whose program printed its EIO and ended before the
 * line came through (test/kthread-dies, once in a fresh-clone CI run).
 */
export function kthread_died(name: string, why: unknown): void {
  const what = why instanceof Error ? why.stack ?? why.message : String(why);
  panic_mark_sync(`kernel thread ${name} died: ${what}; what it served (${SERVES[name.replace(/\d+$/, '')] ?? 'its work'}) has stopped`);
}

/** panic_mark(msg) with its line written to stderr at once, in any thread (kthread_died says why). Never throws. */
export function panic_mark_sync(msg: string): void {
  const was = console.error;
  console.error = error_sync;
  try {
    panic_mark(msg);
  } finally {
    console.error = was;
  }
}

/**
 * A kernel thread's body: `serve` called for ever; an error out of it is
 * the thread's death (kthread_died), after which the thread parks
 * until the process ends (ending the worker would only make its starter
 * report the same death again). The intr, clock and AIO threads run so.
 */
export function kthread_run(name: string, serve: () => void): never {
  try {
    for (;;) serve();
  } catch (e) {
    kthread_died(name, e);
  }
  const park = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(park, 0, 0);
}
const SERVES: Record<string, string> = { intr: 'OS events', clock: 'timer expiries', aio: 'asynchronous I/O' };

/**
 * The starting thread's watch on a kernel thread it started (the booting
 * thread's direct starts, lwp0's for the LWPs' requests): its end after
 * it said it is up (its first message) is a panic. Before that it is a
 * failed start, given back at the worker's 'exit' (after its 'error', if
 * any: the worker is gone then, and its messages were delivered first). At
 * process exit no 'exit' event comes: the workers are terminated after
 * this thread's event loop ran for the last time.
 */
function kthread_watch(w: Worker, name: string, claim: KthreadClaim): void {
  let up = false, err: unknown;
  w.on('error', (e) => { err ??= e; });
  w.once('message', () => { up = true; });
  w.once('exit', (code) => {
    if (up) kthread_died(name, err ?? `its worker ended (exit code ${code})`);
    else kthread_start_failed(name, claim, err ?? `its worker ended (exit code ${code})`);
  });
}

/** lwp0: a kthread request is settled (the thread is up, failed, or was up already). */
export function kthread_settled(): void { Atomics.sub(I32, curproc() + P.kstarting, 1); }
