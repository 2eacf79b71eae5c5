/**
 * The `ukern` signals API: onSignal (several listeners behind one handler,
 * dispose restores the previous action), signals() (an async iterator that
 * blocks its set while it runs and unblocks on return/abort), Lwp#kill, names
 * as Node spells them, argument errors with Node's codes, kstat counters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onSignal, signals, kill, Lwp, kstat, SIGUSR1, SIGUSR2, SIGRTMIN, SIG_DFL } from 'ukern';
import * as sys from 'ukern/sys';
import { until, within } from './helpers.js';

const sigs = new URL('./fixtures/signals-pkg.js', import.meta.url);

test('onSignal: two listeners, each called once per signal, dispose of the last restores the previous action', () => {
  const got: string[] = [];
  const a = onSignal('SIGUSR1', (i) => { got.push(`a${i.si_signo}`); });
  const b = onSignal(SIGUSR1, () => { got.push('b'); });
  kill(process.pid, 'SIGUSR1'); sys.lwp_self();
  assert.deepEqual(got, ['a10', 'b']);
  a.dispose();
  kill(process.pid, SIGUSR1); sys.lwp_self();
  assert.deepEqual(got, ['a10', 'b', 'b']);
  b[Symbol.dispose]();
  b.dispose(); // twice is harmless
  assert.equal(sys.sigaction(SIGUSR1, null).sa_handler, SIG_DFL);
});

test('signals(): yields siginfo_t in order, blocks the set meanwhile, unblocks on break', async () => {
  const it = signals(['SIGRTMIN', 'SIGRTMIN+1']);
  const first = it.next();
  // The set is blocked once the iterator runs (its first next()); the values queue.
  assert.equal(sys.sigismember(sys.sigprocmask(sys.SIG_BLOCK, null), SIGRTMIN), true);
  sys.sigqueue(process.pid, SIGRTMIN + 1, 5);
  sys.sigqueue(process.pid, SIGRTMIN, 6);
  const v1 = (await within(first, 5000, 'first')).value as sys.siginfo_t;
  const v2 = (await within(it.next(), 5000, 'second')).value as sys.siginfo_t;
  // The lowest-numbered pending signal is taken first.
  assert.deepEqual([v1.si_signo, v1.si_value, v2.si_signo, v2.si_value], [SIGRTMIN, 6, SIGRTMIN + 1, 5]);
  await it.return(undefined);
  assert.equal(sys.sigismember(sys.sigprocmask(sys.SIG_BLOCK, null), SIGRTMIN), false);
});

test('signals(): an abort ends the pending next() with AbortError and unblocks', async () => {
  const ac = new AbortController();
  const it = signals([SIGUSR2], { signal: ac.signal });
  const p = it.next();
  setTimeout(() => ac.abort(), 5);
  await assert.rejects(p, { name: 'AbortError' });
  assert.equal(sys.sigismember(sys.sigprocmask(sys.SIG_BLOCK, null), SIGUSR2), false);
});

test('Lwp#kill runs the target\'s listener in its thread', async () => {
  const port = sys.port_create();
  const sab = new SharedArrayBuffer(32);
  const a = new Int32Array(sab);
  const lwp = Lwp.create({ module: sigs, export: 'handlerInPortGet', arg: { sab, port, signo: SIGUSR2 } });
  await until(() => Atomics.load(a, 0) === 1 && sys.lwp_snapshot().lwps.find((l) => l.lid === lwp.lid)?.state === 'SLEEP', 5000, 'the LWP to sleep');
  lwp.kill('SIGUSR2');
  await within(lwp.wait(), 5000, 'the LWP');
  assert.deepEqual([a[1], a[3]], [SIGUSR2, 1]);
  sys.close(port);
  sys.sigaction(SIGUSR2, { sa_handler: SIG_DFL });
});

test('argument errors: unknown names, bad numbers, non-functions', () => {
  assert.throws(() => onSignal('SIGNOPE' as never, () => {}), { code: 'ERR_UNKNOWN_SIGNAL' });
  assert.throws(() => onSignal(65, () => {}), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => onSignal('SIGRTMIN+31' as never, () => {}), { code: 'ERR_UNKNOWN_SIGNAL' });
  assert.throws(() => onSignal(SIGUSR1, 'x' as never), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => signals('SIGUSR1' as never), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => onSignal('SIGKILL', () => {}), { code: 'EINVAL' });
});

test('kstat counts generations by cause and the handlers run', () => {
  const before = kstat('sig');
  const s = onSignal('SIGUSR1', () => {});
  kill(0, 'SIGUSR1'); sys.lwp_self();
  sys.sigqueue(0, SIGUSR1, 1); sys.lwp_self();
  s.dispose();
  const after = kstat('sig');
  assert.equal(after['sig.gen_kill']! - before['sig.gen_kill']!, 1);
  assert.equal(after['sig.gen_sigqueue']! - before['sig.gen_sigqueue']!, 1);
  assert.equal(after['sig.handled']! - before['sig.handled']!, 2);
});
