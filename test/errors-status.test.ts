/**
 * Status errors (kern/errno.ts status_error): the SysErrors that report an
 * outcome a caller handles in a loop (a deadline passed, an unpark came
 * first, a port full to its own limit) are made without a stack trace, and
 * are otherwise the same SysError; faults and the kernel's own limits keep
 * their stacks; Error.stackTraceLimit is left as it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { inspect } from 'node:util';
import * as sys from '../src/sys/index.js';
import { boot } from '../src/kern/boot.js';
import { Port } from '../src/index.js';

boot({ port_max_events: 4, port_events_total: 6, port_lanes: 0 });
const ZERO = { tv_sec: 0, tv_nsec: 0 };

function caught(fn: () => unknown): sys.SysError {
  try { fn(); } catch (e) { assert.ok(e instanceof sys.SysError, `not a SysError: ${String(e)}`); return e; }
  assert.fail('did not throw');
}
async function rejected(p: Promise<unknown>): Promise<sys.SysError> {
  try { await p; } catch (e) { assert.ok(e instanceof sys.SysError, `not a SysError: ${String(e)}`); return e; }
  assert.fail('did not reject');
}
const frames = (e: Error): number => (e.stack ?? '').split('\n').filter((l) => l.startsWith('    at ')).length;

function status(e: sys.SysError, code: string, syscall: string): void {
  assert.equal(e.code, code);
  assert.equal(e.syscall, syscall);
  assert.equal(e.errno, -(constants.errno as Record<string, number>)[code]!);
  assert.match(e.message, new RegExp(`^${syscall}: ${code}`));
  assert.equal(e.name, 'SysError');
  assert.equal(frames(e), 0, `a status error with a stack: ${e.stack}`);
}

test('a port_get poll that finds nothing: ETIME without a stack (sync and async)', async () => {
  const p = sys.port_create();
  status(caught(() => sys.port_get(p, ZERO)), 'ETIME', 'port_get');
  status(await rejected(sys.port_get_async(p, ZERO)), 'ETIME', 'port_get');
  sys.close(p);
});

test('lwp_park: EALREADY (the unpark came first) and ETIMEDOUT without a stack, sync and async', async () => {
  const me = sys.lwp_self();
  sys.lwp_unpark(me);
  status(caught(() => sys.lwp_park(null)), 'EALREADY', 'lwp_park');
  sys.lwp_unpark(me);
  status(await rejected(sys.lwp_park_async(null)), 'EALREADY', 'lwp_park');
  status(caught(() => sys.lwp_park({ tv_sec: 1, tv_nsec: 0 })), 'ETIMEDOUT', 'lwp_park');
  const soon = sys.clock_gettime(sys.CLOCK_REALTIME);
  const at = { tv_sec: soon.tv_sec, tv_nsec: soon.tv_nsec + 2_000_000 };
  if (at.tv_nsec >= 1e9) { at.tv_sec++; at.tv_nsec -= 1e9; }
  status(caught(() => sys.lwp_park(at)), 'ETIMEDOUT', 'lwp_park'); // slept, then timed out
});

test('a sleep a signal interrupts: EINTR without a stack, after the handler ran (lwp_park, port_get, kevent)', () => {
  let ran = 0;
  sys.sigaction(sys.SIGUSR1, { sa_handler: () => { ran++; } });
  const timer = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: sys.SIGUSR1 });
  const arm = (): unknown => sys.timer_settime(timer, 0, { it_value: { tv_sec: 0, tv_nsec: 2_000_000 }, it_interval: { tv_sec: 0, tv_nsec: 0 } });
  const p = sys.port_create(), kq = sys.kqueue();
  const half = { tv_sec: 0, tv_nsec: 500_000_000 };
  // The 2 ms timer's signal interrupts the sleep, unless the thread took
  // more than 2 ms to reach it (a loaded machine): the signal is then
  // handled on the way in, as a signal that comes before a sleep is in C,
  // and the sleep runs to its deadline (ETIMEDOUT, ETIME, no event). Such a
  // round is tried again; with no deadline it slept for ever (the suite's
  // 120 s timeout ended the file once, beside a full run).
  const interrupted = (sleep: () => unknown, syscall: string, timedOut: string | null): void => {
    for (let round = 1; ; round++) {
      arm();
      let r: unknown;
      try { r = sleep(); } catch (e) {
        if (e instanceof sys.SysError && e.code === timedOut && round < 20) continue;
        status(e as sys.SysError, 'EINTR', syscall);
        return;
      }
      if (timedOut === null && Array.isArray(r) && r.length === 0 && round < 20) continue;
      assert.fail(`${syscall} returned ${JSON.stringify(r)}, not EINTR`);
    }
  };
  const realtimeSoon = (): sys.Timespec => {
    const t = sys.clock_gettime(sys.CLOCK_REALTIME);
    return t.tv_nsec + half.tv_nsec >= 1e9 ? { tv_sec: t.tv_sec + 1, tv_nsec: t.tv_nsec + half.tv_nsec - 1e9 } : { tv_sec: t.tv_sec, tv_nsec: t.tv_nsec + half.tv_nsec };
  };
  interrupted(() => sys.lwp_park(realtimeSoon()), 'lwp_park', 'ETIMEDOUT');
  interrupted(() => sys.port_get(p, half), 'port_get', 'ETIME');
  interrupted(() => sys.kevent(kq, [], 1, half), 'kevent', null);
  assert.ok(ran >= 3, `the handler ran ${ran} times`);
  sys.timer_delete(timer); sys.close(p); sys.close(kq);
  sys.sigaction(sys.SIGUSR1, { sa_handler: sys.SIG_DFL });
});

test('sigtimedwait with a zero timeout and nothing pending: EAGAIN without a stack', () => {
  const set = sys.sigemptyset();
  sys.sigaddset(set, sys.SIGUSR2);
  status(caught(() => sys.sigtimedwait(set, ZERO)), 'EAGAIN', 'sigtimedwait');
});

test('a port full to port_max_events: EAGAIN without a stack; the kernel-wide limit keeps its stack', () => {
  const a = sys.port_create(), b = sys.port_create();
  for (let i = 0; i < 4; i++) sys.port_send(a, 0, i);
  status(caught(() => sys.port_send(a, 0, 9)), 'EAGAIN', 'port_send');
  sys.port_send(b, 0, 1); sys.port_send(b, 0, 2);
  const e = caught(() => sys.port_send(b, 0, 3)); // port_events_total: 6 in the kernel
  assert.equal(e.code, 'EAGAIN');
  assert.ok(frames(e) > 0, 'a limit of the kernel\'s own lost its stack');
  sys.close(a); sys.close(b);
});

test('a message post that finds the port full: EAGAIN (a MsgFullError) without a stack', () => {
  const port = new Port();
  for (let i = 0; i < 4; i++) port.postSync({ i });
  const e = caught(() => port.postSync({ i: 4 }));
  status(e, 'EAGAIN', 'port_post');
  assert.equal((e as sys.SysError & { reason?: string }).reason, 'port');
  port.close();
});

test('faults keep their stacks, and Error.stackTraceLimit is left as it was', () => {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 7;
  try {
    const p = sys.port_create();
    status(caught(() => sys.port_get(p, ZERO)), 'ETIME', 'port_get');
    assert.equal(Error.stackTraceLimit, 7);
    const e = caught(() => sys.port_get(987_654, ZERO));
    assert.equal(e.code, 'EBADF');
    assert.ok(frames(e) > 0);
    sys.close(p);
  } finally { Error.stackTraceLimit = saved; }
});

test('a status error has the shape of a constructed SysError: properties, prototype, printing', () => {
  const made = new sys.SysError('EALREADY', 'lwp_park');
  const me = sys.lwp_self();
  sys.lwp_unpark(me);
  const st = caught(() => sys.lwp_park(null));
  // The same own properties with the same values (message and stack are
  // enumerable on a status: kern/errno.ts status_error says why).
  const props = (e: object): string[] => Reflect.ownKeys(e).map(String).sort();
  assert.deepEqual(props(st), props(made));
  for (const k of ['message', 'code', 'errno', 'syscall', 'name'] as const) assert.equal(st[k], made[k], k);
  assert.equal(Object.getPrototypeOf(st), sys.SysError.prototype);
  assert.ok(st instanceof Error);
  assert.equal(st.stack, 'SysError: lwp_park: EALREADY');
  assert.equal(String(st), 'SysError: lwp_park: EALREADY');
  // Printed exactly as Node prints a constructed SysError without a stack.
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const bare = new sys.SysError('EALREADY', 'lwp_park');
  Error.stackTraceLimit = saved;
  assert.equal(inspect(st), inspect(bare));
  assert.match(inspect(st), /^\[SysError: lwp_park: EALREADY\] \{\n  code: 'EALREADY',/);
  // Caught by what code catches SysErrors with; its message can be amended.
  assert.throws(() => { throw st; }, sys.SysError);
  assert.throws(() => { throw st; }, { code: 'EALREADY', errno: made.errno, syscall: 'lwp_park' });
  st.message = `while locking: ${st.message}`;
  assert.equal(st.message, 'while locking: lwp_park: EALREADY');
});
