/**
 * The syscall table of the fuzzer: every call of `ukern/sys` (lwp_*, port_*,
 * clock_*, timer_*, kqueue/kevent, close) with an arbitrary for each
 * argument, and the judge of each call's outcome.
 *
 * Left out, on purpose: lwp_exit (it ends the fuzzing LWP itself) and boot
 * (done once by the driver, with small limits). The `_async` forms are
 * judged when their Promise settles, which must happen within
 * ASYNC_SETTLE_MS (their timeouts are as short as the blocking forms').
 *
 * The judge: a call must end with a result, a SysError whose code is an
 * errno name, a TypeError or RangeError with Node's argument-error code
 * (ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE), or the
 * user's own exception thrown by a getter (passed through); and it must
 * leave no kernel lock held by the caller and the kernel not panicked.
 * Everything else is a finding: an engine's TypeError with no code too.
 */
import fc from 'fast-check';
import { constants } from 'node:os';
import * as sys from '../../src/sys/index.js';
import { I32 } from '../../src/kern/kmem.js';
import { cur, panicked } from '../../src/kern/hdr.js';
import type { Ctx } from './ctx.js';
import {
  type Spec, UserThrow, lit, int, oneOfInts, orHostile, hostile, userWord, fd, timerId, ownLid, childLid, anyLid, doubleReads,
  objectOr, array, timeout, hostileTimeout, abstime, anyTimespec, wrongType,
} from './values.js';

/**
 * The signals the fuzzer sends (main.ts gives each a handler that does
 * nothing; 65 is EINVAL), and the two whose disposition it fuzzes: SIGCHLD
 * and SIGWINCH, whose default is to ignore, so no disposition it sets can
 * end the process. kill and sigqueue go to this process only (pid
 * process.pid or 0): a hostile pid would reach the host's kill(2) (-1 is
 * every process the user may signal).
 */
export const FUZZ_SIGNALS = [1, 10, 14, 63, 64];
export const FUZZ_ACT_SIGNALS = [17, 28];

export interface Call {
  readonly name: string;
  readonly args: readonly Spec[];
  readonly d: string;
}

type Fn = (...a: unknown[]) => unknown;
const SYS = sys as unknown as Record<string, Fn>;

function call(name: string, ...args: fc.Arbitrary<Spec>[]): fc.Arbitrary<Call> {
  const mk = (as: readonly Spec[]): Call => {
    const d = `${name}(${as.map((a) => a.d).join(', ')})`;
    return { name, args: as, d, [fc.toStringMethod]: () => d } as Call;
  };
  return args.length === 0 ? fc.constant(mk([])) : fc.tuple(...args).map(mk);
}

/* ------------------------------------------------------------ argument pools */

const flags = (...bits: number[]): fc.Arbitrary<Spec> =>
  orHostile(fc.subarray(bits).map((bs) => { const v = bs.reduce((a, b) => a | b, 0); return lit(`0x${v.toString(16)}`, v); }));
const clockId = orHostile(oneOfInts(0, 1, 2, 3, 4, 5, sys.CLOCK_MANUAL, 6, -1));
const source = orHostile(oneOfInts(sys.PORT_SOURCE_AIO, sys.PORT_SOURCE_TIMER, sys.PORT_SOURCE_USER, sys.PORT_SOURCE_FD,
  sys.PORT_SOURCE_ALERT, sys.PORT_SOURCE_MQ, sys.PORT_SOURCE_FILE, 0, 8));
const count = fc.oneof(int(0, 8), oneOfInts(64, 2 ** 31 - 1), hostile);
const events = orHostile(fc.oneof(int(0, 4), oneOfInts(0x7fffffff, -1)));

const filter = orHostile(oneOfInts(sys.EVFILT_READ, sys.EVFILT_WRITE, sys.EVFILT_TIMER, sys.EVFILT_USER, sys.EVFILT_AIO,
  sys.EVFILT_VNODE, sys.EVFILT_PROC, sys.EVFILT_SIGNAL, sys.EVFILT_EXCEPT, sys.EVFILT_FS, -11, 0, 1));
const evFlags = flags(sys.EV_ADD, sys.EV_DELETE, sys.EV_ENABLE, sys.EV_DISABLE, sys.EV_ONESHOT, sys.EV_CLEAR,
  sys.EV_RECEIPT, sys.EV_DISPATCH, sys.EV_ERROR, sys.EV_EOF);
const fflags = orHostile(fc.oneof(
  oneOfInts(0, sys.NOTE_TRIGGER, sys.NOTE_FFOR | 5, sys.NOTE_FFAND | 1, sys.NOTE_FFCOPY | 7, sys.NOTE_TRIGGER | sys.NOTE_FFCOPY | 3),
  oneOfInts(sys.NOTE_SECONDS, sys.NOTE_MSECONDS, sys.NOTE_USECONDS, sys.NOTE_NSECONDS, sys.NOTE_ABSTIME, sys.NOTE_LOWAT, 0xffffffff),
));
const ident = fc.oneof(
  { weight: 4, arbitrary: int(0, 4) },
  { weight: 2, arbitrary: fd },
  { weight: 1, arbitrary: hostile },
);
/**
 * close's descriptor: as `fd`, but never a number that may name one of the
 * host's descriptors: the small hostile numbers and timer ids (close takes
 * OS descriptors too, and closing the driver's stdout or IPC channel is
 * not a kernel finding).
 */
const kernelFd = fd.filter((s) => !['0', '-0', '1'].includes(s.d) && !s.d.startsWith('timer#'));
const kevData = orHostile(fc.oneof(int(0, 5), oneOfInts(1000, -1, 2 ** 53 - 1)));
const kev = objectOr({ ident, filter, flags: evFlags, fflags, data: kevData, udata: userWord });

const itimerspec = objectOr({ it_interval: anyTimespec, it_value: anyTimespec });
const sigevent = fc.oneof(
  { weight: 1, arbitrary: fc.constant(lit('null', null)) },
  {
    weight: 6,
    arbitrary: objectOr({
      sigev_notify: orHostile(oneOfInts(sys.SIGEV_NONE, sys.SIGEV_SIGNAL, sys.SIGEV_THREAD, sys.SIGEV_PORT, 0, 5), 6),
      sigev_signo: orHostile(oneOfInts(0, 1, 14, 63, 64, 65)),
      sigev_value: userWord,
      sigev_notify_port: objectOr({ portnfy_port: fd, portnfy_user: userWord }),
      sigev_notify_function: fc.constantFrom(
        lit('fn', () => {}), lit('undefined', undefined),
        { d: 'fn(port_send)', make: (c: Ctx) => () => { try { sys.port_send(c.port(), 9, 9); } catch { /* closed */ } } } as Spec,
      ),
    }),
  },
);

/** Start of a child LWP: the fixture's quick exports, missing ones, or hostile modules. */
const lwpStart = objectOr({
  module: fc.oneof(
    { weight: 6, arbitrary: fc.constant({ d: 'fixture', make: (c: Ctx) => c.childModule } as Spec) },
    { weight: 1, arbitrary: fc.constantFrom(lit("'./nope.js'", './nope.js'), lit("'node:fs'", 'node:fs'),
      lit('data: module', 'data:text/javascript,export default function(){}')) },
    { weight: 1, arbitrary: hostile },
  ),
  export: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(lit("'child'", 'child'), lit("'childPark'", 'childPark'), lit("'childThrows'", 'childThrows')) },
    { weight: 1, arbitrary: fc.constantFrom(lit("'nope'", 'nope'), lit('undefined', undefined)) },
    { weight: 1, arbitrary: hostile },
  ),
  arg: fc.oneof({ weight: 6, arbitrary: userWord }, { weight: 1, arbitrary: fc.constant(lit('Symbol()', Symbol('x'))) }),
}, 10);
const lwpFlags = flags(sys.LWP_DETACHED, sys.LWP_SUSPENDED);

const errorsArray = fc.oneof(
  fc.constant(lit('undefined', undefined)),
  fc.constant(spec0('[]', () => [])),
  fc.constant(spec0('frozen[]', () => Object.freeze([]))),
  // Re-enters on its first 16 stores only: a list of 10^5 entries would
  // otherwise make 10^5 nested syscalls, slow enough (~0.6 s, more with 4
  // LWPs on 2 CPUs) to look like a hang to the watchdog without being one.
  fc.constant({ d: 'proxy[]/set reenters port_send', make: (c: Ctx) => { let n = 0; return new Proxy([] as unknown[], {
    set: (t, k, v) => { if (n++ < 16) { try { sys.port_send(c.port(), 3, 3); } catch { /* any */ } } return Reflect.set(t, k, v); },
  }); } } as Spec),
  hostile,
);
function spec0(d: string, make: () => unknown): Spec { return { d, make }; }

/* ------------------------------------------------------------ signals */

const sent = orHostile(oneOfInts(0, ...FUZZ_SIGNALS, ...FUZZ_ACT_SIGNALS, 65));
const ownPid = fc.constantFrom(lit('process.pid', process.pid), lit('0', 0));
/** A sigset of sent signals, or something that is not one. */
const sigset = fc.oneof(
  { weight: 4, arbitrary: fc.subarray([...FUZZ_SIGNALS, ...FUZZ_ACT_SIGNALS]).map((ss) => spec0(`sigset(${ss.join(',')})`, () => {
    const t = sys.sigemptyset(); for (const x of ss) sys.sigaddset(t, x); return t;
  })) },
  { weight: 1, arbitrary: fc.constant(lit('null', null)) },
  { weight: 1, arbitrary: hostile },
);
const noop = new URL('../fixtures/signals.js', import.meta.url);
const handler = fc.oneof(
  fc.constantFrom(lit('SIG_DFL', sys.SIG_DFL), lit('SIG_IGN', sys.SIG_IGN), lit('{module,ignores}', { module: noop, export: 'ignores' }),
    lit('{module,nope}', { module: noop, export: 'nope' }), lit('{module:5}', { module: 5 })),
  hostile,
);
const sigact = fc.oneof(
  { weight: 1, arbitrary: fc.constant(lit('null', null)) },
  { weight: 5, arbitrary: objectOr({ sa_handler: handler, sa_mask: sigset, sa_flags: flags(sys.SA_RESTART, sys.SA_SIGINFO, sys.SA_NODEFER, sys.SA_RESETHAND, 0x100) }) },
);
// Not orHostile: its numbers include 1 (SIGHUP), whose SIG_DFL would end the process when sent.
const actSigno = fc.oneof(oneOfInts(...FUZZ_ACT_SIGNALS, sys.SIGKILL, sys.SIGSTOP, 0, 65, -1, 2 ** 31, NaN), fc.constant(lit("'17'", '17')));
// Mostly a poll: a 1 ms wait costs the fuzzer's call rate (its --ci run must make 10^5 calls in 40 s).
const shortTimeout = fc.oneof(
  { weight: 6, arbitrary: fc.constant(lit('{0,0}', { tv_sec: 0, tv_nsec: 0 })) },
  { weight: 1, arbitrary: fc.constant(lit('{0,100us}', { tv_sec: 0, tv_nsec: 100_000 })) },
);

/*
 * AIO: requests go to this thread's own temp file (ctx.file) or to numbers
 * that are no open descriptor — never to a small number, which could be the
 * test runner's stdout. A frozen aiocb is passed unfrozen: the kernel could
 * not write its aio_id, and the run could not collect the request at the end
 * (the contract names a request by the id written there).
 */
const aioFd = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ d: 'file', make: (c: Ctx) => c.file } as Spec) },
  { weight: 1, arbitrary: fc.nat(3).map((i) => ({ d: `closed#${i}`, make: (c: Ctx) => c.closedFd(i) }) as Spec) },
  { weight: 1, arbitrary: oneOfInts(-1, NaN, 2 ** 31, 2 ** 53, 0x7ffffff0) },
  { weight: 1, arbitrary: wrongType },
);
const aioBuf = fc.oneof(
  { weight: 5, arbitrary: oneOfInts(0, 1, 16, 4096).map((n) => ({ d: `sab(${n.d})`, make: () => new Uint8Array(new SharedArrayBuffer(n.make(undefined as unknown as Ctx) as number)) }) as Spec) },
  { weight: 1, arbitrary: fc.constant(lit('Uint8Array(8)', new Uint8Array(8))) },
  { weight: 1, arbitrary: hostile },
);
const aiocbObj = objectOr({
  aio_fildes: aioFd, aio_offset: orHostile(oneOfInts(0, 1, 4095, 1 << 20), 4), aio_buf: aioBuf,
  aio_nbytes: orHostile(oneOfInts(0, 1, 16, 4096, 4097), 4), aio_reqprio: orHostile(oneOfInts(0, 1, 20, 21), 4),
  aio_sigevent: sigevent, aio_lio_opcode: orHostile(oneOfInts(sys.LIO_READ, sys.LIO_WRITE, sys.LIO_NOP, 3), 4),
});
/** The aiocb, whose aio_id the kernel's copy-out records in the context (however the object reaches the call: in a list, through a getter). */
function aiocb_made(c: Ctx, o: unknown): unknown {
  if (typeof o !== 'object' || o === null) return o;
  let frozen: boolean;
  try { frozen = Object.isFrozen(o); } catch { return o; } // a revoked Proxy: the kernel cannot read it, nor write its id
  const cb = frozen ? { ...o } : o;
  let id: number | undefined;
  Object.defineProperty(cb, 'aio_id', { configurable: true, get: () => id, set: (v: unknown) => { if (typeof v === 'number') { id = v; c.aios.push(v); } } });
  return cb;
}
const aiocb = aiocbObj.map((b) => ({ d: b.d, make: (c: Ctx) => aiocb_made(c, b.make(c)) }) as Spec);
const aioId = fc.oneof(
  { weight: 4, arbitrary: fc.nat(3).map((i) => ({ d: `aio#${i}`, make: (c: Ctx) => c.aioId(i) }) as Spec) },
  { weight: 1, arbitrary: aiocb },
  { weight: 1, arbitrary: hostile },
);
const aioSet = fc.oneof(fc.constant(lit('null', null)), aioId);

/* ------------------------------------------------------------ the table */

/** Every fuzzed call with its weight (blocking calls get zero/short timeouts only). */
export function callArb(exclude?: RegExp): fc.Arbitrary<Call> {
  const all = table();
  return exclude === undefined ? all : all.filter((c) => !exclude.test(c.d));
}

function table(): fc.Arbitrary<Call> {
  const w = (weight: number, arbitrary: fc.Arbitrary<Call>): { weight: number; arbitrary: fc.Arbitrary<Call> } => ({ weight, arbitrary });
  return fc.oneof(
    // ports
    w(4, call('port_create')),
    w(3, call('port_associate', fd, source, userWord, events, userWord)),
    w(2, call('port_dissociate', fd, source, userWord)),
    w(10, call('port_send', fd, events, userWord)),
    w(3, call('port_sendn', array(fd, 4, sys.PORT_MAX_LIST), events, userWord, errorsArray)),
    w(3, call('port_alert', fd, flags(sys.PORT_ALERT_SET, sys.PORT_ALERT_UPDATE), events, userWord)),
    w(6, call('port_get', fd, timeout)),
    w(6, call('port_getn', fd, count, count, timeout)),
    // kqueue
    w(4, call('kqueue')),
    w(12, call('kevent', fd, fc.oneof(fc.constant(lit('null', null)), array(kev, 4, 1 << 20)), count, timeout)),
    w(4, call('close', kernelFd)),
    // clocks and timers
    w(3, call('clock_gettime', clockId)),
    w(2, call('clock_getres', clockId)),
    w(2, call('clock_settime', clockId, anyTimespec)),
    w(2, call('clock_advance', clockId, anyTimespec)),
    w(4, call('timer_create', clockId, sigevent)),
    w(5, call('timer_settime', timerId, orHostile(oneOfInts(0, sys.TIMER_ABSTIME, 2)), itimerspec)),
    w(3, call('timer_gettime', timerId)),
    w(2, call('timer_getoverrun', timerId)),
    w(2, call('timer_delete', timerId)),
    // LWPs
    w(2, call('lwp_self')),
    w(1, call('lwp_getprivate')),
    w(2, call('lwp_setprivate', userWord)),
    w(2, call('lwp_create', lwpStart, lwpFlags)),
    w(2, call('lwp_wait', ownLid)),
    w(1, call('lwp_wait0')),
    w(1, call('lwp_detach', childLid)),
    w(2, call('lwp_suspend', childLid)),
    w(2, call('lwp_continue', anyLid)),
    w(2, call('lwp_wakeup', anyLid)),
    w(2, call('lwp_kill', anyLid, orHostile(oneOfInts(0, ...FUZZ_SIGNALS, 65)))),
    w(3, call('lwp_park', abstime, fc.oneof(fc.constant(lit('undefined', undefined)), userWord))),
    w(3, call('lwp_unpark', anyLid, fc.oneof(fc.constant(lit('undefined', undefined)), userWord))),
    // the Promise forms: same copy-in, then a wait that must settle in time
    w(2, call('port_get_async', fd, timeout)),
    w(2, call('port_getn_async', fd, count, count, timeout)),
    w(3, call('kevent_async', fd, fc.oneof(fc.constant(lit('null', null)), array(kev, 4, 1 << 20)), count, timeout)),
    w(1, call('lwp_park_async', abstime, fc.oneof(fc.constant(lit('undefined', undefined)), userWord))),
    w(1, call('lwp_wait_async', ownLid)),
    w(2, call('lwp_unpark_all', fc.oneof(fc.constant(lit('null', null)), array(anyLid, 4, sys.LWP_UNPARK_MAX)),
      fc.oneof(fc.constant(lit('undefined', undefined)), userWord))),
    // signals (pids: this process only, see FUZZ_SIGNALS)
    w(3, call('sigprocmask', orHostile(oneOfInts(sys.SIG_BLOCK, sys.SIG_UNBLOCK, sys.SIG_SETMASK, 3)), sigset)),
    w(1, call('sigpending')),
    w(3, call('sigaction', actSigno, sigact)),
    w(3, call('kill', ownPid, sent)),
    w(3, call('sigqueue', ownPid, sent, userWord)),
    // Not orHostile: its undefined and null wait for ever (sigtimedwait(set, null), as illumos and Linux).
    w(1, call('sigtimedwait', sigset, fc.oneof({ weight: 3, arbitrary: shortTimeout }, { weight: 1, arbitrary: hostileTimeout }))),
    w(1, call('sigtimedwait_async', sigset, shortTimeout)),
    // AIO (on this thread's temp file: aioFd)
    w(3, call('aio_read', aiocb)),
    w(2, call('aio_write', aiocb)),
    w(1, call('aio_fsync', orHostile(oneOfInts(sys.O_SYNC, sys.O_DSYNC, 0)), aiocb)),
    w(3, call('aio_error', aioId)),
    w(3, call('aio_return', aioId)),
    w(2, call('aio_cancel', aioFd, aioSet)),
    w(2, call('aio_suspend', array(aioSet, 4, 1 << 20), shortTimeout)),
    w(1, call('aio_suspend_async', array(aioSet, 4, 1 << 20), shortTimeout)),
    w(1, call('lio_listio', orHostile(oneOfInts(sys.LIO_NOWAIT, sys.LIO_WAIT, 2)), array(aiocb, 4, 1 << 20), fc.constant(lit('null', null)))),
  );
}

/* ------------------------------------------------------------ execution */

const ERRNO_NAMES = new Set<string>([...Object.keys(constants.errno), 'EBADFD']);

/** How one call ended: a label for the tally, or a finding. */
export type Outcome = { ok: true; label: string } | { ok: false; finding: string; fatal?: boolean };

/** Arguments made for a call; lwp_wait's target is continued first (waiting on a stopped LWP is a correct hang). */
function prepare(c: Call, ctx: Ctx): unknown[] | null {
  if (c.name === 'lwp_wait0') {
    if (ctx.concurrent) return null;
    for (const lid of ctx.children.keys()) { try { sys.lwp_continue(lid); } catch { /* gone */ } ctx.children.get(lid)!.suspended = false; }
    if (![...ctx.children.values()].some((ch) => !ch.detached)) return null;
    return [0];
  }
  const args = c.args.map((a) => a.make(ctx));
  if ((c.name === 'lwp_wait' || c.name === 'lwp_wait_async') && typeof args[0] === 'number' && ctx.children.has(args[0])) {
    try { sys.lwp_continue(args[0]); } catch { /* gone */ }
    ctx.children.get(args[0])!.suspended = false;
  }
  return args;
}

/** How long a Promise form may take to settle (its timeouts are <= 2 ms; lwp_wait's child exits at once). */
export const ASYNC_SETTLE_MS = 3000;

/** Runs one call and judges it. `null`: skipped (not applicable now). A Promise form is judged when it settles. */
export function execCall(c: Call, ctx: Ctx): Outcome | null | Promise<Outcome> {
  let args: unknown[] | null;
  try { args = prepare(c, ctx); } catch (e) { return { ok: false, finding: `building the arguments threw ${String(e)}` }; }
  if (args === null) return null;
  const name = c.name === 'lwp_wait0' ? 'lwp_wait' : c.name;
  doubleReads.length = 0;
  let r: unknown;
  try {
    r = SYS[name]!(...args);
  } catch (e) {
    return afterCall(judge(e));
  }
  if (!(r instanceof Promise)) {
    ctx.note(name, args, r);
    return afterCall({ ok: true, label: 'ok' });
  }
  const a = args;
  const ok = afterCall({ ok: true, label: 'pending' }); // the synchronous part left no lock held
  if (!ok.ok) return ok;
  return settle(r).then((v) => { ctx.note(name.replace(/_async$/, ''), a, v); return afterCall({ ok: true, label: 'ok' }); },
    (e: unknown) => afterCall(e === SETTLE_TIMEOUT ? { ok: false, finding: `the Promise did not settle within ${ASYNC_SETTLE_MS} ms` } : judge(e)));
}

const SETTLE_TIMEOUT = Symbol('settle timeout');
function settle<T>(p: Promise<T>): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const to = new Promise<never>((_, rej) => { t = setTimeout(() => rej(SETTLE_TIMEOUT), ASYNC_SETTLE_MS); });
  return Promise.race([p, to]).finally(() => clearTimeout(t));
}

export function judge(e: unknown): Outcome {
  if (e instanceof sys.SysError) {
    return ERRNO_NAMES.has(e.code) ? { ok: true, label: e.code } : { ok: false, finding: `SysError with code ${e.code}, not an errno name` };
  }
  if (e instanceof UserThrow) return { ok: true, label: 'UserThrow' };
  // An argument error must say which (Node's code): a TypeError or RangeError
  // with no code is the engine's (a revoked Proxy read, a BigInt mixed in),
  // which no caller can tell from a bug, so it is a finding.
  if (e instanceof TypeError || e instanceof RangeError) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && ARG_CODES.has(code)) return { ok: true, label: `${e.name}(${code})` };
    return { ok: false, finding: `threw a ${e.constructor.name} with ${code === undefined ? 'no code' : `code ${String(code)}`}: ${e.message}` };
  }
  const what = e instanceof Error ? `${e.constructor.name}: ${e.message}` : `a thrown ${typeof e} ${String(e)}`;
  return { ok: false, finding: `threw ${what}` };
}

/** The Node argument-error codes a call may give for a bad argument (with the SysErrors' errnos, all it may throw). */
const ARG_CODES = new Set(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE']);

/** Set by the driver's --allow-double-reads (exploring past that finding; never in CI). */
export const judgeOptions = { allowDoubleReads: false };

function afterCall(out: Outcome): Outcome {
  if (doubleReads.length !== 0 && !judgeOptions.allowDoubleReads && out.ok) {
    const props = [...new Set(doubleReads)].join(', ');
    doubleReads.length = 0;
    return { ok: false, finding: `read user propert${props.includes(',') ? 'ies' : 'y'} ${props} more than once (${out.label}); copy-in reads each once` };
  }
  const held = I32[cur.nlocksw]! | 0;
  if (held !== 0) {
    const why = out.ok ? out.label : out.finding;
    return { ok: false, fatal: true, finding: `ended (${why}) holding ${held} kernel lock(s)` };
  }
  if (panicked()) return { ok: false, fatal: true, finding: `kernel panicked (${out.ok ? out.label : out.finding})` };
  return out;
}

