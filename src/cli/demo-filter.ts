/**
 * Filter LWPs of the ports demo: take a task from the work port, count the
 * primes in its range, send the count to the results port; stop when the
 * work port is put in alert mode (every getter then gets the alert event).
 */
import * as sys from '../sys/index.js';
import { countPrimes } from './primes.js';

export interface FilterArg { work: number; results: number; span: number }

export function filter(arg: FilterArg): void {
  for (;;) {
    const ev = sys.port_get(arg.work, null);
    if (ev.portev_source === sys.PORT_SOURCE_ALERT) return;
    const i = ev.portev_user;
    sys.port_send(arg.results, countPrimes(i * arg.span, (i + 1) * arg.span), i);
  }
}
