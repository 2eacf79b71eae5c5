/**
 * Event ports benches (issue 4), each beside its peer measured in the same
 * run: throughput 1 producer LWP -> 1 consumer LWP (port_getn batches of 64)
 * vs postMessage; round trip through two ports between two LWPs blocking in
 * port_get vs postMessage and Atomics.wait ping-pongs; the same with the
 * adaptive spin (and the CPU it costs); 4 producers x 4 consumers on one
 * port, 10^6 events checked exactly once; memory per event and per port.
 * The cold stream twice: in fresh processes (a program's first two LWPs:
 * what a short burst of a new program sees; the goal's figure, against
 * postMessage between fresh workers over the same 2M events), and on the
 * pool's workers after the warm phase (fresh LWPs, but reused isolates whose
 * code the warm phase optimised: informational).
 * The LWP start functions are exported here; the bench runs in the main thread.
 */
import { isMainThread } from 'node:worker_threads';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import '../src/sys/index.js';
import * as ports from '../src/ports/sys.js';
import * as lwp from '../src/lwp/sys.js';
import { close } from '../src/kern/sys.js';
import { KEV, PORT } from '../src/ports/mem.js';
import { lane_entries, lane_handle, LN_ENT } from '../src/ports/lane-locked.js';
import { tunables } from '../src/kern/boot.js';
import { kstat_snapshot } from '../src/kern/kstat.js';
import { report, flush, reps, medianOf, median, percentile, nowNs, fmt } from './lib.js';
import { postMessagePingPong, postMessageThroughput, atomicsPingPong } from './peers.js';

const SELF = new URL(import.meta.url);
/** A child of the fresh-process cold figure: one stream, its rate on stdout. */
const FRESH_CHILD = process.argv.includes('--fresh-child');

function sendRetry(p: number, ev: number, user: number): void {
  for (;;) {
    try { ports.port_send(p, ev, user); return; } catch (e) {
      if ((e as { code?: string }).code !== 'EAGAIN') throw e;
    }
  }
}

/**
 * Producer: sends `warm` untimed events, waits until the consumer has taken
 * them (ctl[1]), then records its start time (ns) in times[slot] and sends n.
 * With `barrier`, it first waits until the consumer runs (ctl[2]).
 */
export function produce(a: { port: number; n: number; base: number; times: SharedArrayBuffer; slot: number; warm?: number; ctl?: SharedArrayBuffer; barrier?: boolean }): void {
  const t = new Float64Array(a.times);
  const warm = a.warm ?? 0;
  if (a.barrier === true) {
    const c = new Int32Array(a.ctl!);
    while (Atomics.load(c, 2) === 0) Atomics.wait(c, 2, 0, 100);
  }
  if (warm > 0) {
    for (let i = 0; i < warm; i++) sendRetry(a.port, 1, a.base + i);
    const c = new Int32Array(a.ctl!);
    while (Atomics.load(c, 1) === 0) Atomics.wait(c, 1, 0, 100);
  }
  t[a.slot] = nowNs();
  for (let i = 0; i < a.n; i++) sendRetry(a.port, 1, a.base + i);
}

/**
 * Consumer: takes `warm` untimed events and says so (ctl[1]); then takes
 * events in batches of 64 until the shared count reaches total; marks each seen.
 */
export function consume(a: { port: number; total: number; ctl: SharedArrayBuffer; seen?: SharedArrayBuffer; times: SharedArrayBuffer; slot: number; warm?: number }): void {
  const c = new Int32Array(a.ctl);
  Atomics.store(c, 2, 1); Atomics.notify(c, 2); // running (a barrier producer starts now)
  const seen = a.seen !== undefined ? new Int32Array(a.seen) : undefined;
  const warm = a.warm ?? 0;
  for (let got = 0; got < warm;) got += ports.port_getn(a.port, 64, 1).length;
  if (warm > 0) { Atomics.store(c, 1, 1); Atomics.notify(c, 1); }
  for (;;) {
    const evs = ports.port_getn(a.port, 64, 1);
    if (evs.length === 1 && evs[0]!.portev_source === ports.PORT_SOURCE_ALERT) break;
    if (seen !== undefined) for (const ev of evs) Atomics.add(seen, ev.portev_user, 1);
    if (Atomics.add(c, 0, evs.length) + evs.length >= a.total) {
      new Float64Array(a.times)[a.slot] = nowNs();
      ports.port_alert(a.port, ports.PORT_ALERT_SET, 1, 0); // the others stop too
      break;
    }
  }
}

/** Ping side: n round trips (send on `out`, get on `in`), RTT samples in ns. */
export function ping(a: { pin: number; pout: number; n: number; samples: SharedArrayBuffer }): void {
  const s = new Float64Array(a.samples);
  for (let i = 0; i < a.n; i++) {
    const t0 = nowNs();
    ports.port_send(a.pout, 1, i);
    ports.port_get(a.pin);
    s[i] = nowNs() - t0;
  }
}
export function pong(a: { pin: number; pout: number; n: number }): void {
  for (let i = 0; i < a.n; i++) {
    const ev = ports.port_get(a.pin);
    ports.port_send(a.pout, 1, ev.portev_user);
  }
}

async function run(start: string, arg: unknown): Promise<number> {
  return lwp.lwp_create({ module: SELF, export: start, arg });
}

async function throughput1x1(n: number, warm: number, barrier = false): Promise<number> {
  const p = ports.port_create();
  const times = new SharedArrayBuffer(16), ctl = new SharedArrayBuffer(16);
  const c = await run('consume', { port: p, total: n, ctl, times, slot: 1, warm });
  const pr = await run('produce', { port: p, n, base: 0, times, slot: 0, warm, ctl, barrier });
  await lwp.lwp_wait_async(pr); await lwp.lwp_wait_async(c);
  close(p);
  const t = new Float64Array(times);
  return n / ((t[1]! - t[0]!) / 1e9);
}

async function pingPong(n: number): Promise<{ p50us: number; p99us: number }> {
  const p1 = ports.port_create(), p2 = ports.port_create();
  const samples = new SharedArrayBuffer(n * 8);
  const b = await run('pong', { pin: p2, pout: p1, n });
  const a = await run('ping', { pin: p1, pout: p2, n, samples });
  await lwp.lwp_wait_async(a); await lwp.lwp_wait_async(b);
  close(p1); close(p2);
  const s = new Float64Array(samples).subarray(Math.floor(n / 10)); // drop warm-up
  return { p50us: percentile(s, 50) / 1e3, p99us: percentile(s, 99) / 1e3 };
}

async function manyToMany(P: number, C: number, total: number): Promise<{ rate: number; lost: number; dup: number }> {
  const p = ports.port_create();
  const times = new SharedArrayBuffer(8 * (P + C)), ctl = new SharedArrayBuffer(16), seen = new SharedArrayBuffer(total * 4);
  const cons = [];
  for (let i = 0; i < C; i++) cons.push(await run('consume', { port: p, total, ctl, seen, times, slot: P + i }));
  const per = total / P;
  const prods = [];
  for (let i = 0; i < P; i++) prods.push(await run('produce', { port: p, n: per, base: i * per, times, slot: i }));
  for (const l of [...prods, ...cons]) await lwp.lwp_wait_async(l);
  close(p);
  const t = new Float64Array(times);
  const start = Math.min(...t.subarray(0, P)), end = Math.max(...t.subarray(P));
  const counts = new Int32Array(seen);
  let lost = 0, dup = 0;
  for (let i = 0; i < total; i++) { if (counts[i] === 0) lost++; else if (counts[i]! > 1) dup++; }
  return { rate: total / ((end - start) / 1e9), lost, dup };
}

/**
 * The cold stream of a program's first two LWPs: a fresh process per run
 * (the line above reuses the pool's workers, whose isolates ran the warm
 * phase: their code is partly optimised already). The producer starts once
 * the consumer runs, so that the consumer's worker start is not counted.
 */
function freshCold(): number {
  const r = spawnSync(process.execPath, [fileURLToPath(SELF), '--fresh-child'], { encoding: 'utf8', timeout: 120_000 });
  const m = /@@fresh ([0-9.e+]+)/.exec(r.stdout);
  if (r.status !== 0 || m === null) throw new Error(`fresh cold child: status ${r.status} ${r.signal ?? ''} ${r.stderr.slice(-1000)}`);
  return Number(m[1]);
}

if (isMainThread && FRESH_CHILD) {
  console.log(`@@fresh ${await throughput1x1(2_000_000, 0, true)}`);
  process.exit(0);
}

if (isMainThread) {
  const R = reps(5);
  console.log(`ports (reps ${R})`);

  // Throughput 1 -> 1, batches of 64, steady state: both sides first run
  // an untimed warm-up so that the JIT has optimized them (the peer too).
  const pm = await postMessageThroughput({ reps: R, warmup: 100_000 });
  const tp = await medianOf(R, () => throughput1x1(4_000_000, 2_000_000));
  report({ name: 'ports throughput 1 producer LWP -> 1 consumer LWP (getn 64)', value: tp, unit: 'events/s',
    peer: 'postMessage small objects w->w', peerValue: pm.msgsPerSec, goal: '>= 20x', met: tp >= 20 * pm.msgsPerSec,
    note: 'steady state: 4M events timed after 2M untimed (the peer: 200k after 100k)' });
  // The same from cold LWPs (no warm-up): what a short burst sees. The goal
  // is held by the fresh-process figure: the pool's workers below ran the
  // warm phase, so their isolates run optimised code already, while the
  // peer's workers are new. The peer streams as many messages (2M) as the
  // ukern side takes events: over 200k its cold start weighed ~1.5x more.
  const COLD_N = 2_000_000;
  const pmCold = await postMessageThroughput({ reps: R, messages: COLD_N });
  const fresh = await medianOf(R, () => freshCold());
  report({ name: 'ports throughput 1 -> 1, cold in a fresh process (its first two LWPs: first 2M events, producer starts once the consumer runs)', value: fresh, unit: 'events/s',
    peer: 'postMessage small objects w->w, cold (fresh workers, first 2M messages)', peerValue: pmCold.msgsPerSec,
    goal: '>= 15x, and >= 0.6x the steady state', met: fresh >= 15 * pmCold.msgsPerSec && fresh >= 0.6 * tp,
    note: `${fmt(fresh / tp)}x the steady state` });
  const k0 = kstat_snapshot('port');
  const cold = await medianOf(R, () => throughput1x1(COLD_N, 0));
  const k1 = kstat_snapshot('port');
  const perRun = (k: string): string => fmt(((k1[`port.${k}`] ?? 0) - (k0[`port.${k}`] ?? 0)) / R);
  report({ name: 'ports throughput 1 -> 1, fresh LWPs on the pool\'s workers (first 2M events; isolates warmed by the phase above)', value: cold, unit: 'events/s',
    peer: 'postMessage small objects w->w, cold (fresh workers, first 2M messages)', peerValue: pmCold.msgsPerSec,
    note: `informational: the workers' code is optimised already, the peer's is not; ${fmt(cold / tp)}x the steady state; per run: ${perRun('lane_spills')} events spilled onto the locked queue, ` +
      `${perRun('lane_room_sleeps')} owner sleeps for room, ${perRun('waits')} getter sleeps, ${perRun('lane_grants')} credit grants` });

  // Where the time goes: one thread, no contention (send 64 then take them
  // with one port_getn), per event. The 1 -> 1 figure above is bounded by
  // these plus what two CPUs sharing the port's cache lines add.
  {
    const p = ports.port_create();
    const B = 1 << 20;
    // One untimed pass (JIT), then the median of R timed ones (each pass
    // used to overwrite the last: the figure was the third pass alone).
    const sends: number[] = [], gets: number[] = [];
    for (let rep = 0; rep <= R; rep++) {
      let st = 0, gt = 0;
      for (let k = 0; k < B / 64; k++) {
        const t0 = nowNs();
        for (let i = 0; i < 64; i++) ports.port_send(p, 1, i);
        const t1 = nowNs();
        ports.port_getn(p, 64, 1);
        gt += nowNs() - t1; st += t1 - t0;
      }
      if (rep > 0) { sends.push(st / B); gets.push(gt / B); }
    }
    const sendNs = median(sends), getNs = median(gets);
    close(p);
    report({ name: 'ports single thread: port_send', value: sendNs, unit: 'ns/event', note: `${fmt(1e9 / sendNs)} sends/s` });
    report({ name: 'ports single thread: port_getn (batches of 64)', value: getNs, unit: 'ns/event',
      note: `together ${fmt(1e9 / (sendNs + getNs))} events/s on one CPU; 1 -> 1 on two CPUs: ${fmt(tp)}/s (the sender's lane and the getter overlap)` });
  }

  // Round trip, blocking (spin off).
  const pmRtt = await postMessagePingPong({ reps: R });
  const atRtt = await atomicsPingPong({ reps: R });
  ports.port_spin_tune({ budgetNs: 0 });
  const blk = await medianOf(R, async () => (await pingPong(3000)).p50us);
  report({ name: 'ports RTT p50, 2 ports, 2 LWPs blocking in port_get', value: blk, unit: 'us',
    peer: 'postMessage ping-pong w<->w', peerValue: pmRtt.p50us, goal: '<= 0.85x', met: blk <= 0.85 * pmRtt.p50us });
  report({ name: 'ports RTT p50 blocking vs Atomics.wait', value: blk, unit: 'us',
    peer: 'Atomics.wait/notify ping-pong w<->w', peerValue: atRtt.p50us, goal: '<= 1.2x', met: blk <= 1.2 * atRtt.p50us });

  // Round trip, hot: adaptive spin on.
  ports.port_spin_tune({ budgetNs: 20_000 });
  let cpu = 0;
  const hot = await medianOf(R, async () => {
    const c0 = process.cpuUsage(), w0 = nowNs();
    const r = await pingPong(100_000);
    const c1 = process.cpuUsage(c0), w1 = nowNs();
    cpu = ((c1.user + c1.system) * 1e3) / (w1 - w0);
    return r.p50us;
  });
  report({ name: 'ports RTT p50, adaptive spin (hot ping-pong)', value: hot, unit: 'us',
    peer: 'postMessage ping-pong w<->w', peerValue: pmRtt.p50us, goal: '<= 0.1x (10x faster)', met: hot * 10 <= pmRtt.p50us,
    note: `costs ${fmt(cpu)} CPUs busy while it runs (both LWPs spin instead of sleeping; budget 20 us)` });

  // 4 x 4 on one port, 10^6 events, exactly once.
  let check = '';
  const mm = await medianOf(R, async () => {
    const r = await manyToMany(4, 4, 1_000_000);
    if (r.lost || r.dup) check = `LOST ${r.lost} DUPLICATED ${r.dup}`;
    return r.rate;
  });
  report({ name: 'ports 4 producers x 4 consumers, one port, 10^6 events', value: mm, unit: 'events/s',
    peer: 'postMessage small objects w->w', peerValue: pm.msgsPerSec, goal: 'none lost or duplicated', met: check === '',
    note: check || 'every event delivered exactly once; 8 LWPs on 2 cores' });

  // From the lanes' layout in kernel memory (words between two lanes' handles, less the header), not a literal.
  const laneEntryBytes = ((lane_handle(1) - lane_handle(0) - LN_ENT) * 4) / lane_entries();
  report({ name: 'ports memory per queued event, send lane', value: laneEntryBytes, unit: 'bytes',
    note: `lane entries are preallocated: ${lane_entries()} per lane (${fmt(lane_entries() * laneEntryBytes / 1024)} KiB), ${tunables().port_lanes} lanes` });
  report({ name: 'ports memory per queued event, locked queue', value: KEV.words * 4, unit: 'bytes', note: 'other senders, sources, a full lane' });
  report({ name: 'ports memory per port', value: PORT.words * 4 + 8, unit: 'bytes', note: 'port struct + its lock and id words' });
  flush();
}
