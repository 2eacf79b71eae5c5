/**
 * Prints every peer figure (what Node offers today), measured now on this
 * machine. No ratios: these ARE the peers the other benches divide by. The
 * note on each line is the BASELINES.md value, to spot a machine that has
 * changed since (this VM moves ±20% run to run, p99 up to 2x).
 */
import { report, flush, reps, fmt } from './lib.js';
import {
  postMessagePingPong, atomicsPingPong, atomicsSpinPingPong, postMessageThroughput,
  newWorkerStartup, setIntervalLateness, atomicsWaitTimeoutLateness, type LatencyResult,
} from './peers.js';

/** Adds [min..max over repetitions] to a note, as BASELINES.md prints it. */
function span(xs: number[]): string {
  return `[${fmt(Math.min(...xs))}..${fmt(Math.max(...xs))}]`;
}

function latency(name: string, r: LatencyResult, base50: string, base99: string): void {
  report({ name: `${name} p50`, value: r.p50us, unit: 'us', note: `${span(r.perRep.map((x) => x.p50us))} BASELINES ${base50}` });
  report({ name: `${name} p99`, value: r.p99us, unit: 'us', note: `${span(r.perRep.map((x) => x.p99us))} BASELINES ${base99}` });
}

const R = reps(5);
const R3 = reps(3);
console.log(`peers (reps ${R}/${R3})`);

latency('peer postMessage RTT w<->w', await postMessagePingPong({ reps: R }), '76.3', '134');
latency('peer postMessage RTT main<->w', await postMessagePingPong({ reps: R, where: 'main-w' }), '74.0', '118');
latency('peer Atomics.wait/notify RTT w<->w', await atomicsPingPong({ reps: R }), '66.0', '246');
latency('peer Atomics.wait/notify RTT main<->w (main blocks)', await atomicsPingPong({ reps: R, where: 'main-w' }), '66.5', '196');
latency('peer Atomics.load spin RTT w<->w', await atomicsSpinPingPong({ reps: R }), '0.86', '1.15');

const tp = await postMessageThroughput({ reps: R });
report({ name: 'peer postMessage throughput w->w', value: tp.msgsPerSec, unit: 'msgs/s', note: `${span(tp.perRep)} BASELINES 517k` });

const st = await newWorkerStartup({ reps: R3 });
report({ name: 'peer new Worker -> first message p50', value: st.p50ms, unit: 'ms', note: `${span(st.perRep.map((x) => x.p50ms))} BASELINES 33.0` });
report({ name: 'peer new Worker -> first message p99', value: st.p99ms, unit: 'ms', note: `${span(st.perRep.map((x) => x.p99ms))} BASELINES 39.8` });

const iv = await setIntervalLateness({ periodMs: 1, reps: R3 });
latency('peer setInterval(1 ms) lateness', iv, '116', '212');
report({ name: 'peer setInterval(1 ms) drift per fire', value: iv.driftUsPerFire, unit: 'us', note: `${span(iv.perRepDriftUs)} BASELINES 113` });

for (const [periodUs, b50, b99] of [[1000, '110', '490'], [250, '95', '156']] as const) {
  const t = await atomicsWaitTimeoutLateness({ periodUs, fires: periodUs === 250 ? 4000 : 1000, reps: R3 });
  const label = `peer worker Atomics.wait(timeout) absolute ${periodUs} us lateness`;
  latency(label, t, b50, b99);
  report({ name: `${label} overruns`, value: t.overruns, unit: 'fires', note: `${span(t.perRepOverruns)} of ${periodUs === 250 ? 4000 : 1000}` });
}

flush();
