/**
 * A seeded stress of EVFILT_PROC across LWPs (UKERN_SEED replays it): three
 * LWPs churn knotes of their own `sleep` children on one kqueue while the
 * main thread kills a set of victims at random moments; then each LWP
 * leaves its pids half registered, half deleted, and every survivor is
 * killed. Checked: every event reported carries its process's real status
 * (SIGKILL: 9) and names a process that exited (nothing stale); each
 * survivor registered at the end reports exactly once and each deleted one
 * never; no pidfd or intr source is left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as sys from 'ukern/sys';
import { seed, rng, within, until } from './helpers.js';
import { exited, open_fds, proc_kernel_ready } from './fixtures/proc.js';

const { kevent, kqueue, close } = sys;
const LWPS = 3, PER = 8;

test('seeded churn of proc knotes across LWPs while children die: no event lost, doubled or stale', async () => {
  const s = seed();
  console.log(`seed ${s}`);
  const r = rng(s);
  const kids: ChildProcess[] = Array.from({ length: LWPS * PER }, () => spawn('sleep', ['60'], { stdio: 'ignore' }));
  await Promise.all(kids.map((c) => new Promise((res) => c.once('spawn', res))));
  await proc_kernel_ready();
  const fds0 = open_fds(), src0 = sys.kstat('intr')['intr.sources']!;
  const kq = kqueue();
  const log = new SharedArrayBuffer(4 * (1 + 2 * 4096));
  const pidsOf = (l: number) => kids.slice(l * PER, (l + 1) * PER).map((c) => c.pid!);
  // Victims: the last two pids of each LWP, killed during the churn.
  const victims = new Set(Array.from({ length: LWPS }, (_, l) => pidsOf(l).slice(PER - 2)).flat());
  const lids = Array.from({ length: LWPS }, (_, l) => sys.lwp_create({
    module: new URL('./fixtures/proc-stress.js', import.meta.url), export: 'churn',
    arg: { kq, pids: pidsOf(l), seed: (s + l * 7919) >>> 0 || 1, ms: 2000, log },
  }));
  const added = () => sys.kstat('kqueue')['kqueue.knotes_added']!;
  const k0 = added();
  await until(() => added() > k0 + 100, 20_000, 'the LWPs to churn');
  for (const v of victims) {
    await new Promise((res) => setTimeout(res, Math.floor(r() * 150)));
    process.kill(v, 'SIGKILL');
  }
  await within(Promise.all(lids.map((l) => sys.lwp_wait_async(l))), 30_000, 'the churning LWPs');
  const final = new Set(Array.from({ length: LWPS }, (_, l) => pidsOf(l).filter((p, i) => i % 2 === 0 && !victims.has(p))).flat());
  for (const c of kids) if (!victims.has(c.pid!)) c.kill('SIGKILL');
  await Promise.all(kids.map((c) => exited(c)));
  // Harvest what is left: the survivors registered at the end, and victims' events nobody took yet.
  const L = new Int32Array(log);
  const { log_events } = await import('./fixtures/proc-stress.js');
  const end = Date.now() + 10_000;
  const seen = () => { const m = new Map<number, number>(); for (let i = 0; i < L[0]!; i++) m.set(L[1 + 2 * i]!, (m.get(L[1 + 2 * i]!) ?? 0) + 1); return m; };
  while ([...final].some((p) => !seen().has(p)) && Date.now() < end) log_events(L, kevent(kq, null, 64, { tv_sec: 0, tv_nsec: 50e6 }));
  log_events(L, kevent(kq, null, 64, { tv_sec: 0, tv_nsec: 100e6 }));
  for (let i = 0; i < L[0]!; i++) assert.equal(L[2 + 2 * i], 9, `event ${i} for pid ${L[1 + 2 * i]} carries status ${L[2 + 2 * i]}`);
  const m = seen();
  console.log(`${L[0]} events: ${[...victims].filter((v) => m.has(v)).length} of ${victims.size} victims reported, ${final.size} survivors registered; ` +
    `${sys.kstat('kqueue')['kqueue.knotes_added']} knotes added in all, ${sys.kstat('kqueue')['kqueue.proc_exit_stale']} stale statuses refused`);
  for (const [pid, n] of m) {
    assert.ok(final.has(pid) || victims.has(pid), `pid ${pid} reported though deleted before its exit`);
    if (final.has(pid)) assert.equal(n, 1, `pid ${pid} reported ${n} times`);
  }
  for (const p of final) assert.equal(m.get(p), 1, `pid ${p} registered at its exit but not reported`);
  close(kq);
  assert.equal(open_fds(), fds0, 'every pidfd closed');
  assert.equal(sys.kstat('intr')['intr.sources'], src0);
});
