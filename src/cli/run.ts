/**
 * What `ukern demo [part]` runs, loaded by program.ts only when a demo is asked
 * for: --help, --version and usage errors never load (or boot) the kernel.
 * Imports the sys facade first, as every kernel thread does, so that every
 * cache and region the kernel registers exists before boot lays kernel
 * memory out (the layout itself goes by name: kern/kmem.ts).
 */
import * as sys from '../sys/index.js';
import { lwpDemo } from './demo-lwp.js';
import { portsDemo } from './demo-ports.js';
import { kqueueDemo } from './demo-kqueue.js';
import { osDemo } from './demo-os.js';
import type { Part } from './options.js';

export interface DemoSettings { workers: number; tasks: number; span: number }

/** Filter LWPs of the ports pipeline: one per worker, at most three (it shows the pipeline, not throughput). */
const FILTERS_MAX = 3;
const TICK_MS = 20;

function memoryLine(): string {
  const mem = sys.kmem_snapshot();
  const caches = mem.caches.filter((c) => c.highWater > 0).map((c) => `${c.cache} ${c.highWater}x${c.bytesPerObject}B`).join(', ');
  return `== kernel memory: ${(mem.totalBytes / 1048576).toFixed(1)} MiB mapped; high water of each cache: ${caches}`;
}

export async function runDemo(part: Part, s: DemoSettings, out: (line: string) => void): Promise<void> {
  if (part === 'all' || part === 'lwp') await lwpDemo(out, s);
  if (part === 'all' || part === 'ports') await portsDemo(out, { filters: Math.min(s.workers, FILTERS_MAX), tasks: s.tasks, span: s.span, tickMs: TICK_MS });
  if (part === 'all' || part === 'kqueue') {
    out('== kqueue: one kqueue multiplexing an event port, a user event and two timers');
    for (const line of await kqueueDemo()) out(line);
  }
  if (part === 'all' || part === 'os') {
    out('== os: a child process\'s exit and a file\'s append through one kqueue, an AIO read completing on an event port');
    for (const line of await osDemo()) out(line);
  }
  out(memoryLine());
  out(`LWPs now: ${sys.lwp_snapshot().lwps.map((l) => `${l.lid}:${l.state}`).join(' ')}`);
  out('done');
}
