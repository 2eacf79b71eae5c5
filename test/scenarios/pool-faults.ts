/**
 * Worker starts that fail (fixtures/worker-faults.ts, set by the test in
 * UKERN_TEST_WORKER_FAULT; installed here before the kernel is loaded).
 * test/lwp-pool-faults.test.ts asserts on what this prints. argv[2]:
 *  - 'lwp-creates': boot({ lwp_pool: 0 }), then LWP 2 runs `argv[3]` of
 *    fixtures/pool-faults-lwp.ts (which creates LWPs: lwp0 runs them);
 *    this thread waits for LWP 2 unless argv[4] is 'nowait';
 *  - 'main-creates': boot({ lwp_pool: argv[3] or 0 }), three event-loop
 *    turns (a prestart's timer fires), then three creates from this
 *    thread, each waited for (the third runs createsTwoAndWaits: lwp0 must
 *    be up); says how each create ended (its lid, or its error's name and
 *    code) and whether the LWP of a failed one is gone;
 *  - 'port-leak': a create from this thread whose Worker throws once lwp0
 *    runs (UKERN_TEST_WORKER_FAULT=main:throw:3); says whether lwp0 keeps
 *    as many ports open as before it.
 */
import { install_main, lwp0_ports } from '../fixtures/worker-faults.js';

import type { SysError } from '../../src/sys/index.js';

install_main();
const sys = await import('../../src/sys/index.js');
const lwps = new URL('../fixtures/pool-faults-lwp.js', import.meta.url);

switch (process.argv[2]) {
  case 'lwp-creates': {
    sys.boot({ lwp_pool: 0 });
    const lid = sys.lwp_create({ module: lwps, export: process.argv[3]! });
    if (process.argv[4] !== 'nowait') console.log(`waited ${sys.lwp_wait(lid) === lid ? 'it' : '?'}`);
    break;
  }
  case 'main-creates': {
    sys.boot({ lwp_pool: Number(process.argv[3] ?? 0) });
    for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0));
    for (let n = 1; n <= 3; n++) {
      let lid: number;
      try {
        lid = sys.lwp_create({ module: lwps, export: n === 3 ? 'createsTwoAndWaits' : 'returnsAtOnce' });
      } catch (e) {
        const err = e as SysError;
        // The lid it had: lids grow from 1, LWP 1 is this thread, one per create made.
        const gone = sys.lwp_snapshot().lwps.every((l) => l.lid === 1 || l.state === 'ZOMB');
        console.log(`create ${n}: ${err.name} ${err.code}, no LWP left ${gone}`);
        continue;
      }
      console.log(`create ${n}: waited ${sys.lwp_wait(lid) === lid ? 'it' : '?'}`);
    }
    break;
  }
  case 'port-leak': {
    // Create 1 starts LWP 2's worker (Worker 1) and lwp0 (Worker 2); the
    // fault makes Worker 3 throw: create 2, made while LWP 2 still runs
    // (its worker busy), needs a new worker.
    sys.boot({ lwp_pool: 0 });
    const sab = new SharedArrayBuffer(4);
    const lid = sys.lwp_create({ module: lwps, export: 'blocksUntil', arg: sab });
    const before = await lwp0_ports();
    try {
      sys.lwp_create({ module: lwps, export: 'returnsAtOnce' });
      console.log('create 2: made');
    } catch (e) {
      console.log(`create 2: ${(e as SysError).code}`);
    }
    // Asked after lwp0 was given its end of the failed worker's channel (same parent port).
    let after = await lwp0_ports();
    const end = Date.now() + 5_000;
    while (after !== before && Date.now() < end) after = await lwp0_ports();
    console.log(`lwp0 ports as before: ${after === before}${after === before ? '' : ` (${before} -> ${after})`}`);
    Atomics.store(new Int32Array(sab), 0, 1); Atomics.notify(new Int32Array(sab), 0);
    console.log(`waited ${sys.lwp_wait(lid) === lid ? 'it' : '?'}`);
    break;
  }
  default:
    throw new Error(`no such case: ${process.argv[2]}`);
}
console.log('main done');
