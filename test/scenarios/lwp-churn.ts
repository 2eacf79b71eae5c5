// lwp_byid churn: an unparker hammers lwp_unpark at LWPs that are exiting
// while their table slot (maxlwp 3: one left) is reused by the next LWP, each of which
// parks once with a short timeout. Nobody ever unparks a new LWP before its
// park, so every park must time out: an EALREADY is an unpark meant for the
// slot's previous LWP landing on its successor. Seeded (argv[2], else the
// clock) pauses before each release vary where the reuse falls. Prints JSON.
import * as sys from 'ukern/sys';
import { rng } from '../helpers.js';

const seedArg = Number(process.argv[2]);
const seed = Number.isInteger(seedArg) && seedArg > 0 ? seedArg : (Date.now() % 0x7fffffff) + 1;
const iters = Number(process.argv[3]) || 400;
const random = rng(seed);
sys.boot({ maxlwp: 3 }); // LWP 1, the unparker, and one slot every victim reuses
const fx = new URL('../fixtures/lwp-churn.js', import.meta.url);
const HINT = 77;
const sab = new SharedArrayBuffer(32);
const a = new Int32Array(sab);
const hammer = sys.lwp_create({ module: fx, export: 'unparkHammer', arg: { sab, hint: HINT } });
const outcomes: Record<string, number> = {};
const spurious: number[] = [];
for (let i = 0; i < iters; i++) {
  Atomics.store(a, 3, 0);
  Atomics.store(a, 4, 0);
  const lid = sys.lwp_create({ module: fx, export: 'parkThenHold', arg: { sab, hint: HINT } });
  const end = Date.now() + 20_000;
  while (Atomics.load(a, 3) === 0) {
    if (Date.now() > end) { console.log(JSON.stringify({ seed, error: `lid ${lid} never parked` })); process.exit(1); }
    Atomics.wait(a, 3, 0, 100);
  }
  const r = Atomics.load(a, 3);
  outcomes[r] = (outcomes[r] ?? 0) + 1;
  if (r === 3) spurious.push(lid);
  // From now on the unparker aims at this LWP, which is past its park; it
  // exits and its slot is reused while unparks for it are still in flight.
  Atomics.store(a, 1, lid);
  const spin = Math.floor(random() * 2000);
  for (let k = 0; k < spin; k++) Atomics.load(a, 2);
  Atomics.store(a, 4, 1);
  Atomics.notify(a, 4);
  sys.lwp_wait(lid);
}
Atomics.store(a, 0, 1);
sys.lwp_wait(hammer);
console.log(JSON.stringify({ seed, iters, outcomes, spurious, unparks: Atomics.load(a, 2), check: sys.lwp_check() }));
