/**
 * kern/heap.ts, the kernel's one heap (the callout heaps; 4-ary): random
 * inserts, removals from anywhere and re-keys, checked after each step
 * against a model — the first element has the smallest key, every element
 * knows its index, removed ones read -1 — and drained in key order at the
 * end, elements of an equal key in the order they were inserted or last
 * re-keyed (FIFO). This file maps its own scratch memory: it boots no kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { map_memory, I32, f64_get, f64_set } from '../src/kern/kmem.js';
import { KHeap } from '../src/kern/heap.js';

const NEL = 24;
const B = 16;                                    // the heap region (on a 64-byte line): count at B, sequence at B + 1, slots after B + 2
const elOf = (j: number): number => 256 + 8 * j; // elements: key (f64) at +0, index at +2
const H = new KHeap(0, 1, 2, 2, 0);
assert.ok(B + H.region_words(NEL) <= elOf(0), 'the heap region ends before the elements');

type Op = { k: 'insert' | 'remove' | 'rekey'; e: number; key: number };
const opArb: fc.Arbitrary<Op> = fc.record({
  k: fc.constantFrom('insert' as const, 'remove' as const, 'rekey' as const),
  e: fc.nat(NEL - 1),
  key: fc.integer({ min: -50, max: 50 }),     // small range: equal keys are common
});

test('KHeap: random inserts, removals and re-keys keep the heap order and the indices', () => {
  fc.assert(fc.property(fc.array(opArb, { maxLength: 150 }), (ops) => {
    map_memory(new SharedArrayBuffer(4 * 512));
    const inHeap = new Set<number>();
    // The model's order of equal keys: a stamp per insert and re-key.
    const stamp = new Map<number, number>();
    let stamps = 0;
    for (let j = 0; j < NEL; j++) I32[elOf(j) + 2] = -1;
    for (const op of ops) {
      const e = elOf(op.e);
      if (op.k === 'insert') {
        if (inHeap.has(op.e)) continue;
        f64_set(e, 0, op.key); H.insert(B, e); inHeap.add(op.e); stamp.set(e, stamps++);
      } else if (op.k === 'remove') {
        if (!inHeap.has(op.e)) continue;
        H.remove(B, e); inHeap.delete(op.e);
        assert.equal(I32[e + 2], -1, 'a removed element reads index -1');
      } else {
        if (!inHeap.has(op.e)) continue;
        f64_set(e, 0, op.key); H.rekey(B, e); stamp.set(e, stamps++);
      }
      assert.equal(H.size(B), inHeap.size);
      for (let i = 0; i < H.size(B); i++) {
        const x = H.at(B, i);
        assert.equal(I32[x + 2], i, 'each element knows its index');
        assert.equal(H.key_at(B, i), f64_get(x, 0), 'the slot holds its element\'s key');
        if (i > 0) {
          const p = H.parent(i);
          assert.ok(p >= 0 && p < i && 4 * p + 1 <= i && i <= 4 * p + 4, 'the parent of i is (i - 1) / 4');
          const pk = f64_get(H.at(B, p), 0), xk = f64_get(x, 0);
          assert.ok(pk < xk || (pk === xk && stamp.get(H.at(B, p))! < stamp.get(x)!), 'parent before child (key, then order)');
        }
      }
      const min = Math.min(...[...inHeap].map((j) => f64_get(elOf(j), 0)));
      assert.equal(H.first_key(B), inHeap.size === 0 ? Infinity : min);
    }
    const want = [...inHeap].map(elOf).sort((a, b) => f64_get(a, 0) - f64_get(b, 0) || stamp.get(a)! - stamp.get(b)!);
    const got: number[] = [];
    for (let e = H.first(B); e !== 0; e = H.first(B)) { got.push(e); H.remove(B, e); }
    assert.deepEqual(got, want, 'drains in key order, equal keys first in first out');
  }), { numRuns: 300 });
});

test('KHeap: 64 elements of one key leave in the order inserted, also when their numbers wrap past 2^31', () => {
  for (const start of [0, 0x7fffffe0, -5]) {
    map_memory(new SharedArrayBuffer(4 * 2048));
    I32[B + 1] = start;
    const el = (j: number): number => 512 + 4 * j;
    for (let j = 0; j < 64; j++) { I32[el(j) + 2] = -1; f64_set(el(j), 0, 7); H.insert(B, el(j)); }
    const got: number[] = [];
    for (let e = H.first(B); e !== 0; e = H.first(B)) { got.push((e - 512) / 4); H.remove(B, e); }
    assert.deepEqual(got, Array.from({ length: 64 }, (_, j) => j), `numbers from ${start}`);
  }
});
