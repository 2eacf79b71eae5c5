/**
 * Boot options: the kernel's resource controls (tunables). Each subsystem
 * declares its own with {@link define_tunable} and augments the
 * {@link BootOptions} interface, so the core does not list them all.
 */
import { fail } from './errno.js';
import { arg_type, copyin_fault } from './copyin.js';

/**
 * Resource controls fixed at boot. Every field is optional; unset ones take
 * the defaults documented beside each subsystem's tunables.
 */
export interface BootOptions {
  /** Upper bound on kernel memory, bytes (default 256 MiB). Boot fails with ENOMEM if the tables do not fit. */
  memsize?: number;
  /** Most LWPs alive (not yet collected) at once, maxlwp (default 256). */
  maxlwp?: number;
  /**
   * Warm worker threads kept for reuse by lwp_create (default 2), per creating
   * side: the main thread's creates and the LWPs' own (served by lwp0) each
   * keep this many, ~8 MiB RSS a worker.
   */
  lwp_pool?: number;
  /**
   * Milliseconds that idle workers beyond lwp_pool are kept after their LWPs
   * end before they are retired (default 2000; 0: at once). Bursts of creates
   * closer together than this reuse the same workers instead of starting new
   * ones; each kept worker is ~8 MiB of RSS.
   */
  lwp_pool_linger?: number;
  /** Sleep-queue entries for async waits, kernel-wide (default 1024). */
  async_sleepers?: number;
  /**
   * Check every kernel mutex acquisition against the lock order and panic on
   * a violation (NetBSD's LOCKDEBUG; kern/lockdebug.ts). Default false, or
   * true when the environment has UKERN_LOCKDEBUG=1 (the test suite's way).
   */
  lockdebug?: boolean;
  /**
   * Bytes of kernel memory for structured messages (Port.post), rounded down
   * to a power of two (default 4 MiB, at least 64 KiB, at most 1 GiB). Mapped,
   * not touched: a page costs RSS once a message has used it. A post finds it
   * full: postSync gets EAGAIN, post waits for room.
   */
  msg_arena?: number;
}

/** A tunable: an integer in [min, max], or a flag (given as a boolean, kept as 0 or 1). */
export interface Tunable { dflt: number; min: number; max: number; flag: boolean }
const tunables = new Map<string, Tunable>();

/** Declares a tunable with its default and accepted range. */
export function define_tunable(name: string, dflt: number, min: number, max: number): void {
  tunables.set(name, { dflt, min, max, flag: false });
}

/** Declares a boolean tunable (resolved to 1 or 0). */
export function define_flag(name: string, dflt: boolean): void {
  tunables.set(name, { dflt: dflt ? 1 : 0, min: 0, max: 1, flag: true });
}

define_tunable('memsize', 256 * 1024 * 1024, 64 * 1024, 2 ** 31 * 4);
define_tunable('maxlwp', 256, 2, 1 << 16);
define_tunable('lwp_pool', 2, 0, 256);
define_tunable('lwp_pool_linger', 2000, 0, 3_600_000);
define_tunable('async_sleepers', 1024, 16, 1 << 20);
define_flag('lockdebug', process.env.UKERN_LOCKDEBUG === '1');
define_tunable('msg_arena', 4 * 1024 * 1024, 64 * 1024, 1 << 30);

/**
 * Every tunable declared so far, by name (the modules loaded declare
 * theirs): what docs/sys.md's table of boot options is checked against.
 */
export function tunable_defs(): ReadonlyMap<string, Readonly<Tunable>> { return tunables; }

/** Resolved options: every declared tunable has a value. */
export type Tunables = Readonly<Record<string, number>>;

/** Checks user options and fills in defaults; `given` gets the names of those set (each option is read once). */
export function resolve_options(o: BootOptions | undefined, given?: Set<string>): Tunables {
  if (o !== undefined && (o === null || typeof o !== 'object')) arg_type('boot', 'options must be an object');
  const opts = (o ?? {}) as Record<string, unknown>;
  const out: Record<string, number> = {};
  let keys: string[] = [];
  try { keys = Object.keys(opts); } catch (e) { copyin_fault(e, opts, 'options', 'boot'); }
  for (const k of keys) {
    if (!tunables.has(k)) arg_type('boot', `unknown option ${k}`);
  }
  for (const [k, t] of tunables) {
    let v: unknown;
    try { v = opts[k]; } catch (e) { copyin_fault(e, opts, 'options', 'boot'); }
    if (v === undefined) { out[k] = t.dflt; continue; }
    given?.add(k);
    if (t.flag) {
      if (typeof v !== 'boolean') arg_type('boot', `option ${k} must be a boolean`);
      out[k] = v ? 1 : 0;
      continue;
    }
    if (typeof v !== 'number') arg_type('boot', `option ${k} must be a number`);
    if (!Number.isInteger(v) || v < t.min || v > t.max) fail('EINVAL', 'boot', `${k}=${v} outside [${t.min}, ${t.max}]`);
    out[k] = v;
  }
  return Object.freeze(out);
}
