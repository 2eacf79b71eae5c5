/**
 * boot({ lwp_pool: n }) with n from argv[2]: prints how many threads the
 * kernel started by the first event-loop turns after boot (the prestart is
 * an unref'd timer set at boot). Counted by the threadId of a worker made
 * here afterwards (ids are handed out in order, one per Worker of the
 * process). test/lwp-pool-prestart.test.ts asserts on it.
 */
import { Worker } from 'node:worker_threads';
import * as sys from '../../src/sys/index.js';

sys.boot({ lwp_pool: Number(process.argv[2]) });
for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0));
const w = new Worker('', { eval: true });
console.log(`started ${w.threadId - 1}`);
await w.terminate();
