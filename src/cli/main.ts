#!/usr/bin/env node
/**
 * The `ukern` command. `ukern demo` (the default; `npm start`) runs the
 * demo on the kernel's embedded defaults.
 */
import { parseArgs } from 'node:util';
import * as sys from '../sys/index.js';
import { lwpDemo } from './demo.js';
import { portsDemo } from './demo-ports.js';
import { kqueueDemo } from '../kqueue/demo.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    workers: { type: 'string', default: '4' },
    tasks: { type: 'string', default: '256' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const cmd = positionals[0] ?? 'demo';
if (values.help || cmd !== 'demo') {
  console.log('usage: ukern [demo] [--workers N] [--tasks N]');
  process.exit(values.help ? 0 : 2);
}
const workers = Number(values.workers), tasks = Number(values.tasks);
if (!Number.isInteger(workers) || workers < 1 || workers > 64 || !Number.isInteger(tasks) || tasks < 1 || tasks > 100000) {
  console.error('ukern: --workers must be 1..64 and --tasks 1..100000');
  process.exit(2);
}
const out = (s: string): void => { console.log(s); };
await lwpDemo(out, { workers, tasks, span: 25000 });
await portsDemo(out, { filters: Math.min(workers, 3), tasks, span: 25000, tickMs: 20 });
for (const line of await kqueueDemo()) out(line);
const mem = sys.kmem_snapshot();
out(`== kernel memory: ${(mem.totalBytes / 1048576).toFixed(1)} MiB mapped; high water of each cache: ${mem.caches.filter((c) => c.highWater > 0).map((c) => `${c.cache} ${c.highWater}x${c.bytesPerObject}B`).join(', ')}`);
out(`LWPs now: ${sys.lwp_snapshot().lwps.map((l) => `${l.lid}:${l.state}`).join(' ')}`);
out('done');
