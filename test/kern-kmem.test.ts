/**
 * kern/kmem.ts on its own: object caches (KCache) and the layout that every
 * thread must agree on. This file boots no kernel: it registers test caches
 * (fixtures/kern-kmem-*.ts) and maps memory with create_memory as boot does;
 * its worker threads attach to it as attach does (apply_layout, map_memory).
 * Checked: alloc/free from several threads at once (no handle handed out
 * twice, objects zeroed when handed out and untouched while held, in-use,
 * high-water and failure counts consistent with what the threads saw),
 * exhaustion (0 and a counted failure), freed objects reused before fresh
 * ones, layout (disjoint, even handles) and apply_layout refusing a thread
 * that registered a cache the booting thread did not or with another size
 * (while one that loaded fewer modules attaches), and define_struct (f64
 * fields at even offsets, disjoint from the i32 ones, even sizes). The seed
 * is printed on failure (UKERN_SEED replays it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { create_memory, define_struct, all_caches, f64_get, f64_set, I32, HDR_WORDS, type LayoutTable, type FieldKind } from '../src/kern/kmem.js';
import type { Tunables } from '../src/kern/options.js';
import { OBJ, OBJ_COUNT, objs } from './fixtures/kern-kmem-a.js';
import { TINY_COUNT, tiny, region } from './fixtures/kern-kmem-b.js';
import { seed, rng, within } from './helpers.js';

const { sab, table } = create_memory({ memsize: 64 << 20 } as Tunables);
const workerUrl = new URL('./fixtures/kern-kmem-worker.js', import.meta.url);

type Reply = { ok: boolean; error?: string; caches?: [string, number, number][]; stats?: Record<string, number> };
function runWorker(data: Record<string, unknown>): Promise<Reply> {
  return within(new Promise<Reply>((resolve, reject) => {
    const w = new Worker(workerUrl, { workerData: { sab, table, ...data } });
    let reply: Reply | undefined;
    w.once('message', (m: Reply) => { reply = m; });
    w.once('error', reject);
    w.once('exit', (code) => (reply !== undefined ? resolve(reply) : reject(new Error(`worker exited ${code} without a reply`))));
  }), 30000, 'a kmem worker');
}

test('layout: caches and regions disjoint, past the header, handles and region bases even', () => {
  const spans: [number, number, string][] = [];
  for (const [name, [base, count, words]] of Object.entries(table.caches)) spans.push([base, base + 8 + count * words, name]);
  for (const [name, [base, words]] of Object.entries(table.regions)) { spans.push([base, base + words, name]); assert.equal(base % 2, 0, `${name} base even`); }
  spans.sort((a, b) => a[0] - b[0]);
  assert.ok(spans[0]![0] >= HDR_WORDS);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i]![0] >= spans[i - 1]![1], `${spans[i - 1]![2]} and ${spans[i]![2]} overlap`);
  assert.ok(spans[spans.length - 1]![1] * 4 <= sab.byteLength);
  for (const c of [objs, tiny]) for (let i = 0; i < c.count; i++) {
    assert.equal(c.handle(i) % 2, 0, `${c.name} handle ${i} even`);
    assert.equal(c.index(c.handle(i)), i);
  }
  assert.equal(objs.index(objs.handle(0) + 1), -1, 'inside an object: not a handle');
  assert.equal(objs.index(objs.handle(OBJ_COUNT)), -1, 'past the last object');
  assert.equal(objs.index(0), -1);
  assert.ok(region.words === 7 && region.base > 0);
});

test('one thread: exhaustion returns 0 and counts a failure; freed objects come back first, zeroed; in-use and high water follow', () => {
  const f0 = tiny.fails;
  const hs = Array.from({ length: TINY_COUNT }, () => tiny.alloc());
  assert.equal(new Set(hs).size, TINY_COUNT, 'distinct handles');
  assert.ok(hs.every((h) => h !== 0 && tiny.index(h) >= 0));
  assert.equal(tiny.inuse, TINY_COUNT);
  assert.equal(tiny.hiwat, TINY_COUNT);
  assert.equal(tiny.alloc(), 0, 'exhausted');
  assert.equal(tiny.alloc(), 0);
  assert.equal(tiny.fails, f0 + 2, 'each failed alloc counted');
  assert.equal(tiny.inuse, TINY_COUNT, 'a failure takes nothing');
  for (const h of hs) tiny.free(h);
  assert.equal(tiny.inuse, 0);
  assert.equal(tiny.hiwat, TINY_COUNT, 'high water stays');

  // Freed objects before fresh ones, last freed first; handed out zeroed.
  const a = objs.alloc(), b = objs.alloc(), c = objs.alloc();
  assert.deepEqual([objs.index(a), objs.index(b), objs.index(c)], [0, 1, 2], 'fresh objects in index order');
  I32.fill(-1, a, a + objs.words);
  I32.fill(-1, b, b + objs.words);
  objs.free(a); objs.free(b);
  assert.equal(objs.alloc(), b, 'the last freed object first');
  assert.equal(objs.alloc(), a, 'then the one before, not a fresh one');
  for (const h of [a, b]) assert.ok(I32.subarray(h, h + objs.words).every((v) => v === 0), 'a reused object is zeroed');
  const d = objs.alloc();
  assert.equal(objs.index(d), 3, 'fresh again once the freed ones are used');
  assert.equal(objs.inuse, 4);
  for (const h of [a, b, c, d]) objs.free(h);
  assert.equal(objs.inuse, 0);
});

test('f64 and i32 fields of a cached object do not overlap (f64 index of an even handle)', () => {
  const h = objs.alloc();
  const F = OBJ.F;
  I32[h + F.a] = 11; I32[h + F.b] = 22; I32[h + F.c] = 33;
  f64_set(h, F.x, Math.PI); f64_set(h, F.y, -1e300);
  assert.deepEqual([I32[h + F.a], I32[h + F.b], I32[h + F.c]], [11, 22, 33]);
  assert.deepEqual([f64_get(h, F.x), f64_get(h, F.y)], [Math.PI, -1e300]);
  objs.free(h);
});

test('several threads at once: no handle handed out twice, objects zeroed and untouched while held, counts consistent', async (t) => {
  const s = seed(), r = rng(s);
  const N = 4, ITERS = 40000;
  const own = new SharedArrayBuffer(4 * OBJ_COUNT), go = new SharedArrayBuffer(4);
  const fails0 = objs.fails;
  const replies = await Promise.all(Array.from({ length: N }, (_, i) => runWorker({
    job: 'churn', mods: ['./kern-kmem-a.js', './kern-kmem-b.js'], id: i + 1, iters: ITERS, seed: Math.floor(r() * 0x7fffffff) + 1, own, go, n: N,
  })));
  const sum: Record<string, number> = {};
  for (const rep of replies) {
    assert.ok(rep.ok, rep.error);
    for (const [k, v] of Object.entries(rep.stats!)) sum[k] = (sum[k] ?? 0) + v;
  }
  t.diagnostic(`seed ${s}: ${JSON.stringify(sum)}, high water ${objs.hiwat}`);
  const at = `(seed ${s}: ${JSON.stringify(sum)})`;
  assert.equal(sum.dup, 0, `an object handed to two threads at once ${at}`);
  assert.equal(sum.dirty, 0, `an object handed out not zeroed ${at}`);
  assert.equal(sum.corrupt, 0, `a held object changed under its owner ${at}`);
  assert.equal(sum.foreign, 0, `a handle not of the cache ${at}`);
  assert.equal(sum.allocs, sum.frees, at);
  assert.equal(objs.fails - fails0, sum.fails, `the cache counted the failures the threads saw ${at}`);
  assert.ok(sum.fails! > 0, `the threads exhausted the cache (else exhaustion under contention was not tested) ${at}`);
  assert.equal(objs.hiwat, OBJ_COUNT, 'a failure means every object was in use: high water is the capacity');
  assert.equal(objs.inuse, 0, 'every object back');
  assert.ok(new Int32Array(own).every((v) => v === 0));
  // Every object is on the free list exactly once: allocating them all gives each handle once.
  const all = Array.from({ length: OBJ_COUNT }, () => objs.alloc());
  assert.equal(new Set(all).size, OBJ_COUNT);
  assert.ok(all.every((h) => h !== 0));
  assert.equal(objs.alloc(), 0);
  for (const h of all) objs.free(h);
});

test('apply_layout: a thread that registered a cache the booting thread did not, or with another size, cannot attach; one that loaded fewer modules can', async () => {
  const extra = await runWorker({ job: 'layout', mods: ['./kern-kmem-a.js', './kern-kmem-b.js', './kern-kmem-extra.js'] });
  assert.equal(extra.ok, false);
  assert.match(extra.error!, /loaded kernel modules the booting thread did not \(kt-extra\)/);
  const bad = await runWorker({ job: 'layout', mods: ['./kern-kmem-bad.js', './kern-kmem-b.js'] });
  assert.equal(bad.ok, false);
  assert.match(bad.error!, /\(kt-obj\)/);
  const fewer = await runWorker({ job: 'layout', mods: ['./kern-kmem-b.js'] });
  assert.equal(fewer.ok, true, fewer.error);
  assert.deepEqual(fewer.caches, [['kt-tiny', tiny.base, tiny.count]], 'placed where the booting side laid it out');
  // A missing region is refused too (in this thread: the table without it).
  const { apply_layout } = await import('../src/kern/kmem.js');
  const noRegion: LayoutTable = { caches: table.caches, regions: Object.fromEntries(Object.entries(table.regions).filter(([n]) => n !== 'kt-region')) };
  assert.throws(() => apply_layout(noRegion), /\(kt-region\)/);
  apply_layout(table); // as it was
  assert.deepEqual(all_caches().map((c) => c.base), Object.values(table.caches).map((e) => e[0]));
});

test('define_struct: f64 fields at even offsets, disjoint from each other and the i32 fields; sizes even', () => {
  fc.assert(fc.property(fc.array(fc.constantFrom<FieldKind>('i32', 'f64'), { minLength: 1, maxLength: 40 }), (kinds) => {
    const spec = Object.fromEntries(kinds.map((k, i) => [`f${i}`, k])) as Record<string, FieldKind>;
    const st = define_struct('prop', spec);
    const used = new Set<number>();
    const n64 = kinds.filter((k) => k === 'f64').length;
    for (const [name, kind] of Object.entries(spec)) {
      const off = st.F[name]!;
      const words = kind === 'f64' ? [off, off + 1] : [off];
      if (kind === 'f64') assert.equal(off % 2, 0, `${name} (f64) at even offset`);
      for (const w of words) { assert.ok(w >= 0 && w < st.words, `${name} inside`); assert.ok(!used.has(w), `${name} overlaps`); used.add(w); }
    }
    assert.equal(st.words % 2, 0, 'even size');
    assert.equal(st.words, 2 * n64 + (kinds.length - n64) + ((kinds.length - n64) % 2), 'no waste beyond the padding to even');
    assert.equal(Object.keys(st.F).length, kinds.length);
  }));
});
