// Seeded arm/delete churn of kqueue timers from short-lived LWPs, run in a
// child process by test/callout-churn.test.ts so that a hang fails (exit 3,
// with a dump of who holds what) instead of hanging the suite. A hang is no
// progress for CHURN_STALL_MS (default 5 s): no timer retrieved, deleted or
// fired and no LWP finished. Not a total time: beside other work on two
// CPUs the fixed workload took more than the 10 s that bound once.
// Args: seed, 'hold' to keep the clock thread from starting (the bridges
// and polls then fire every expiry, the racy hand-over path).
// Invariants checked: every one-shot timer is either retrieved or deleted,
// exactly once; callouts and timer knotes back to baseline; no callout left
// pending or firing; every LWP gone.
import { isMainThread } from 'node:worker_threads';
import * as sys from '../../src/sys/index.js';
import { callout_count, callout_snapshot } from '../../src/timers/callout.js';
import { timer_knotes } from '../../src/kqueue/filters/timer.js';
import { rng } from '../helpers.js';

const { EV_SET, kevent, EV_ADD, EV_DELETE, EV_ONESHOT, EV_RECEIPT, EVFILT_TIMER, NOTE_USECONDS } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const self = new URL(import.meta.url);

/** One-shot idents are serials below PERIODIC; periodic idents are PERIODIC + LWP slot * 16 + k. */
const PERIODIC = 1_000_000;
/** Int32 words of the shared array before the per-serial states. */
const H = 4; // [0] errors, [1] one-shots retrieved, [2] one-shots deleted, [3] periodic events
const ADDED = 1, GOT = 2, DELETED = 3;

interface ChurnArg { kq: number; seed: number; n: number; base: number; slot: number; sab: SharedArrayBuffer }

/** Takes the events of a kevent result: a one-shot must be seen once, and only if not deleted. */
function take(s: Int32Array, evs: readonly sys.kevent_t[]): void {
  for (const e of evs) {
    if (e.ident >= PERIODIC) { Atomics.add(s, 3, 1); continue; }
    if (Atomics.compareExchange(s, H + e.ident, ADDED, GOT) !== ADDED) Atomics.add(s, 0, 1);
    else Atomics.add(s, 1, 1);
  }
}

/** An LWP: adds one-shot and periodic timers, polls, deletes, in a seeded random order; exits with timers armed. */
export function churn(a: ChurnArg): void {
  const s = new Int32Array(a.sab);
  const r = rng(a.seed);
  const mine: number[] = [];
  for (let i = 0; i < a.n; i++) {
    const x = r();
    if (x < 0.4) {
      const id = a.base + mine.length;
      mine.push(id);
      Atomics.store(s, H + id, ADDED); // before the add: another LWP may retrieve it at once
      kevent(a.kq, [EV_SET(id, EVFILT_TIMER, EV_ADD | EV_ONESHOT, NOTE_USECONDS, 20 + Math.floor(r() * 400), 0)], 0, ZERO);
    } else if (x < 0.5) {
      const id = PERIODIC + a.slot * 16 + Math.floor(r() * 16);
      kevent(a.kq, [EV_SET(id, EVFILT_TIMER, EV_ADD, NOTE_USECONDS, 30 + Math.floor(r() * 300), 0)], 0, ZERO);
    } else if (x < 0.55) {
      const id = PERIODIC + a.slot * 16 + Math.floor(r() * 16);
      kevent(a.kq, [EV_SET(id, EVFILT_TIMER, EV_DELETE | EV_RECEIPT, 0, 0, 0)], 1, ZERO);
    } else if (x < 0.75 && mine.length > 0) {
      const id = mine[Math.floor(r() * mine.length)]!;
      const res = kevent(a.kq, [EV_SET(id, EVFILT_TIMER, EV_DELETE | EV_RECEIPT, 0, 0, 0)], 1, ZERO);
      // Deleted (data 0): it must not have been retrieved, nor deleted before.
      if (res.length === 1 && res[0]!.data === 0) {
        if (Atomics.compareExchange(s, H + id, ADDED, DELETED) !== ADDED) Atomics.add(s, 0, 1);
        else Atomics.add(s, 2, 1);
      }
    } else {
      take(s, kevent(a.kq, null, 1 + Math.floor(r() * 4), ZERO));
    }
    if (r() < 0.02) { const t = performance.now() + r() * 0.3; while (performance.now() < t); }
  }
}

function dump(why: string): never {
  console.log(`FAIL: ${why}`);
  console.log(JSON.stringify(sys.lwp_snapshot().lwps.map((l) => [l.lid, l.state, l.wmesg])));
  const k = sys.kstat();
  console.log(JSON.stringify(Object.fromEntries(Object.entries(k).filter(([n]) => n.startsWith('clock') || n.startsWith('kqueue.timer')))));
  const d = callout_snapshot();
  console.log(`callouts armed ${d.armed}, heap lock word ${d.lockWord}`);
  for (const c of d.busy) console.log(JSON.stringify(c));
  process.exit(3);
}

if (isMainThread) {
  const sd = Number(process.argv[2] ?? 1);
  const r = rng(sd);
  const stallMs = Number(process.env.CHURN_STALL_MS ?? 5000);
  let finished = 0, seen = -1, since = Date.now();
  /** Whether anything moved since the last look (counters of the LWPs, LWPs finished); false after stallMs of nothing. */
  const moving = (): boolean => {
    const now = Date.now(), p = s[1]! + s[2]! + s[3]! + finished;
    if (p !== seen) { seen = p; since = now; }
    return now - since < stallMs;
  };
  const callouts0 = callout_count(), knotes0 = timer_knotes();
  const kq = sys.kqueue();
  const rounds = 3, perRound = 3, n = 250;
  const sab = new SharedArrayBuffer(4 * (H + rounds * perRound * n));
  const s = new Int32Array(sab);
  const watchdog = setInterval(() => { if (!moving()) dump(`no progress for ${stallMs} ms (a hang)`); }, 250);
  let next = 0, slot = 0;
  for (let round = 0; round < rounds; round++) {
    const lids = Array.from({ length: perRound }, () => {
      const a: ChurnArg = { kq, seed: Math.floor(r() * 0x7fffffff) + 1, n, base: next, slot: slot++, sab };
      next += n;
      return sys.lwp_create({ module: self, export: 'churn', arg: a });
    });
    for (const l of lids) { await sys.lwp_wait_async(l); finished++; }
  }
  // Every one-shot not deleted fires: retrieve them all. Blocking: with the
  // clock thread held, a thread asleep in the kernel fires what is due.
  const open = (): number => { let k = 0; for (let i = 0; i < next; i++) if (s[H + i] === ADDED) k++; return k; };
  while (open() > 0 && moving()) take(s, kevent(kq, null, 64, { tv_sec: 0, tv_nsec: 5e6 }));
  const left = open();
  sys.close(kq);
  clearInterval(watchdog);
  const bad: string[] = [];
  if (s[0] !== 0) bad.push(`${s[0]} one-shot events retrieved twice or after their delete`);
  if (left !== 0) bad.push(`${left} one-shot timers neither retrieved nor deleted`);
  if (callout_count() !== callouts0) bad.push(`callout count ${callout_count()}, was ${callouts0}`);
  if (timer_knotes() !== knotes0) bad.push(`timer knotes ${timer_knotes()}, was ${knotes0}`);
  const busy = callout_snapshot().busy;
  if (busy.length !== 0) bad.push(`${busy.length} callouts still pending or firing`);
  const lwps = sys.lwp_snapshot().lwps.filter((l) => l.lid !== 1);
  if (lwps.length !== 0) bad.push(`LWPs left: ${JSON.stringify(lwps.map((l) => [l.lid, l.state]))}`);
  if (bad.length !== 0) dump(bad.join('; '));
  console.log(`ok seed ${sd}: ${s[1]} one-shots retrieved, ${s[2]} deleted, ${s[3]} periodic events`);
  process.exit(0);
}
