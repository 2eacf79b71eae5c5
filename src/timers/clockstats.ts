/**
 * Counters of the clock thread (kstat module 'clock') and the starter that
 * makes sure the thread runs once the first callout is armed on the
 * monotonic time line. The thread is started lazily so that a kernel that
 * never arms a timer never has one.
 */
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import { callout_set_arm_hook } from './callout.js';
import { kthread_start } from '../lwp/kthread.js';

/** Times the clock thread woke from a wait. */
export const C_WAKEUPS = kstat_counter('clock', 'wakeups');
/** µs spent spinning before deadlines. */
export const C_SPIN_US = kstat_counter('clock', 'spin_us');
/** Deadlines the wait overslept (fired late by more than the margin). */
export const C_LATE = kstat_counter('clock', 'overslept');
/** CPU µs used by the clock thread (when the FFI can read its thread clock). */
export const C_CPU_US = kstat_counter('clock', 'cpu_us');
/** 1 once the clock thread runs; 2 more if its timer slack was lowered to 1 ns. */
export const C_STARTED = kstat_counter('clock', 'started');
export const C_SLACK = kstat_counter('clock', 'slack_1ns');

/** Called by the clock thread once attached. */
export function clock_thread_announce(slack: boolean): void {
  asked = true; // the clock thread never starts itself
  kstat_add(C_STARTED);
  if (slack) kstat_add(C_SLACK);
}

let asked = false;
/**
 * Starts the clock thread if nobody has asked yet. Called when a real-clock
 * timer is created (so the thread, a worker start of tens of ms, is usually
 * up before the first expiry) and, as a backstop, when a callout is armed.
 */
export function clock_thread_start(): void {
  if (asked) return;
  asked = true;
  kthread_start('clock', new URL('./clockthread.js', import.meta.url));
}
callout_set_arm_hook(clock_thread_start);
