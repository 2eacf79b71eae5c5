/**
 * A revoked Proxy passed where the kernel reads an object: every read of it
 * throws V8's TypeError, which has no `code`. Copy-in judges that in one
 * place (kern/copyin.ts copyin_fault): the sys layer's calls fail with
 * EFAULT (C's copyin of memory it cannot read), the classes with Node's
 * ERR_INVALID_ARG_VALUE; a revoked Proxy where a number goes is the usual
 * ERR_INVALID_ARG_TYPE. Nothing of the call happens, and no kernel lock is
 * left held (the calls after each one work).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { Port, KQueue, Timer, Lwp, ParkMutex, aio, signals, onSignal } from 'ukern';

const ZERO = { tv_sec: 0, tv_nsec: 0 };
function revoked<T extends object>(target: T): T {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
}
// Typed never: each stands where the call's own type goes.
const R = (): never => revoked({}) as never;
const RA = (): never => revoked([]) as never;

type Coded = Error & { code?: unknown };
function is_code(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.equal((e as Coded).code, code, `${String(e)}`);
    return true;
  };
}
async function rejects_or_throws(f: () => unknown, code: string, what: string): Promise<void> {
  let r: unknown;
  try { r = f(); } catch (e) { is_code(code)(e); return; }
  assert.ok(r instanceof Promise || (typeof r === 'object' && r !== null && typeof (r as { next?: unknown }).next === 'function'), `${what} returned ${String(r)}`);
  const p = r instanceof Promise ? r : (r as AsyncIterator<unknown>).next();
  await assert.rejects(p, is_code(code), what);
}

test('sys layer: a revoked Proxy as an object argument is EFAULT', async () => {
  const p = sys.port_create(), kq = sys.kqueue(), tm = sys.timer_create(sys.CLOCK_MONOTONIC, null);
  const realNow = (): sys.Timespec => sys.clock_gettime(sys.CLOCK_REALTIME);
  const cases: [string, () => unknown][] = [
    ['port_get timeout', () => sys.port_get(p, R())],
    ['port_getn timeout', () => sys.port_getn(p, 1, 1, R())],
    ['port_get_async timeout', () => sys.port_get_async(p, R())],
    ['port_get_async options', () => sys.port_get_async(p, ZERO, R())],
    ['port_get_async options.signal', () => sys.port_get_async(p, ZERO, { signal: R() })],
    ['port_sendn list', () => sys.port_sendn(RA(), 1, 1)],
    ['port_sendn errors', () => sys.port_sendn([p], 1, 1, RA())],
    ['port_associate file_obj', () => sys.port_associate(p, sys.PORT_SOURCE_FILE, R(), 1, 0)],
    ['kevent changelist', () => sys.kevent(kq, RA(), 0, ZERO)],
    ['kevent change', () => sys.kevent(kq, [R()], 0, ZERO)],
    ['kevent timeout', () => sys.kevent(kq, null, 1, R())],
    ['kevent_async options', () => sys.kevent_async(kq, null, 1, ZERO, R())],
    ['timer_create sigevent', () => sys.timer_create(sys.CLOCK_MONOTONIC, R())],
    ['timer_create sigev_notify_port', () => sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: R() } as sys.sigevent)],
    ['timer_settime itimerspec', () => sys.timer_settime(tm, 0, R())],
    ['timer_settime it_value', () => sys.timer_settime(tm, 0, { it_value: R(), it_interval: ZERO } as sys.Itimerspec)],
    ['clock_advance', () => sys.clock_advance(sys.CLOCK_MANUAL, R())],
    ['lwp_park abstime', () => sys.lwp_park(R())],
    ['lwp_park_async options', () => sys.lwp_park_async(realNow(), undefined, R())],
    ['lwp_create start', () => sys.lwp_create(R(), 0)],
    ['lwp_create start.module', () => sys.lwp_create({ module: R(), export: 'f' }, 0)],
    ['lwp_unpark_all lids', () => sys.lwp_unpark_all(RA())],
    ['sigprocmask set', () => sys.sigprocmask(sys.SIG_BLOCK, R())],
    ['sigaction act', () => sys.sigaction(17, R())],
    ['sigaction act.sa_handler.module', () => sys.sigaction(17, { sa_handler: { module: R(), export: 'h' } } as never)],
    ['sigaction act.sa_handler, a revoked function', () => sys.sigaction(17, { sa_handler: revoked(() => undefined) } as never)],
    ['timer_create sigev_notify_function, a revoked function', () => sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_THREAD, sigev_notify_function: revoked(() => undefined) } as sys.sigevent)],
    ['sigtimedwait set', () => sys.sigtimedwait(R(), ZERO)],
    ['sigtimedwait timeout', () => sys.sigtimedwait(sys.sigemptyset(), R())],
    ['sigaddset', () => sys.sigaddset(R(), 1)],
    ['aio_read aiocb', () => sys.aio_read(R())],
    ['aio_suspend list', () => sys.aio_suspend(RA(), ZERO)],
    ['lio_listio list', () => sys.lio_listio(sys.LIO_NOWAIT, RA(), null)],
    ['aio_error aiocb', () => sys.aio_error(R())],
  ];
  try {
    for (const [what, f] of cases) await rejects_or_throws(f, 'EFAULT', what);
    // Where a number goes, a revoked Proxy is a value of the wrong type.
    assert.throws(() => sys.sigqueue(process.pid, 0, R()), is_code('ERR_INVALID_ARG_TYPE'));
    // Nothing was left held or queued: the port and the kqueue work.
    sys.port_send(p, 1, 2);
    assert.equal(sys.port_get(p, ZERO).portev_user, 2);
    assert.deepEqual(sys.kevent(kq, null, 1, ZERO), []);
  } finally {
    sys.close(p); sys.close(kq); sys.timer_delete(tm);
  }
});

test('class layer: a revoked Proxy as an options object or argument is ERR_INVALID_ARG_VALUE', async () => {
  const port = new Port(), kq = new KQueue(), timer = new Timer({ delay: 1e6 });
  const cases: [string, () => unknown][] = [
    ['new Port', () => new Port(R())],
    ['Port.get', () => port.get(R())],
    ['Port.get signal', () => port.get({ signal: R(), timeout: 0 })],
    ['Port.getSync', () => port.getSync(R())],
    ['Port.getn', () => port.getn(1, 1, R())],
    ['Port.send', () => port.send(1, 1, R())],
    ['Port.postMany', () => port.postMany(RA())],
    ['Port.events', () => port.events(R())],
    ['Port.associate', () => port.associate(0, 1, R())],
    ['Port.dissociate', () => port.dissociate(R())],
    ['new KQueue', () => new KQueue(R())],
    ['KQueue.wait', () => kq.wait(R())],
    ['KQueue.waitSync', () => kq.waitSync(R())],
    ['KQueue.unwatch', () => kq.unwatch(R(), 'read')],
    ['new Timer', () => new Timer(R())],
    ['new Timer signal', () => new Timer({ delay: 10, signal: R() })],
    ['Timer.set', () => timer.set(R())],
    ['Timer.next', () => timer.next(R())],
    ['Lwp.create start', () => Lwp.create(R())],
    ['Lwp.create options', () => Lwp.create({ module: 'x', export: 'y' }, R())],
    ['Lwp.create start.module', () => Lwp.create({ module: R(), export: 'y' })],
    ['Lwp.park', () => Lwp.park(R())],
    ['ParkMutex.lock', () => new ParkMutex().lock(R())],
    ['aio.batch ops', () => aio.batch(RA())],
    ['aio.batch op', () => aio.batch([R()])],
    ['aio.fsync options', () => aio.fsync(0, R())],
    ['onSignal options', () => onSignal('SIGUSR2', () => {}, R())],
    ['signals list', () => signals(RA())],
    ['signals options.signal', () => signals(['SIGUSR2'], { signal: R() })],
  ];
  try {
    for (const [what, f] of cases) await rejects_or_throws(f, 'ERR_INVALID_ARG_VALUE', what);
  } finally {
    port.close(); kq.close(); timer.close();
  }
});
