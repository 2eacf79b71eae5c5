/**
 * The ports part of the demo: a pipeline of LWPs connected by event ports,
 * a POSIX timer (SIGEV_PORT) ticking into the results port, and port_alert
 * to shut the pipeline down.
 *
 * It must work for every task count the CLI accepts, on fast and slow
 * machines alike, so nothing in it depends on how long the work takes:
 *  - the work port is fed through a bounded window (a new task per result),
 *    so any number of tasks fits in port_max_events;
 *  - the run ends when every result AND the timer's first tick are in: a
 *    short run (few tasks, a fast machine) used to finish inside the first
 *    tick period and report "produced nothing";
 *  - every wait has a deadline, so a kernel fault fails loudly, never hangs.
 */
import * as sys from '../sys/index.js';
import type { FilterArg } from './demo-filter.js';
import { primesBelow } from './primes.js';

const FILTER = new URL('./demo-filter.js', import.meta.url);
/** Most tasks queued on the work port at once. */
const WINDOW = 1024;
/** How long the pipeline may go without a result, and the timer without a first tick, before the demo gives up. */
const STALL_MS = 30_000, FIRST_TICK_MS = 10_000;
const TICK = 0x7469636b; // portnfy_user of the timer's events: 'tick'

export interface PortsDemoOptions { filters: number; tasks: number; span: number; tickMs: number }

interface Tally { got: number; primes: number; ticks: number; expirations: number; sent: number }

function filterStates(lids: readonly number[]): string {
  return sys.lwp_snapshot().lwps.filter((l) => lids.includes(l.lid)).map((l) => `${l.lid}:${l.state}${l.wmesg ? `(${l.wmesg})` : ''}`).join(' ');
}

/** Takes what the results port holds (waiting up to a second) and refills the work port: a new task per result. */
async function collect(work: number, results: number, opts: PortsDemoOptions, t: Tally, lids: readonly number[], out: (s: string) => void): Promise<void> {
  const evs = await sys.port_getn_async(results, 64, 1, { tv_sec: 1, tv_nsec: 0 });
  for (const ev of evs) {
    if (ev.portev_source === sys.PORT_SOURCE_TIMER) {
      t.ticks++;
      t.expirations += ev.portev_events;
      if (t.ticks % 5 === 1) {
        const queued = sys.port_getn(work, 0, 0, { tv_sec: 0, tv_nsec: 0 }).nget;
        out(`  tick ${t.ticks} (${ev.portev_events} expiration${ev.portev_events > 1 ? 's' : ''}): ${t.got}/${opts.tasks} results; work port holds ${queued}; filters ${filterStates(lids)}`);
      }
    } else {
      t.got++;
      t.primes += ev.portev_events;
      if (t.sent < opts.tasks) sys.port_send(work, 0, t.sent++);
    }
  }
}

export async function portsDemo(out: (s: string) => void, opts: PortsDemoOptions): Promise<void> {
  out(`== ports: main -> work port -> ${opts.filters} filter LWPs -> results port -> main, with a ${opts.tickMs} ms timer ticking into the results port`);
  const work = sys.port_create();
  const results = sys.port_create();
  const k0 = sys.kstat('port');
  const lids: number[] = [];
  for (let i = 0; i < opts.filters; i++) {
    const arg: FilterArg = { work, results, span: opts.span };
    lids.push(sys.lwp_create({ module: FILTER, export: 'filter', arg }));
  }
  const timer = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: results, portnfy_user: TICK } });
  const period = { tv_sec: 0, tv_nsec: opts.tickMs * 1e6 };
  sys.timer_settime(timer, 0, { it_value: period, it_interval: period });
  const t0 = performance.now();
  const t: Tally = { got: 0, primes: 0, ticks: 0, expirations: 0, sent: 0 };
  while (t.sent < Math.min(opts.tasks, WINDOW)) sys.port_send(work, 0, t.sent++);
  let lastResult = t0;
  while (t.got < opts.tasks || t.ticks === 0) {
    const got0 = t.got;
    await collect(work, results, opts, t, lids, out);
    const now = performance.now();
    if (t.got !== got0) lastResult = now;
    if (t.got < opts.tasks && now - lastResult > STALL_MS) throw new Error(`ports demo: no result for ${STALL_MS} ms (${t.got}/${opts.tasks}); filters ${filterStates(lids)}`);
    if (t.ticks === 0 && now - t0 > FIRST_TICK_MS) throw new Error(`ports demo: the ${opts.tickMs} ms timer did not tick in ${FIRST_TICK_MS} ms`);
  }
  const ms = performance.now() - t0;
  const limit = opts.tasks * opts.span;
  out(`all ${t.got} results in ${ms.toFixed(0)} ms: ${t.primes} primes below ${limit}; ${t.ticks} timer events carrying ${t.expirations} expirations, overrun now ${sys.timer_getoverrun(timer)}`);
  sys.port_alert(work, sys.PORT_ALERT_SET, 1, 0);
  out(`port_alert(work): every filter LWP gets the alert event and returns`);
  for (const l of lids) await sys.lwp_wait_async(l);
  sys.timer_delete(timer);
  sys.close(work);
  sys.close(results);
  const k1 = sys.kstat('port');
  const d = (k: string): number => (k1[k] ?? 0) - (k0[k] ?? 0);
  out(`port counters: ${Object.keys(k1).filter((k) => d(k) !== 0).map((k) => `${k.slice(5)} ${d(k)}`).join(', ')}`);
  const expect = primesBelow(limit);
  if (t.primes !== expect) throw new Error(`ports demo: the filters counted ${t.primes} primes below ${limit}, a sieve counts ${expect}`);
}
