/**
 * Event ports: every argument is copied in once, before any kernel lock.
 * Each reproducer runs in a fresh Node process with a deadline, because the
 * defects it guards against hang the calling thread (a spin on a kernel
 * lock the thread itself holds, or an unbounded wait): a hang must fail the
 * test by timeout, not wedge the test runner. A child prints one JSON line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';

const FACADE = import.meta.resolve('ukern/sys');
const CHILD_MS = 20000;

interface ChildResult { status: number | null; out: unknown; stderr: string; timedOut: boolean }

/** Runs `body` as an ES module with `s` = the ukern/sys facade; its last stdout line is JSON. */
function child(body: string): Promise<ChildResult> {
  const src = `import * as s from ${JSON.stringify(FACADE)};\n${body}`;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8', timeout: CHILD_MS, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const timedOut = err !== null && (err as { killed?: boolean }).killed === true;
        const last = stdout.trim().split('\n').pop() ?? '';
        let out: unknown;
        try { out = JSON.parse(last); } catch { out = last; }
        resolve({ status: err === null ? 0 : ((err as { code?: number }).code ?? null), out, stderr, timedOut });
      });
  });
}

function ok(r: ChildResult, what: string): unknown {
  assert.equal(r.timedOut, false, `${what}: the child hung (killed after ${CHILD_MS} ms)\n${r.stderr}`);
  assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  return r.out;
}

test('descriptor -1 as a thread\'s first port call is EBADF, not a hang (every call)', async () => {
  const calls: Record<string, string> = {
    port_send: 's.port_send(-1, 1, 0)',
    port_get: 's.port_get(-1, { tv_sec: 0, tv_nsec: 0 })',
    port_getn: 's.port_getn(-1, 1, 1, { tv_sec: 0, tv_nsec: 0 })',
    port_getn_count: 's.port_getn(-1, 0, 0)',
    port_alert: 's.port_alert(-1, s.PORT_ALERT_SET, 1, 0)',
    port_associate: 's.port_associate(-1, s.PORT_SOURCE_FD, 0, 1, 0)',
    port_dissociate: 's.port_dissociate(-1, s.PORT_SOURCE_FD, 0)',
    port_get_async: 'await s.port_get_async(-1, { tv_sec: 0, tv_nsec: 0 })',
  };
  const names = Object.keys(calls);
  const rs = await Promise.all(names.map((n) => child(
    `let code = 'no error';\ntry { ${calls[n]}; } catch (e) { code = e.code; }\nconsole.log(JSON.stringify(code));`)));
  rs.forEach((r, i) => assert.equal(ok(r, names[i]!), 'EBADF', names[i]));
});

test('a timeout whose getter re-enters the kernel on the same port completes (no deadlock)', async () => {
  const [sendGetter, countProxy, asyncGetter] = await Promise.all([
    // The getter sends on the port it times: the copy-in reads it once, with no lock held.
    child(`const p = s.port_create();
      let reads = 0;
      const ts = { get tv_sec() { reads++; s.port_send(p, 1, reads); return 0; }, tv_nsec: 20e6 };
      const r = s.port_getn(p, 2, 2, ts);
      console.log(JSON.stringify({ nget: r.nget, users: r.map((e) => e.portev_user), reads }));`),
    // A Proxy whose traps look at the port (port_getn count) on every read.
    child(`const p = s.port_create();
      let reads = 0;
      const ts = new Proxy({}, { get(_t, k) { reads++; s.port_getn(p, 0, 0); return k === 'tv_sec' ? 0 : 5e6; } });
      let code = 'none';
      try { s.port_get(p, ts); } catch (e) { code = e.code; }
      console.log(JSON.stringify({ code, reads }));`),
    // The Promise form, same getter.
    child(`const p = s.port_create();
      let reads = 0;
      const ts = { get tv_sec() { reads++; s.port_send(p, 2, reads); return 0; }, tv_nsec: 20e6 };
      const r = await s.port_getn_async(p, 2, 2, ts);
      console.log(JSON.stringify({ nget: r.nget, users: r.map((e) => e.portev_user), reads }));`),
  ]);
  assert.deepEqual(ok(sendGetter, 'getter sends'), { nget: 1, users: [1], reads: 1 });
  assert.deepEqual(ok(countProxy, 'proxy counts'), { code: 'ETIME', reads: 2 });
  assert.deepEqual(ok(asyncGetter, 'async getter sends'), { nget: 1, users: [1], reads: 1 });
});

test('a timeout read once: a getter valid when checked and huge or NaN later still gives a bounded wait', async () => {
  const body = (later: string): string => `const p = s.port_create();
    let reads = 0;
    const ts = { get tv_sec() { return reads++ === 0 ? 0 : ${later}; }, tv_nsec: 1e6 };
    const t0 = performance.now();
    let code = 'none';
    try { s.port_get(p, ts); } catch (e) { code = e.code; }
    const r = s.port_getn(p, 4, 1, { get tv_sec() { return reads++ === 1 ? 0 : ${later}; }, tv_nsec: 1e6 });
    console.log(JSON.stringify({ code, nget: r.nget, reads, ms: performance.now() - t0 }));`;
  const [huge, nan] = await Promise.all([child(body('1e6')), child(body('NaN'))]);
  for (const [r, what] of [[huge, '1 ms, then 10^6 s'], [nan, '1 ms, then NaN']] as const) {
    const o = ok(r, what) as { code: string; nget: number; reads: number; ms: number };
    assert.equal(o.code, 'ETIME', what);
    assert.equal(o.nget, 0, what);
    assert.equal(o.reads, 2, `${what}: each timeout's tv_sec read exactly once`);
    assert.ok(o.ms < 10000, `${what}: waited ${o.ms} ms for two 1 ms timeouts`);
  }
});

test('copy-in errors: Node-style TypeErrors for wrong shapes, EINVAL for bad values only when the call would wait', async () => {
  const s = await import('ukern/sys');
  const p = s.port_create();
  const TE = { code: 'ERR_INVALID_ARG_TYPE' };
  assert.throws(() => s.port_get(p, 5 as unknown as null), TE);
  assert.throws(() => s.port_getn(p, 1, 1, { tv_sec: '1', tv_nsec: 0 } as unknown as null), TE);
  assert.throws(() => s.port_send('x' as unknown as number, 1, 1), TE);
  assert.throws(() => s.port_alert(p, 1.5, 1, 1), { code: 'EINVAL' });
  assert.throws(() => s.port_alert(p, 0x80000000, 1, 1), { code: 'EINVAL' }, 'flags is an int');
  assert.throws(() => s.port_send(p, 2 ** 32, 1), { code: 'EINVAL' }, 'events beyond 32 bits');
  assert.throws(() => s.port_getn(p, 2 ** 32, 1), { code: 'EINVAL' }, 'max beyond uint');
  assert.throws(() => s.port_associate(p, 2 ** 31, 0, 1, 0), { code: 'EINVAL' }, 'source is an int');
  await assert.rejects(s.port_get_async(p, { tv_sec: 0, tv_nsec: 2e9 }), { code: 'EINVAL' });
  s.port_send(p, 1, 1);
  assert.equal(s.port_get(p, { tv_sec: 0, tv_nsec: 2e9 }).portev_user, 1, 'a bad timeout is not judged when no wait is needed');
  s.close(p);
});
