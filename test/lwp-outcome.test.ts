/**
 * The class layer's LWP outcomes (issue 12 item 3): `await lwp.wait()`
 * resolves with a structured clone of what the start function returned and
 * rejects with an LwpError subclass whose `cause` is the original error;
 * wait takes a signal; create refuses an aborted one; Lwp is disposable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lwp, SysError, snapshot, LwpImportError, LwpExportError, LwpThrewError, LwpResultError, LwpNoResultError, AbortError } from 'ukern';
import { within, until } from './helpers.js';

const F = new URL('./fixtures/outcomes.js', import.meta.url);

test('wait resolves with the return value (a structured clone), sync and async start functions, waitSync too', async () => {
  const v = await within(Lwp.create<{ doubled: number; list: string[]; at: Float64Array }>({ module: F, export: 'give', arg: { n: 21 } }).wait(), 20000, 'give');
  assert.equal(v.doubled, 42);
  assert.deepEqual(v.list, ['a', 'b']);
  assert.ok(v.at instanceof Float64Array && v.at[0] === 21);
  assert.equal(await within(Lwp.create<number>({ module: F, export: 'later', arg: { n: 1 } }).wait(), 20000, 'later'), 2);
  assert.equal(Lwp.create<number>({ module: F, export: 'later', arg: { n: 9 } }).waitSync(), 10);
});

test('failures reject with their own class, code and cause', async () => {
  const cases: [string, string | URL, new (...a: never[]) => Error, string, RegExp][] = [
    ['missing module', new URL('./fixtures/no-such-module.js', import.meta.url), LwpImportError, 'ERR_UKERN_LWP_IMPORT', /Cannot find module|ERR_MODULE_NOT_FOUND/],
    ['module throws on load', new URL('./fixtures/throws-on-load.js', import.meta.url), LwpImportError, 'ERR_UKERN_LWP_IMPORT', /thrown while loading/],
  ];
  for (const [what, module, cls, code, cause] of cases) {
    const e = await within(Lwp.create({ module, export: 'x' }).wait().then(() => null, (x: unknown) => x), 20000, what);
    assert.ok(e instanceof cls, `${what}: ${String(e)}`);
    assert.equal((e as unknown as { code: string }).code, code);
    assert.match(String((e as Error).cause), cause, what);
  }
  const ex = await Lwp.create({ module: F, export: 'notAFunction' }).wait().catch((x: unknown) => x);
  assert.ok(ex instanceof LwpExportError && ex.code === 'ERR_UKERN_LWP_EXPORT', String(ex));
  const nx = await Lwp.create({ module: F, export: 'nothingHere' }).wait().catch((x: unknown) => x);
  assert.ok(nx instanceof LwpExportError, String(nx));
  const th = await Lwp.create({ module: F, export: 'boom' }).wait().catch((x: unknown) => x);
  assert.ok(th instanceof LwpThrewError && th.code === 'ERR_UKERN_LWP_THREW', String(th));
  assert.ok(th.cause instanceof RangeError && th.cause.message === 'boom in the LWP', 'cause is the original error');
  const rj = await Lwp.create({ module: F, export: 'reject' }).wait().catch((x: unknown) => x);
  assert.ok(rj instanceof LwpThrewError && rj.cause instanceof TypeError, String(rj));
  const uc = await Lwp.create({ module: F, export: 'uncloneable' }).wait().catch((x: unknown) => x);
  assert.ok(uc instanceof LwpResultError && uc.code === 'ERR_UKERN_LWP_RESULT', String(uc));
  const dd = await Lwp.create({ module: F, export: 'die' }).wait().catch((x: unknown) => x);
  assert.ok(dd instanceof LwpNoResultError && dd.code === 'ERR_UKERN_LWP_NO_RESULT', String(dd));
  assert.throws(() => Lwp.create({ module: F, export: 'boom' }).waitSync(), LwpThrewError);
});

test('a SysError thrown in the LWP arrives as the cause with its code, errno, syscall and name (a status error and a fault)', async () => {
  for (const [exp, code, syscall] of [['statusThrows', 'EALREADY', 'lwp_park'], ['faultThrows', 'EBADF', 'port_get']] as const) {
    const e = await within(Lwp.create({ module: F, export: exp }).wait().catch((x: unknown) => x), 20000, exp);
    assert.ok(e instanceof LwpThrewError, `${exp}: ${String(e)}`);
    const c = e.cause as Error & { code?: string; errno?: number; syscall?: string };
    assert.ok(c instanceof Error, `${exp}: the cause is an Error: ${String(c)}`);
    assert.equal(c.name, 'SysError');
    assert.equal(c.code, code);
    assert.equal(c.syscall, syscall);
    assert.equal(typeof c.errno, 'number');
    assert.match(c.message, new RegExp(`^${syscall}: ${code}`));
    assert.match(e.message, new RegExp(`the start function threw: SysError: ${syscall}: ${code}`));
  }
});

test('wait with a signal: abort rejects with AbortError (code, cause) and the LWP can still be waited for', async () => {
  const sab = new SharedArrayBuffer(4);
  const l = Lwp.create<string>({ module: F, export: 'hold', arg: { sab } });
  const ac = new AbortController();
  const p = l.wait({ signal: ac.signal });
  // (the async wait is queued by the time wait() returns its Promise: lwp_wait_async runs to its first sleep synchronously)
  const reason = new Error('enough');
  ac.abort(reason);
  const e = await within(p.catch((x: unknown) => x), 10000, 'abort');
  assert.ok(e instanceof AbortError && e.code === 'ABORT_ERR' && e.name === 'AbortError' && e.cause === reason, String(e));
  Atomics.store(new Int32Array(sab), 0, 1);
  Atomics.notify(new Int32Array(sab), 0);
  assert.equal(await within(l.wait(), 20000, 'wait after abort'), 'released');
  assert.throws(() => Lwp.create({ module: F, export: 'give', arg: { n: 1 } }, { signal: AbortSignal.abort('no') }), AbortError);
});

test('Lwp is disposable: leaving its scope detaches it (nothing left to collect)', async () => {
  let lid = 0;
  {
    using l = Lwp.create<number>({ module: F, export: 'later', arg: { n: 1 } });
    lid = l.lid;
  }
  await until(() => !snapshot().lwps.some((x) => x.lid === lid), 20000, 'detached LWP gone after exit');
});

test('wait with a timeout: ETIMEDOUT (a SysError, as lwp_park gives), and the LWP can still be waited for', async () => {
  const sab = new SharedArrayBuffer(4);
  const l = Lwp.create<string>({ module: F, export: 'hold', arg: { sab } });
  const t0 = performance.now();
  const e = await within(l.wait({ timeout: 20 }).catch((x: unknown) => x), 10000, 'timeout');
  assert.ok(e instanceof SysError && e.code === 'ETIMEDOUT', String(e));
  assert.ok(performance.now() - t0 >= 19, 'timed out early');
  await assert.rejects(l.wait({ timeout: -1 }), (x: unknown) => (x as { code?: string }).code === 'ERR_OUT_OF_RANGE');
  Atomics.store(new Int32Array(sab), 0, 1);
  Atomics.notify(new Int32Array(sab), 0);
  assert.equal(await within(l.wait({ timeout: Infinity }), 20000, 'wait after timeout'), 'released');
});

test('waitSync with a timeout: ETIMEDOUT with wait()\'s message, never early; the LWP is still there to wait for; bad options and an aborted signal', () => {
  const sab = new SharedArrayBuffer(4);
  const l = Lwp.create<string>({ module: F, export: 'hold', arg: { sab } });
  for (const ms of [0, 25]) {
    const t0 = performance.now();
    assert.throws(() => l.waitSync({ timeout: ms }), (x: unknown) => x instanceof SysError && x.code === 'ETIMEDOUT' &&
      x.message.includes(`lid ${l.lid} still running after ${ms} ms`), `timeout ${ms}`);
    assert.ok(performance.now() - t0 >= ms - 1, `timeout ${ms}: timed out after ${performance.now() - t0} ms`);
  }
  assert.ok(snapshot().lwps.some((x) => x.lid === l.lid), 'not collected by a timed-out wait');
  assert.throws(() => l.waitSync({ timeout: -1 }), (x: unknown) => (x as { code?: string }).code === 'ERR_OUT_OF_RANGE');
  assert.throws(() => l.waitSync({ timeout: NaN }), (x: unknown) => (x as { code?: string }).code === 'ERR_OUT_OF_RANGE');
  assert.throws(() => l.waitSync({ signal: AbortSignal.abort('stop') }), (x: unknown) => x instanceof AbortError);
  // Released from another thread while this one is blocked in the timed wait: the wait returns its value.
  const releaser = Lwp.create({ module: F, export: 'release', arg: { sab, ms: 30 } });
  const t0 = performance.now();
  assert.equal(l.waitSync({ timeout: 20_000 }), 'released');
  assert.ok(performance.now() - t0 < 15_000, 'the wait ended when the LWP did');
  releaser.waitSync({ timeout: 20_000 });
});
