/**
 * signals/sigset.ts's walk over a two-word set, sig_first / sig_next, by
 * random sets against their sorted members. An internal unit test of its
 * own file: signals.test.ts runs on the package (docs/internals.md, "The test
 * run"), whose entries do not export these. It boots no kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sig_first, sig_next } from '../src/signals/sigset.js';
import { seed, rng } from './helpers.js';

test('sig_first / sig_next walk every member of a two-word set in order (random sets, the word edges 32/33/64 included)', () => {
  const r = rng(seed());
  for (let t = 0; t < 5000; t++) {
    const members = new Set<number>(t === 0 ? [1, 32, 33, 64] : []);
    for (let k = 0; k < 1 + Math.floor(r() * 8); k++) members.add(1 + Math.floor(r() * 64));
    let w0 = 0, w1 = 0;
    for (const s of members) { if (s <= 32) w0 |= 1 << (s - 1); else w1 |= 1 << (s - 33); }
    const walked: number[] = [];
    for (let s = sig_first(w0, w1); s !== 0; s = sig_next(w0, w1, s)) walked.push(s);
    assert.deepEqual(walked, [...members].sort((a, b) => a - b));
  }
});
