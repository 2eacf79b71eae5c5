/**
 * Minimal reproducers of what the fuzzer found, one case each, so that a
 * fix can be checked without a fuzzing run (test/fuzz-repro.test.ts runs
 * them). Each case runs alone in a fresh process with its own kernel,
 * because several of them hang a thread inside the kernel:
 *
 *   node build/test/fuzz/repro.js            # all cases, each in a child with a deadline
 *   node build/test/fuzz/repro.js CASE       # one case, in this process
 *
 * A case passes when every call ends with a result, a SysError, or a
 * TypeError or RangeError with Node's argument-error code, and the kernel is
 * left consistent; it fails by throwing,
 * by exiting non-zero, or by not ending before the deadline (a hang).
 * The cases assert nothing the contract leaves open (which errno, which
 * TypeError message): only what the fuzzer's judge asserts.
 */
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as sys from '../../src/sys/index.js';

const ZERO = { tv_sec: 0, tv_nsec: 0 };

/** Calls f; an outcome the judge accepts is fine, anything else throws. */
function call(what: string, f: () => unknown): unknown {
  try { return f(); } catch (e) {
    if (e instanceof sys.SysError) return e;
    // An argument error says which (Node's code), as the fuzzer's judge demands.
    const code = (e as { code?: unknown } | null)?.code;
    if ((e instanceof TypeError || e instanceof RangeError) && typeof code === 'string' && /^ERR_(INVALID_ARG_TYPE|INVALID_ARG_VALUE|OUT_OF_RANGE)$/.test(code)) return e;
    throw new Error(`${what} threw ${String(e)} (code ${String(code)})`);
  }
}

/** A timespec-like object whose getters run `f` first (user code re-entering the kernel). */
function reentrant<T extends object>(value: T, f: () => unknown): T {
  const o = {} as T;
  for (const k of Object.keys(value) as (keyof T)[]) {
    Object.defineProperty(o, k, { enumerable: true, get: () => { call('re-entrant call', f); return value[k]; } });
  }
  return o;
}

/** Property names read a second time by the current call. */
const twice: string[] = [];
/** A copy of `value` whose properties count their reads. */
function counting<T extends object>(value: T): T {
  const o = {} as T;
  for (const k of Object.keys(value) as (keyof T & string)[]) {
    let reads = 0;
    Object.defineProperty(o, k, { enumerable: true, get: () => { if (++reads === 2) twice.push(k); return value[k]; } });
  }
  return o;
}

function fixture(): URL { return new URL('./lwp.js', import.meta.url); }

export const CASES: Readonly<Record<string, { what: string; run: () => void | Promise<void> }>> = {
  'port-first-call-fd-minus-1': {
    what: 'a port call with fd -1 as the first port call of a thread (port_get, port_send, port_alert) ends (EBADF)',
    run: () => {
      sys.boot();
      call('port_get(-1)', () => sys.port_get(-1, ZERO));
    },
  },
  'port_get-timeout-getter-reenters': {
    what: 'port_get whose timeout getter calls port_get on the same port ends',
    run: () => {
      const p = sys.port_create();
      call('port_get', () => sys.port_get(p, reentrant(ZERO, () => sys.port_get(p, ZERO))));
      sys.close(p);
    },
  },
  'port_getn-timeout-getter-reenters': {
    what: 'port_getn whose (short, valid) timeout getter calls port_get on the same port ends',
    run: () => {
      const p = sys.port_create();
      call('port_getn', () => sys.port_getn(p, 7, 3, reentrant({ tv_sec: 0, tv_nsec: 467_007 }, () => sys.port_get(p, ZERO))));
      sys.close(p);
    },
  },
  'kevent-second-change-getter-reenters': {
    what: 'kevent whose second change has a getter calling kevent on the same kqueue ends (the first change took the kq lock)',
    run: () => {
      const kq = sys.kqueue();
      const second = reentrant(sys.EV_SET(2, sys.EVFILT_USER, sys.EV_ADD, 0, 0, 0), () => sys.kevent(kq, null, 1, ZERO));
      call('kevent', () => sys.kevent(kq, [sys.EV_SET(1, sys.EVFILT_USER, sys.EV_ADD, 0, 0, 0), second], 8, ZERO));
      sys.close(kq);
    },
  },
  'timer_settime-interval-getter-reenters': {
    what: 'timer_settime arming a timer, whose it_interval getter calls timer_settime on the same timer, ends',
    run: () => {
      const t = sys.timer_create(sys.CLOCK_MONOTONIC, null);
      // The inner arm is far off: the timer's default notification is SIGALRM,
      // whose default action ends the process, and an expiry that came due
      // before the outer call re-sets the timer is fired, as a kernel would
      // have fired it (timers/sys.ts): 1 ms here was a race with the outer
      // call's copy-in under load.
      const other = { it_value: { tv_sec: 60, tv_nsec: 0 }, it_interval: ZERO };
      call('timer_settime', () => sys.timer_settime(t, 0,
        { it_interval: reentrant(ZERO, () => sys.timer_settime(t, 0, other)), it_value: { tv_sec: 1, tv_nsec: 0 } }));
      sys.timer_delete(t);
    },
  },
  'copy-in-reads-each-user-property-once': {
    what: 'every call reads each property of a user object at most once (timeouts, abstime, timespecs, itimerspec, sigevent)',
    run: () => {
      sys.boot();
      const p = sys.port_create(), kq = sys.kqueue(), t = sys.timer_create(sys.CLOCK_MONOTONIC, null);
      const ts = (sec = 0, nsec = 0): sys.Timespec => counting({ tv_sec: sec, tv_nsec: nsec });
      const calls: [string, () => unknown][] = [
        ['port_get timeout', () => sys.port_get(p, ts())],
        ['port_getn timeout', () => sys.port_getn(p, 1, 1, ts())],
        ['kevent timeout', () => sys.kevent(kq, null, 1, ts())],
        ['kevent change', () => sys.kevent(kq, [counting(sys.EV_SET(1, sys.EVFILT_USER, sys.EV_ADD, 0, 0, 0))], 0, null)],
        ['lwp_park abstime', () => sys.lwp_park(ts(0, 1))],
        ['clock_settime', () => sys.clock_settime(sys.CLOCK_MANUAL, ts(0, 5))],
        ['clock_advance', () => sys.clock_advance(sys.CLOCK_MANUAL, ts(0, 5))],
        ['timer_settime itimerspec', () => sys.timer_settime(t, 0, counting({ it_value: ts(1), it_interval: ts() }))],
        ['timer_create sigevent', () => sys.timer_delete(sys.timer_create(sys.CLOCK_MONOTONIC, counting({ sigev_notify: sys.SIGEV_NONE, sigev_value: 1 })))],
        ['lwp_create start', () => sys.lwp_create(counting({ module: fixture(), export: 'child', arg: 0 }), sys.LWP_DETACHED)],
      ];
      const bad: string[] = [];
      for (const [what, f] of calls) {
        twice.length = 0;
        call(what, f);
        if (twice.length) bad.push(`${what} (${[...new Set(twice)].join(', ')})`);
      }
      sys.timer_delete(t); sys.close(p); sys.close(kq);
      if (bad.length) throw new Error(`read more than once: ${bad.join('; ')}`);
    },
  },
  'itimer-mbox-freed-when-lwp-exits': {
    what: 'an LWP that created and deleted a SIGEV_THREAD timer leaves no mbox in use once collected',
    run: async () => {
      sys.boot({ lwp_pool: 0 });
      const lid = sys.lwp_create({ module: fixture(), export: 'threadTimer' });
      await sys.lwp_wait_async(lid);
      const deadline = Date.now() + 3000;
      for (;;) {
        const m = sys.kmem_snapshot().caches.find((c) => c.cache === 'mbox')!;
        if (m.inUse === 0) return;
        if (Date.now() > deadline) throw new Error(`mbox: ${m.inUse} in use after the LWP was collected`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  },
  'lwp-created-counts-only-lwps-that-exist': {
    what: 'a failed lwp_create (arg cannot be cloned) leaves kstat lwp.created - lwp.exited = LWPs alive',
    run: () => {
      sys.boot();
      call('lwp_create', () => sys.lwp_create({ module: fixture(), export: 'child', arg: Symbol('no clone') }));
      const k = sys.kstat('lwp');
      const alive = sys.lwp_snapshot().lwps.filter((l) => l.state !== 'ZOMB').length;
      if (k['lwp.created']! - k['lwp.exited']! !== alive) {
        throw new Error(`lwp.created ${k['lwp.created']} - lwp.exited ${k['lwp.exited']} != ${alive} LWPs alive`);
      }
    },
  },
};

async function runOne(name: string): Promise<void> {
  const c = CASES[name];
  if (c === undefined) throw new Error(`no case ${name}; cases: ${Object.keys(CASES).join(', ')}`);
  await c.run();
  const bad = sys.lwp_check();
  if (bad.length) throw new Error(`lwp_check: ${bad.join('; ')}`);
}

/** Runs a case in a child process with a deadline; returns null when it passed, else why not. */
export function runCase(name: string, ms = 10_000): string | null {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), name], { encoding: 'utf8', timeout: ms });
  if (r.signal !== null) {
    const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
    // A native abort's whole stack (its first lines name only node's fatal-error handler).
    return timedOut ? `did not end within ${ms} ms (hang)` : `killed by ${r.signal}: ${(r.stderr || r.stdout).trim().split('\n').slice(0, 40).join(' | ')}`;
  }
  if (r.status !== 0) return `exit ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(0, 4).join(' | ')}`;
  return null;
}

/**
 * runCase without blocking the caller, so that fuzz-repro.test.ts runs its
 * cases a few at a time (each in its own process, with the same deadline and
 * the same answer): most of a case's time is its process starting, waiting
 * (short timeouts) and exiting.
 */
export function runCaseAsync(name: string, ms = 10_000): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(process.execPath, [fileURLToPath(import.meta.url), name], { encoding: 'utf8', timeout: ms, killSignal: 'SIGTERM', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: NodeJS.Signals | null }) | null;
      if (e === null) { resolve(null); return; }
      const signal = e.signal ?? null;
      if (signal !== null) {
        // Killed by execFile's deadline (`killed`), or by a signal of its own: a native abort's whole stack.
        resolve(e.killed === true && signal === 'SIGTERM' ? `did not end within ${ms} ms (hang)` : `killed by ${signal}: ${(stderr || stdout).trim().split('\n').slice(0, 40).join(' | ')}`);
        return;
      }
      resolve(`exit ${typeof e.code === 'number' ? e.code : String(e.code)}: ${(stderr || stdout).trim().split('\n').slice(0, 4).join(' | ')}`);
    });
  });
}

const self = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (self) {
  const name = process.argv[2];
  if (name !== undefined) {
    runOne(name).then(() => process.exit(0), (e) => { console.error(String(e)); process.exit(1); });
  } else {
    let failed = 0;
    for (const [n, c] of Object.entries(CASES)) {
      const why = runCase(n);
      if (why !== null) failed++;
      console.log(`${why === null ? 'pass' : 'FAIL'}  ${n}: ${c.what}${why === null ? '' : `\n      ${why}`}`);
    }
    process.exit(failed ? 1 : 0);
  }
}
