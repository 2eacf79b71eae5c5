// LOCKDEBUG in a fresh process (a violation panics the whole kernel).
// argv[2] names the case; argv[3] 'off' boots with lockdebug off. Prints
// 'survived' when no panic stopped the sequence.
import * as sys from '../../src/sys/index.js';
import { mutex_enter, mutex_exit, mutex_tryenter } from '../../src/kern/mutex.js';
import { curproc, P } from '../../src/kern/proc.js';
import { L } from '../../src/lwp/lwp.js';
import { cur } from '../../src/kern/hdr.js';
import { park_bucket_lock } from '../../src/lwp/park.js';
import { kstat_counter } from '../../src/kern/kstat.js';

sys.boot({ lockdebug: process.argv[3] !== 'off' });
const proc = curproc() + P.lock, bucket = park_bucket_lock(7), lwp = cur.lwp + L.lock;

function report(e: unknown): void { console.log(`threw ${(e as sys.SysError).code}: ${(e as Error).message}`); }

try {
  switch (process.argv[2]) {
    case 'in-order': // proc < parktab < lwp
      mutex_enter(proc); mutex_enter(bucket); mutex_enter(lwp);
      mutex_exit(lwp); mutex_exit(bucket); mutex_exit(proc);
      break;
    case 'inverted': // parktab, then proc: backwards
      mutex_enter(bucket); mutex_enter(proc);
      mutex_exit(proc); mutex_exit(bucket);
      break;
    case 'same-class': // two park buckets at once
      mutex_enter(park_bucket_lock(1)); mutex_enter(park_bucket_lock(2));
      mutex_exit(park_bucket_lock(2)); mutex_exit(park_bucket_lock(1));
      break;
    case 'try': // a try-enter out of order cannot deadlock: allowed
      mutex_enter(bucket);
      if (!mutex_tryenter(proc)) throw new Error('proc lock busy');
      mutex_exit(proc); mutex_exit(bucket);
      break;
    case 'exit-not-owner': // a release of a mutex this thread does not hold: a panic with or without lockdebug
      mutex_exit(bucket);
      break;
    case 'undeclared': { // a word no mutex_class covers (a kstat counter)
      const w = kstat_counter('test', 'lockdebug_word');
      mutex_enter(w); mutex_exit(w);
      break;
    }
  }
  console.log('survived');
} catch (e) { report(e); }
