/**
 * kern/kmem.ts with LOCKDEBUG (as the test suite runs): a double free is a
 * kernel panic naming the cache and the object, not a corrupted free list. Before the allocation bitmap, a second
 * free of an object linked it after itself (or onto the list twice): the
 * next allocations handed the same object to two users, and a list that
 * looped could spin an alloc for ever under the cache lock. Also: freeing
 * an object never handed out, or a handle that is no object of the cache,
 * panics; and objects freed once each are all handed out again, once each.
 * This file boots no kernel (as test/kern-kmem): it maps memory with
 * create_memory, afresh for each test, since a panic marks the memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create_memory, define_struct, kcache_create, I32 } from '../src/kern/kmem.js';
import { H_PANIC } from '../src/kern/hdr.js';
import { lockdebug_init } from '../src/kern/lockdebug.js';
import type { Tunables } from '../src/kern/options.js';

const OBJ = define_struct('fk-obj', { a: 'i32', b: 'i32', x: 'f64' });
const COUNT = 40;
const objs = kcache_create('fk-obj', OBJ, () => COUNT);

// The check is LOCKDEBUG's (boot turns it on from the tunables; this file boots no kernel).
lockdebug_init(true);
function fresh(): void { create_memory({ memsize: 1 << 20 } as Tunables); }
const isPanic = (what: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof Error);
  assert.equal((e as { code?: string }).code, 'EIO');
  assert.match(e.message, what);
  return true;
};

test('a second free of an object panics, naming the cache and the object; the free list stays sound', () => {
  fresh();
  const a = objs.alloc(), b = objs.alloc();
  objs.free(a);
  // Immediately again (the self-linking case), and after another free (the object twice on the list).
  assert.throws(() => objs.free(a), isPanic(new RegExp(`double free of object ${a} \\(number 0\\) of cache fk-obj`)));
  assert.notEqual(Atomics.load(I32, H_PANIC), 0, 'the kernel is marked panicked');
  objs.free(b);
  assert.throws(() => objs.free(a), isPanic(/double free/));
  assert.throws(() => objs.free(b), isPanic(/double free/));
  assert.equal(objs.inuse, 0, 'a refused free counts nothing');
  // Every object comes out once: no loop, no object handed out twice.
  const all = Array.from({ length: COUNT }, () => objs.alloc());
  assert.equal(new Set(all).size, COUNT);
  assert.ok(all.every((h) => h !== 0));
  assert.equal(objs.alloc(), 0, 'exhausted');
  for (const h of all) objs.free(h);
  assert.equal(objs.inuse, 0);
});

test('freeing an object never handed out, or a handle that is not one of the cache\'s objects, panics', () => {
  fresh();
  assert.throws(() => objs.free(objs.handle(5)), isPanic(/double free of object \d+ \(number 5\) of cache fk-obj/));
  assert.throws(() => objs.free(objs.handle(0) + 1), isPanic(/is not an object of cache fk-obj/));
  assert.throws(() => objs.free(objs.handle(COUNT)), isPanic(/is not an object of cache fk-obj/));
  assert.throws(() => objs.free(0), isPanic(/is not an object of cache fk-obj/));
  assert.equal(objs.inuse, 0);
  const h = objs.alloc();
  assert.equal(objs.index(h), 0, 'nothing was put on the free list');
  objs.free(h);
});

test('alloc and free in any order: each object freed once goes back, the bitmap follows (objects 31, 32, last)', () => {
  fresh();
  const hs = Array.from({ length: COUNT }, () => objs.alloc());
  // Free in a scrambled order, reallocate, free again: never a panic.
  const order = hs.map((h, i) => [h, (i * 17) % COUNT] as const).sort((x, y) => x[1] - y[1]).map((x) => x[0]);
  for (const h of order) objs.free(h);
  const again = Array.from({ length: COUNT }, () => objs.alloc());
  assert.deepEqual([...again].sort((x, y) => x - y), [...hs].sort((x, y) => x - y));
  for (const i of [31, 32, COUNT - 1]) {
    objs.free(objs.handle(i));
    assert.throws(() => objs.free(objs.handle(i)), isPanic(new RegExp(`\\(number ${i}\\)`)));
    assert.equal(objs.alloc(), objs.handle(i));
  }
  for (const h of again) objs.free(h);
  assert.equal(objs.inuse, 0);
});

test('without LOCKDEBUG nothing is checked (the bitmap is not touched)', () => {
  lockdebug_init(false);
  try {
    fresh();
    const h = objs.alloc();
    assert.equal(I32[objs.bits], 0, 'alloc sets no bit');
    objs.free(h);
    assert.equal(Atomics.load(I32, H_PANIC), 0);
  } finally {
    lockdebug_init(true);
  }
});
