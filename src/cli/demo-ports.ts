/**
 * The ports part of the demo: a pipeline of LWPs connected by event ports,
 * a POSIX timer (SIGEV_PORT) ticking into the results port, and port_alert
 * to shut the pipeline down.
 */
import * as sys from '../sys/index.js';
import type { FilterArg } from './demo-filter.js';

const FILTER = new URL('./demo-filter.js', import.meta.url);

export async function portsDemo(out: (s: string) => void, opts: { filters: number; tasks: number; span: number; tickMs: number }): Promise<void> {
  out(`== ports: main -> work port -> ${opts.filters} filter LWPs -> results port -> main, with a ${opts.tickMs} ms timer ticking into the results port`);
  const work = sys.port_create();
  const results = sys.port_create();
  const k0 = sys.kstat('port');
  const lids: number[] = [];
  for (let i = 0; i < opts.filters; i++) {
    const arg: FilterArg = { work, results, span: opts.span };
    lids.push(sys.lwp_create({ module: FILTER, export: 'filter', arg }));
  }
  const TICK = 0x7469636b; // portnfy_user of the timer's events: 'tick'
  const timer = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: results, portnfy_user: TICK } });
  const period = { tv_sec: 0, tv_nsec: opts.tickMs * 1e6 };
  sys.timer_settime(timer, 0, { it_value: period, it_interval: period });
  const t0 = performance.now();
  for (let i = 0; i < opts.tasks; i++) sys.port_send(work, 0, i);
  let got = 0, primes = 0, ticks = 0, expirations = 0;
  while (got < opts.tasks) {
    // Up to 64 events at a time; wait for at least one without blocking the event loop.
    const evs = await sys.port_getn_async(results, 64, 1, null);
    for (const ev of evs) {
      if (ev.portev_source === sys.PORT_SOURCE_TIMER) {
        ticks++;
        expirations += ev.portev_events;
        if (ticks % 5 === 1) {
          const st = sys.lwp_snapshot().lwps.filter((l) => lids.includes(l.lid)).map((l) => `${l.lid}:${l.state}${l.wmesg ? `(${l.wmesg})` : ''}`).join(' ');
          out(`  tick ${ticks} (${ev.portev_events} expiration${ev.portev_events > 1 ? 's' : ''}): ${got}/${opts.tasks} results; work port holds ${sys.port_getn(work, 0, 0, { tv_sec: 0, tv_nsec: 0 }).nget}; filters ${st}`);
        }
      } else {
        got++;
        primes += ev.portev_events;
      }
    }
  }
  const ms = performance.now() - t0;
  out(`all ${got} results in ${ms.toFixed(0)} ms: ${primes} primes below ${opts.tasks * opts.span}; ${ticks} timer events carrying ${expirations} expirations, overrun now ${sys.timer_getoverrun(timer)}`);
  sys.port_alert(work, sys.PORT_ALERT_SET, 1, 0);
  out(`port_alert(work): every filter LWP gets the alert event and returns`);
  for (const l of lids) await sys.lwp_wait_async(l);
  sys.timer_delete(timer);
  sys.close(work);
  sys.close(results);
  const k1 = sys.kstat('port');
  const d = (k: string): number => (k1[k] ?? 0) - (k0[k] ?? 0);
  out(`port counters: ${Object.keys(k1).filter((k) => d(k) !== 0).map((k) => `${k.slice(5)} ${d(k)}`).join(', ')}`);
  if (primes <= 0 || ticks === 0) throw new Error('ports demo produced nothing');
}
