/**
 * kern/queue.ts, the kernel's one tail queue (and its hash chains, SList): random sequences of every
 * operation on several lists at once, checked after each step against a
 * model (arrays), in both directions (next and prev links), with the links
 * of elements on no list cleared. This file maps its own scratch memory:
 * it boots no kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { map_memory, I32 } from '../src/kern/kmem.js';
import { TailQ, SList } from '../src/kern/queue.js';

const NLIST = 3, NEL = 12;
// Heads: list i at words 8 + 4i (first at +1, last at +3: not adjacent, as in real structs).
const headOf = (i: number): number => 8 + 4 * i;
// Elements: 8 words each from word 64; next at +5, prev at +2.
const elOf = (j: number): number => 64 + 8 * j;
const Q = new TailQ(1, 3, 5, 2);

type Op =
  | { k: 'tail' | 'head'; l: number; e: number }
  | { k: 'after'; l: number; at: number; e: number }
  | { k: 'remove'; e: number }
  | { k: 'remove_head'; l: number }
  | { k: 'concat'; to: number; from: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constantFrom('tail' as const, 'head' as const), l: fc.nat(NLIST - 1), e: fc.nat(NEL - 1) }),
  fc.record({ k: fc.constant('after' as const), l: fc.nat(NLIST - 1), at: fc.nat(NEL - 1), e: fc.nat(NEL - 1) }),
  fc.record({ k: fc.constant('remove' as const), e: fc.nat(NEL - 1) }),
  fc.record({ k: fc.constant('remove_head' as const), l: fc.nat(NLIST - 1) }),
  fc.record({ k: fc.constant('concat' as const), to: fc.nat(NLIST - 1), from: fc.nat(NLIST - 1) }),
);

function check(model: number[][]): void {
  const on = new Set<number>();
  model.forEach((want, i) => {
    const h = headOf(i);
    const fwd: number[] = [];
    for (let e = Q.head(h); e !== 0; e = Q.after(e)) { fwd.push(e); assert.ok(fwd.length <= NEL, 'cycle'); }
    const back: number[] = [];
    for (let e = Q.tail(h); e !== 0; e = Q.before(e)) { back.push(e); assert.ok(back.length <= NEL, 'cycle'); }
    assert.deepEqual(fwd, want.map(elOf), `list ${i} forward`);
    assert.deepEqual(back.reverse(), want.map(elOf), `list ${i} backward`);
    assert.equal(Q.empty(h), want.length === 0);
    for (const j of want) on.add(j);
  });
  for (let j = 0; j < NEL; j++) {
    if (on.has(j)) continue;
    assert.equal(I32[elOf(j) + 5], 0, `el ${j} next cleared`);
    assert.equal(I32[elOf(j) + 2], 0, `el ${j} prev cleared`);
  }
}

test('TailQ: random operations on three lists match the model, both directions', () => {
  fc.assert(fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
    map_memory(new SharedArrayBuffer(4 * 256));
    const model: number[][] = Array.from({ length: NLIST }, () => []);
    const where = (j: number): number => model.findIndex((l) => l.includes(j));
    for (const op of ops) {
      switch (op.k) {
        case 'tail': case 'head':
          if (where(op.e) >= 0) continue; // an element is on one list at a time
          if (op.k === 'tail') { Q.insert_tail(headOf(op.l), elOf(op.e)); model[op.l]!.push(op.e); }
          else { Q.insert_head(headOf(op.l), elOf(op.e)); model[op.l]!.unshift(op.e); }
          break;
        case 'after': {
          if (where(op.e) >= 0 || where(op.at) !== op.l) continue;
          Q.insert_after(headOf(op.l), elOf(op.at), elOf(op.e));
          const m = model[op.l]!;
          m.splice(m.indexOf(op.at) + 1, 0, op.e);
          break;
        }
        case 'remove': {
          const l = where(op.e);
          if (l < 0) continue;
          Q.remove(headOf(l), elOf(op.e));
          model[l]!.splice(model[l]!.indexOf(op.e), 1);
          break;
        }
        case 'remove_head': {
          const got = Q.remove_head(headOf(op.l));
          const want = model[op.l]!.shift();
          assert.equal(got, want === undefined ? 0 : elOf(want));
          break;
        }
        case 'concat':
          if (op.to === op.from) continue;
          Q.concat(headOf(op.to), headOf(op.from));
          model[op.to]!.push(...model[op.from]!.splice(0));
          break;
      }
      check(model);
    }
  }), { numRuns: 300 });
});

// SList, the hash chains: heads are single words (8 + i), links at +6.
const C = new SList(6);
type COp = { k: 'push'; l: number; e: number } | { k: 'remove'; l: number; e: number };
const cOpArb: fc.Arbitrary<COp> = fc.record({ k: fc.constantFrom('push' as const, 'remove' as const), l: fc.nat(NLIST - 1), e: fc.nat(NEL - 1) });

test('SList: random pushes and removes on three chains match the model; removing what is not on a chain changes nothing', () => {
  fc.assert(fc.property(fc.array(cOpArb, { maxLength: 120 }), (ops) => {
    map_memory(new SharedArrayBuffer(4 * 256));
    const model: number[][] = Array.from({ length: NLIST }, () => []);
    const where = (j: number): number => model.findIndex((l) => l.includes(j));
    for (const op of ops) {
      const b = 8 + op.l;
      if (op.k === 'push') {
        if (where(op.e) >= 0) continue;
        C.insert_head(b, elOf(op.e));
        model[op.l]!.unshift(op.e);
      } else {
        const on = model[op.l]!.indexOf(op.e);
        assert.equal(C.remove(b, elOf(op.e)), on >= 0);
        if (on >= 0) model[op.l]!.splice(on, 1);
      }
      model.forEach((want, i) => {
        const got: number[] = [];
        for (let e = C.first(8 + i); e !== 0 && got.length <= NEL; e = C.after(e)) got.push(e);
        assert.deepEqual(got, want.map(elOf));
      });
    }
  }), { numRuns: 300 });
});
