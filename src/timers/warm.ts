/**
 * The first expiry's path, warmed, once per thread (the start-up issue: the
 * first timer of a process fires on time). timer_create calls it for the
 * thread's first SIGEV_PORT timer; the theory is below.
 */
import { v8_module, host_setTimeout, host_clearTimeout, host_setImmediate, host_clearImmediate } from '../kern/host.js';
import { hold } from '../kern/keepalive.js';
import { sq_warm } from '../kern/sleepwait.js';
import { close } from '../kern/sys.js';
import type { Timespec, Itimerspec } from '../kern/time.js';
import { port_getn, port_create, port_get } from '../ports/sys.js';
import { TL_MANUAL } from './clocks.js';
import { dwait_thread_setup } from './dwait.js';
import { callout_reset, callout_stop, callout_run } from './callout.js';
import { SIGEV_PORT, CLOCK_MONOTONIC } from './consts.js';
import { clock_warm, clock_quietly } from './clockstats.js';
import { timer_create, timer_settime, timer_delete } from './sys.js';
import { timer_grab, timer_release } from './timertab.js';
import { IT } from './itimer.js';
import { I32 } from '../kern/kmem.js';

/*
 * The first expiry's path, warmed. In a fresh thread every kernel function
 * is compiled by V8 at its first call (lazily, ~10-30 µs each), and the
 * first expiry of a timer armed right after boot runs some hundred of them
 * between the arm and the getter's return: 1.5-2 ms, most of it after the
 * deadline. So the thread's first SIGEV_PORT timer_create (which loads the
 * FFI already, tens of ms) calls once, with no effect anyone can see, what
 * it can of that path: Node's timer lists (the bridge's setImmediate and
 * setTimeout, the keep-alive's setInterval), a manual-line callout run
 * (nothing is left due on it), the bridge's run of due callouts, a kernel
 * sleep that times out at once, and port_getn(port, 0, 0), which only
 * counts the port's events (its copy-in, lookup and generator).
 * Then it runs one 200 µs expiry through a port and a timer of its own, read
 * by a blocking port_get (dry_run: timer_settime disarming that unarmed
 * timer, its callout armed at Infinity, never due, never a wake-up, and
 * stopped, holding its timer lock as every arm does; then the firing, send
 * and take paths), with
 * the clock thread's start policy and bridge counters out of the way
 * (clock_quietly), and leaves V8 a young generation it will not need to
 * scavenge in the next milliseconds (scavenge_now). It also lowers the
 * thread's timer slack for the deadline-aware wait, the FFI being loaded.
 * Seen from outside: kstat counters of one port and one timer created, armed,
 * fired and gone, and one descriptor number used (its slot's generation).
 */
let warmed = false;
const ZTS: Timespec = { tv_sec: 0, tv_nsec: 0 };
const ZSPEC: Itimerspec = { it_interval: ZTS, it_value: ZTS };
function noop(): void {}
/** One 200 µs timer expiry into a port of its own, read by a blocking port_get: the whole path once. */
function dry_run(): void {
  const p2 = port_create();
  try {
    const t2 = timer_create(CLOCK_MONOTONIC, { sigev_notify: SIGEV_PORT, sigev_notify_port: { portnfy_port: p2, portnfy_user: 0 } });
    try {
      timer_settime(t2, 0, ZSPEC);
      const it = timer_grab(t2);
      if (it !== 0) {
        try { const c = I32[it + IT.callout]!; callout_reset(c, Infinity); callout_stop(c); } finally { timer_release(it); }
      }
      timer_settime(t2, 0, { it_interval: ZTS, it_value: { tv_sec: 0, tv_nsec: 200_000 } });
      port_get(p2, { tv_sec: 0, tv_nsec: 50_000_000 });
    } finally {
      timer_delete(t2);
    }
  } finally {
    close(p2);
  }
}

/**
 * Fills what is left of V8's young generation with short-lived garbage, so
 * that the scavenge it will soon need happens here rather than in the first
 * expiry's window: a fresh process is some 4-6 MB into its heap by now
 * (modules, the FFI, this warm-up), and the scavenge V8 schedules as a loop
 * task when the young generation is nearly full (0.5-5 ms here) landed
 * between the arm and the deadline about half the time.
 */
function scavenge_now(): void {
  const ns = v8_module().getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
  if (ns === undefined) return;
  const ring: unknown[] = new Array<unknown>(8);
  let left = ns.space_available_size + 65536;
  for (let i = 0; left > 0; i++) { ring[i & 7] = new Array<unknown>(1000); left -= 8016; }
}

/**
 * Called after timer_release, so it never touches the caller's new timer:
 * its id is in the table and its lock free, and another LWP may have armed
 * it already (or deleted it, and its struct and callout gone to another
 * timer). Disarming it here undid such an arm, and arming its callout at
 * Infinity and stopping it, without the timer lock, left one armed with no
 * callout pending: it never fired (test/timers-create-warm). The calls on a
 * timer are made on dry_run's own.
 */
export function warm_first_expiry(port: number): void {
  if (warmed) return;
  warmed = true;
  try {
    dwait_thread_setup(); // the getter's timer slack, now that the FFI is loaded
    port_getn(port, 0, 0, ZTS); // max 0: reports the count, takes nothing
    host_clearImmediate(host_setImmediate(noop));
    host_clearTimeout(host_setTimeout(noop, 1));
    hold()();
    callout_run(TL_MANUAL);
    clock_warm();
    sq_warm();
    clock_quietly(dry_run);
    scavenge_now();
  } catch {
    // Warming is an optimisation: a failure here (a panic, its own timer
    // deleted by another thread meanwhile) is the real call's to report.
  }
}

