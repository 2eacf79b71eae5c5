/**
 * 100 000 knotes on one kqueue (the default kq_knotes_max is 131072):
 * register, trigger all, collect in batches of 256, delete, each exactly
 * once and in bounded time (registration is O(1) through the knote hash).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { kstat } from 'ukern/sys';

const { EV_SET, kevent, EVFILT_USER, EV_ADD, EV_CLEAR, EV_DELETE, NOTE_TRIGGER } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

test('100 000 EVFILT_USER knotes: register, trigger, collect, delete', () => {
  const n = 100_000, B = 1000;
  const kq = sys.kqueue();
  const base = kstat('kqueue')['kqueue.knotes_in_use']!;
  const batch = (lo: number, flags: number, fflags: number) =>
    Array.from({ length: B }, (_, i) => EV_SET(lo + i, EVFILT_USER, flags, fflags, 0, lo + i));
  const t0 = process.hrtime.bigint();
  for (let lo = 0; lo < n; lo += B) assert.deepEqual(kevent(kq, batch(lo, EV_ADD | EV_CLEAR, 0), 0, ZERO), []);
  const regNs = Number(process.hrtime.bigint() - t0) / n;
  assert.equal(kstat('kqueue')['kqueue.knotes_in_use']! - base, n);
  for (let lo = 0; lo < n; lo += B) kevent(kq, batch(lo, 0, NOTE_TRIGGER), 0, ZERO);
  const seen = new Uint8Array(n);
  let got = 0;
  for (;;) {
    const r = kevent(kq, null, 256, ZERO);
    if (r.length === 0) break;
    assert.ok(r.length <= 256);
    for (const e of r) { assert.equal(seen[e.ident], 0); assert.equal(e.udata, e.ident); seen[e.ident] = 1; got++; }
  }
  assert.equal(got, n);
  for (let lo = 0; lo < n; lo += B) assert.deepEqual(kevent(kq, batch(lo, EV_DELETE, 0), 0, ZERO), []);
  assert.equal(kstat('kqueue')['kqueue.knotes_in_use'], base);
  console.log(`  registration ${regNs.toFixed(0)} ns/knote, ${kstat('kqueue')['kqueue.bytes_per_knote']!.toFixed(0)} bytes/knote`);
  assert.ok(regNs < 50_000, 'registration stays O(1) per knote');
  sys.close(kq);
});
