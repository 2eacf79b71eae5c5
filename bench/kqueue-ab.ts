/**
 * A/B of kqueue.bench's 10 000-knote figure between two builds, in one
 * process (not run by bench/run.ts): each root's build/src/sys boots its own
 * kernel, and the rounds of the two alternate, so the machine's phases (on
 * a shared 2-vCPU host the same code runs 1.7x slower while a neighbour
 * hammers the caches) hit both alike. Reports, per build, the trigger and
 * collect halves in ns per event (p10 and p50 of the rounds) and the p50
 * rate.
 *
 *   node build/bench/kqueue-ab.js /work/wt/base /work/wt/new   (ROUNDS=400)
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type * as Sys from '../src/sys/index.js';

interface Setup { name: string; round: () => [number, number]; r: [number, number][] }

const N = 10_000;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

async function setup(root: string): Promise<Setup> {
  const url = pathToFileURL(resolve(root, 'build/src/sys/index.js')).href;
  const sys = (await import(url)) as typeof Sys;
  const { EV_SET, kevent, EVFILT_USER, EV_ADD, EV_CLEAR, NOTE_TRIGGER } = sys;
  const kq = sys.kqueue();
  kevent(kq, Array.from({ length: N }, (_, i) => EV_SET(i, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, i)), 0, ZERO);
  const trig = Array.from({ length: N }, (_, i) => EV_SET(i, EVFILT_USER, 0, NOTE_TRIGGER, 0, 0));
  const round = (): [number, number] => {
    const t0 = process.hrtime.bigint();
    kevent(kq, trig, 0, ZERO);
    const t1 = process.hrtime.bigint();
    let got = 0;
    for (;;) {
      const x = kevent(kq, null, 256, ZERO);
      if (x.length === 0) break;
      got += x.length;
    }
    const t2 = process.hrtime.bigint();
    if (got !== N) throw new Error(`${root}: collected ${got} of ${N}`);
    return [Number(t1 - t0) / N, Number(t2 - t1) / N];
  };
  return { name: root, round, r: [] };
}

function q(a: number[], p: number): number {
  const b = [...a].sort((x, y) => x - y);
  return b[Math.min(b.length - 1, Math.floor(b.length * p))]!;
}

const roots = process.argv.slice(2);
if (roots.length === 0) throw new Error('usage: node build/bench/kqueue-ab.js ROOT [ROOT...]');
const setups: Setup[] = [];
for (const root of roots) setups.push(await setup(root));
const ROUNDS = Number(process.env.ROUNDS ?? 400);
const WARM = 40;
for (let k = 0; k < ROUNDS; k++) {
  for (const s of setups) {
    const x = s.round();
    if (k >= WARM) s.r.push(x);
  }
}
for (const s of setups) {
  const tr = s.r.map((x) => x[0]), co = s.r.map((x) => x[1]), to = s.r.map((x) => x[0] + x[1]);
  console.log(`${s.name}: trigger p10 ${q(tr, 0.1).toFixed(1)} p50 ${q(tr, 0.5).toFixed(1)} | collect p10 ${q(co, 0.1).toFixed(1)} p50 ${q(co, 0.5).toFixed(1)} ns/event | ${(1e3 / q(to, 0.5)).toFixed(2)}M events/s p50`);
}
process.exit(0);
