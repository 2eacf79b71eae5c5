/**
 * kevent: the changelist, nevents and the timeout are copied in once,
 * before the kqueue lock. Each reproducer runs in a fresh Node process with
 * a deadline: the old code re-read the changelist under the kqueue lock (a
 * getter calling kevent on the same kqueue deadlocked) and the timeout
 * after checking it (a getter valid once, NaN or huge later, waited for
 * ever); a hang must fail the test by timeout, not wedge the runner.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';

const FACADE = import.meta.resolve('ukern/sys');
const CHILD_MS = 20000;

/** Runs `body` as an ES module with `s` = the ukern/sys facade; resolves to its last stdout line, parsed as JSON. */
function child(body: string): Promise<unknown> {
  const src = `import * as s from ${JSON.stringify(FACADE)};\n${body}`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8', timeout: CHILD_MS, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (err !== null) {
          const hung = (err as { killed?: boolean }).killed === true;
          reject(new Error(hung ? `child hung (killed after ${CHILD_MS} ms)\n${stderr}` : `child failed: ${stderr}`));
          return;
        }
        try { resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '')); } catch { reject(new Error(`bad child output: ${stdout}`)); }
      });
  });
}

test('a changelist element whose getter calls kevent on the same kqueue completes (no deadlock)', async () => {
  const r = await child(`const kq = s.kqueue();
    const ZERO = { tv_sec: 0, tv_nsec: 0 };
    let reads = 0;
    const first = s.EV_SET(1, s.EVFILT_USER, s.EV_ADD, 0, 0, 1);
    const second = { get ident() { reads++; s.kevent(kq, [s.EV_SET(3, s.EVFILT_USER, s.EV_ADD, 0, 0, 3)], 0, ZERO); return 2; },
      filter: s.EVFILT_USER, flags: s.EV_ADD | s.EV_RECEIPT, fflags: 0, data: 0, udata: 2 };
    const out = s.kevent(kq, [first, second], 4, ZERO);
    // All three knotes exist: deleting them succeeds.
    s.kevent(kq, [1, 2, 3].map((i) => s.EV_SET(i, s.EVFILT_USER, s.EV_DELETE, 0, 0, 0)), 0, ZERO);
    console.log(JSON.stringify({ reads, out: out.map((e) => [e.ident, e.flags === s.EV_ERROR, e.data]) }));`);
  assert.deepEqual(r, { reads: 1, out: [[2, true, 0]] }, 'one read; the receipt for the second change, no error');
});

test('a changelist Proxy array whose element trap calls kevent on the same kqueue completes', async () => {
  const r = await child(`const kq = s.kqueue();
    const ZERO = { tv_sec: 0, tv_nsec: 0 };
    let reads = 0;
    const arr = [s.EV_SET(1, s.EVFILT_USER, s.EV_ADD, 0, 0, 1), s.EV_SET(2, s.EVFILT_USER, s.EV_ADD, 0, 0, 2)];
    const list = new Proxy(arr, { get(t, k, rcv) {
      // nevents 1: the nested call scans, so it takes the kqueue lock.
      if (k === '1') { reads++; s.kevent(kq, null, 1, ZERO); }
      return Reflect.get(t, k, rcv);
    } });
    s.kevent(kq, list, 0, ZERO);
    s.kevent(kq, [1, 2].map((i) => s.EV_SET(i, s.EVFILT_USER, s.EV_DELETE, 0, 0, 0)), 0, ZERO);
    console.log(JSON.stringify({ reads }));`);
  assert.deepEqual(r, { reads: 1 });
});

// The copy of a changelist goes into records the thread reuses from call to
// call (kevent.ts, ChangeList). A call made while another call's copy is
// still pending (from a getter of its timeout, after its changelist was
// copied) must copy into records of its own: both lists apply as given.
test('a timeout getter calling kevent with a changelist while the outer copy is pending: both lists apply as given', async () => {
  const r = await child(`const kq = s.kqueue();
    const ZERO = { tv_sec: 0, tv_nsec: 0 };
    const R = s.EV_ADD | s.EV_RECEIPT;
    let inner = [];
    const ts = { get tv_sec() {
      inner = s.kevent(kq, [7, 8, 9].map((i) => s.EV_SET(i, s.EVFILT_USER, R, 0, 0, i + 10)), 4, ZERO);
      return 0;
    }, tv_nsec: 0 };
    const outer = s.kevent(kq, [1, 2].map((i) => s.EV_SET(i, s.EVFILT_USER, R, 0, 0, i + 10)), 4, ts);
    // Every knote exists: deleting them all succeeds.
    s.kevent(kq, [1, 2, 7, 8, 9].map((i) => s.EV_SET(i, s.EVFILT_USER, s.EV_DELETE, 0, 0, 0)), 0, ZERO);
    const pairs = (l) => l.map((e) => [e.ident, e.udata, e.data]);
    console.log(JSON.stringify({ outer: pairs(outer), inner: pairs(inner) }));`);
  assert.deepEqual(r, { outer: [[1, 11, 0], [2, 12, 0]], inner: [[7, 17, 0], [8, 18, 0], [9, 19, 0]] });
});

test('after copies that failed (a TypeError mid-list, nevents EINVAL) and a list longer than the reused records, lists still apply as given', async () => {
  const r = await child(`const kq = s.kqueue();
    const ZERO = { tv_sec: 0, tv_nsec: 0 };
    const R = s.EV_ADD | s.EV_RECEIPT;
    const errs = [];
    try { s.kevent(kq, [s.EV_SET(1, s.EVFILT_USER, s.EV_ADD, 0, 0, 0), { ident: 2 }], 0, ZERO); } catch (e) { errs.push(e.name); }
    try { s.kevent(kq, [s.EV_SET(3, s.EVFILT_USER, s.EV_ADD, 0, 0, 0)], -1, ZERO); } catch (e) { errs.push(e.code); }
    // Neither call applied anything.
    const gone = s.kevent(kq, [1, 3].map((i) => s.EV_SET(i, s.EVFILT_USER, s.EV_DELETE | s.EV_RECEIPT, 0, 0, 0)), 4, ZERO).map((e) => e.data);
    // 20 000 changes (past the records a thread keeps), then a short list.
    const N = 20000;
    const big = s.kevent(kq, Array.from({ length: N }, (_, i) => s.EV_SET(100 + i, s.EVFILT_USER, R, 0, 0, i)), N, ZERO);
    const bigOk = big.length === N && big.every((e, i) => e.ident === 100 + i && e.udata === i && e.data === 0);
    const small = s.kevent(kq, [4, 5, 6].map((i) => s.EV_SET(i, s.EVFILT_USER, R, 0, 0, -i)), 4, ZERO).map((e) => [e.ident, e.udata, e.data]);
    // A shorter list after a longer one: only its own change (the records past it are stale).
    const one = s.kevent(kq, [s.EV_SET(4, s.EVFILT_USER, s.EV_DELETE | s.EV_RECEIPT, 0, 0, 0)], 4, ZERO).map((e) => [e.ident, e.data]);
    console.log(JSON.stringify({ errs, gone, bigOk, small, one }));`);
  assert.deepEqual(r, { errs: ['TypeError', 'EINVAL'], gone: [2, 2], bigOk: true, small: [[4, -4, 0], [5, -5, 0], [6, -6, 0]], one: [[4, 0]] });
});

test('a kevent timeout read once: valid when checked, NaN or huge later, still a bounded wait', async () => {
  const body = (later: string): string => `const kq = s.kqueue();
    let reads = 0;
    const ts = { get tv_sec() { return reads++ === 0 ? 0 : ${later}; }, tv_nsec: 1e6 };
    const t0 = performance.now();
    const out = s.kevent(kq, null, 4, ts);
    const ts2 = { get tv_sec() { return reads++ === 1 ? 0 : ${later}; }, tv_nsec: 1e6 };
    const out2 = await s.kevent_async(kq, null, 4, ts2);
    console.log(JSON.stringify({ n: out.length + out2.length, reads, ms: performance.now() - t0 }));`;
  const [nan, huge] = await Promise.all([child(body('NaN')), child(body('1e6'))]);
  for (const [r, what] of [[nan, 'then NaN'], [huge, 'then 10^6 s']] as const) {
    const o = r as { n: number; reads: number; ms: number };
    assert.equal(o.n, 0, what);
    assert.equal(o.reads, 2, `${what}: each tv_sec read once`);
    assert.ok(o.ms < 10000, `${what}: two 1 ms waits took ${o.ms} ms`);
  }
});

test('kevent ranges: nevents an int (negative EINVAL), fields by their C types, TypeErrors Node-style', async () => {
  const s = await import('ukern/sys');
  const kq = s.kqueue();
  const ZERO = { tv_sec: 0, tv_nsec: 0 };
  const TE = { code: 'ERR_INVALID_ARG_TYPE' };
  assert.throws(() => s.kevent(kq, null, -1, ZERO), { code: 'EINVAL' });
  assert.throws(() => s.kevent(kq, null, 2 ** 31, ZERO), { code: 'EINVAL' }, 'nevents is an int');
  assert.throws(() => s.kevent(kq, null, 1, { tv_sec: 0, tv_nsec: NaN }), { code: 'EINVAL' });
  assert.throws(() => s.kevent(kq, 'x' as unknown as null, 1, ZERO), TE);
  assert.throws(() => s.kevent(kq, [7 as unknown as { ident: number; filter: number; flags: number; fflags: number; data: number; udata: number }], 1, ZERO), TE);
  assert.throws(() => s.kevent(kq, null, 1, 5 as unknown as null), TE);
  assert.throws(() => s.kevent(2 ** 40, null, 1, ZERO), { code: 'EBADF' });
  const bad = [
    s.EV_SET(1, -0x8001, s.EV_ADD, 0, 0, 0),           // filter beyond short
    s.EV_SET(1, s.EVFILT_USER, 0x10000, 0, 0, 0),        // flags beyond u_short
    s.EV_SET(1, s.EVFILT_USER, -1, 0, 0, 0),             // flags negative
    s.EV_SET(1, s.EVFILT_USER, s.EV_ADD, 2 ** 32, 0, 0), // fflags beyond u_int
    s.EV_SET(2 ** 53, s.EVFILT_USER, s.EV_ADD, 0, 0, 0), // ident beyond a safe uintptr
    s.EV_SET(1, s.EVFILT_USER, s.EV_ADD, 0, 2 ** 53, 0), // data beyond a safe intptr
  ];
  const out = s.kevent(kq, bad, bad.length, ZERO);
  assert.deepEqual(out.map((e) => e.data), bad.map(() => 22), 'EINVAL per change');
  s.close(kq);
});

// The value checks of a change (kevent.ts bad_value) at each edge of each
// C type, on both sides: EV_ADD | EV_RECEIPT answers 0 for a value the type
// holds and EINVAL (22) for one it does not, change by change.
test('kevent value checks: each field at the edges of its C type, -0, fractions, NaN and infinities', async () => {
  const s = await import('ukern/sys');
  const kq = s.kqueue();
  const ZERO = { tv_sec: 0, tv_nsec: 0 };
  const R = s.EV_ADD | s.EV_RECEIPT, U = s.EVFILT_USER;
  const cases: [string, [number, number, number, number, number], boolean][] = [
    ['ident 0xffffffff', [0xffffffff, U, R, 0, 0], true],
    ['ident 2^32', [2 ** 32, U, R, 0, 0], true],
    ['ident 2^53 - 1', [2 ** 53 - 1, U, R, 0, 0], true],
    ['ident -0', [-0, U, R, 0, 0], true],
    ['ident -1', [-1, U, R, 0, 0], false],
    ['ident -2^32', [-(2 ** 32), U, R, 0, 0], false],
    ['ident 2^53', [2 ** 53, U, R, 0, 0], false],
    ['ident 1.5', [1.5, U, R, 0, 0], false],
    ['ident 2^32 + 0.5', [2 ** 32 + 0.5, U, R, 0, 0], false],
    ['ident NaN', [NaN, U, R, 0, 0], false],
    ['ident Infinity', [Infinity, U, R, 0, 0], false],
    ['filter -0x8001', [1, -0x8001, R, 0, 0], false],
    ['filter 1.5', [1, -1.5, R, 0, 0], false],
    ['filter NaN', [1, NaN, R, 0, 0], false],
    ['flags 0xffff less the flags that change the outcome', [2, U, 0xffff & ~(s.EV_DELETE | s.EV_DISABLE | s.EV_ONESHOT | s.EV_DISPATCH), 0, 0], true],
    ['flags 0x10000', [2, U, 0x10000 | R, 0, 0], false],
    ['flags -1', [2, U, -1, 0, 0], false],
    ['flags R + 0.5', [2, U, R + 0.5, 0, 0], false],
    ['flags -0', [3, U, -0, 0, 0], false], // holds in u_short, but no EV_ADD: ENOENT (2), not EINVAL
    ['fflags 0xffffffff', [4, U, R, 0xffffffff, 0], true],
    ['fflags -0x80000000', [5, U, R, -0x80000000, 0], true],
    ['fflags -0', [6, U, R, -0, 0], true],
    ['fflags -0x80000001', [7, U, R, -0x80000001, 0], false],
    ['fflags 2^32', [7, U, R, 2 ** 32, 0], false],
    ['fflags 0.5', [7, U, R, 0.5, 0], false],
    ['fflags -Infinity', [7, U, R, -Infinity, 0], false],
    ['data -(2^53 - 1)', [8, U, R, 0, -(2 ** 53 - 1)], true],
    ['data 2^31', [9, U, R, 0, 2 ** 31], true],
    ['data -0', [10, U, R, 0, -0], true],
    ['data -2^53', [11, U, R, 0, -(2 ** 53)], false],
    ['data 0.5', [11, U, R, 0, 0.5], false],
    ['data NaN', [11, U, R, 0, NaN], false],
  ];
  const list = cases.map(([, [ident, filter, flags, fflags, data]]) => ({ ident, filter, flags, fflags, data, udata: 0 }));
  const out = s.kevent(kq, list, list.length, ZERO);
  const want = cases.map(([what, , ok]) => [what, what === 'flags -0' ? 2 : ok ? 0 : 22]);
  // One entry per change except 'flags -0' without EV_RECEIPT: it fails (ENOENT), which is reported too.
  assert.deepEqual(out.map((e, i) => [cases[i]![0], e.data]), want);
  s.close(kq);
});

// The copy-in reuses one array for the list's elements from call to call
// (kevent.ts copyin_changes): a copy that fails while reading an element or
// a field, or is made while another holds the array, leaves the next call's
// list as given; and one past the thread's records (16 384) is copied apart.
test('changelist copies after a failed element read, a nested copy and a long list apply as given', async () => {
  const r = await child(`const kq = s.kqueue();
    const ZERO = { tv_sec: 0, tv_nsec: 0 };
    const R = s.EV_ADD | s.EV_RECEIPT;
    const errs = [];
    const ev = (i) => s.EV_SET(i, s.EVFILT_USER, R, 0, 0, i);
    // An element read throws (after one element was read): nothing applied.
    const boom = new Proxy([ev(1), ev(2), ev(3)], { get(t, k, rcv) { if (k === '2') throw new RangeError('boom'); return Reflect.get(t, k, rcv); } });
    try { s.kevent(kq, boom, 4, ZERO); } catch (e) { errs.push(e.name); }
    // An element whose field read makes a nested call with its own list.
    let nested = [];
    const odd = { get ident() { nested = s.kevent(kq, [ev(20), ev(21)], 4, ZERO); return 5; }, filter: s.EVFILT_USER, flags: R, fflags: 0, data: 0, udata: 5 };
    const outer = s.kevent(kq, [ev(4), odd, ev(6)], 4, ZERO);
    // Long lists (the element array grows past the records) around short ones.
    const N = 20000;
    const big = s.kevent(kq, Array.from({ length: N }, (_, i) => ev(100 + i)), N, ZERO);
    const after = s.kevent(kq, [ev(7)], 4, ZERO);
    const mid = s.kevent(kq, Array.from({ length: 5000 }, (_, i) => ev(30000 + i)), 5000, ZERO);
    const last = s.kevent(kq, [ev(8), ev(9)], 4, ZERO);
    const gone = s.kevent(kq, [1, 2, 3].map((i) => s.EV_SET(i, s.EVFILT_USER, s.EV_DELETE | s.EV_RECEIPT, 0, 0, 0)), 4, ZERO).map((e) => e.data);
    const ids = (l) => l.map((e) => [e.ident, e.data]);
    const seq = (l, base) => l.every((e, i) => e.ident === base + i && e.udata === base + i && e.data === 0);
    console.log(JSON.stringify({ errs, gone, nested: ids(nested), outer: ids(outer), big: big.length === N && seq(big, 100),
      after: ids(after), mid: mid.length === 5000 && seq(mid, 30000), last: ids(last) }));`);
  assert.deepEqual(r, { errs: ['RangeError'], gone: [2, 2, 2], nested: [[20, 0], [21, 0]], outer: [[4, 0], [5, 0], [6, 0]], big: true,
    after: [[7, 0]], mid: true, last: [[8, 0], [9, 0]] });
});

test('a sparse changelist of a huge length fails at its first hole, at once, and applies nothing; an earlier bad entry is still reported first', async () => {
  const r = await child(`const kq = s.kqueue();
    const ZERO = { tv_sec: 0, tv_nsec: 0 };
    const out = {};
    for (const n of [2 ** 31 - 1, 1e8, 1e7]) {
      const list = [s.EV_SET(1, s.EVFILT_USER, s.EV_ADD, 0, 0, 1), s.EV_SET(2, s.EVFILT_USER, s.EV_ADD, 0, 0, 2)];
      list.length = n;
      const t0 = performance.now();
      try { s.kevent(kq, list, 0, ZERO); out[n] = 'returned'; } catch (e) { out[n] = [e.name, e.code, /changelist entry must be an object, got type undefined/.test(e.message), performance.now() - t0 < 1000]; }
    }
    // Nothing applied: deleting knote 1 is ENOENT.
    let del = 'none';
    try { s.kevent(kq, [s.EV_SET(1, s.EVFILT_USER, s.EV_DELETE, 0, 0, 0)], 0, ZERO); del = 'deleted'; } catch (e) { del = e.code; }
    // A bad entry before the hole is the one reported.
    const bad = [s.EV_SET(1, s.EVFILT_USER, s.EV_ADD, 0, 0, 1), { ident: 'x', filter: 0, flags: 0, fflags: 0, data: 0, udata: 0 }];
    bad.length = 2 ** 31 - 1;
    let first = '';
    try { s.kevent(kq, bad, 0, ZERO); } catch (e) { first = /changelist\\[1\\]/.test(e.message) ? 'entry 1' : e.message; }
    console.log(JSON.stringify({ out, del, first }));`);
  const fails = ['TypeError', 'ERR_INVALID_ARG_TYPE', true, true];
  assert.deepEqual(r, { out: { [2 ** 31 - 1]: fails, 1e8: fails, 1e7: fails }, del: 'ENOENT', first: 'entry 1' });
});
