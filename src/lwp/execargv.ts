/**
 * The execArgv a worker is started with. Workers inherit the program's
 * execArgv, but Node refuses some of what a program may be started with:
 * the options that say where the main script
 * comes from (-e, -p, --input-type, ...) make a worker fail to load its
 * module, and per-process options (V8 heap sizes and the like) given
 * explicitly are ERR_WORKER_INVALID_EXEC_ARGV. lwp0 gets the filtered list,
 * and every worker it starts inherits that; the LWP workers the main thread
 * starts itself (pool.ts) get it explicitly.
 */
import type { Worker, WorkerOptions } from 'node:worker_threads';
import { worker_threads, host_threads_coming } from '../kern/host.js';

const DROP_WITH_VALUE = new Set(['-e', '--eval', '-p', '--print', '--input-type']);
const DROP = new Set(['-i', '--interactive', '-c', '--check', '--test', '--watch', '--watch-path', '--watch-preserve-output']);
const KEEP_PRELOAD = new Set(['-r', '--require', '--import']);

/** execArgv minus what only makes sense for the main thread's entry point (-e/-p code, --input-type, ...). */
export function worker_execargv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (KEEP_PRELOAD.has(name)) { out.push(a); if (eq < 0 && i + 1 < argv.length) out.push(argv[++i]!); continue; }
    if (DROP_WITH_VALUE.has(name)) { if (eq < 0) i++; continue; }
    if (DROP.has(name)) continue;
    out.push(a);
  }
  return out;
}


/** The flags a ERR_WORKER_INVALID_EXEC_ARGV error names. */
function invalid_flags(e: unknown): string[] {
  if (!(e instanceof Error) || (e as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return [];
  const i = e.message.indexOf('flags: ');
  return i < 0 ? [] : e.message.slice(i + 7).split(', ').map((f) => f.trim()).filter((f) => f !== '');
}

/** The execArgv workers of this thread start with, once found (flags the first start refused dropped). */
let chosen: string[] | undefined;

/**
 * Starts a worker with the execArgv a worker accepts: the program's, minus
 * its entry-point options, minus the per-process flags Node names as invalid
 * (dropped and tried again, once per thread).
 */
export function worker_start(url: URL | string, opts: Omit<WorkerOptions, 'execArgv'>): Worker {
  let argv = chosen ?? worker_execargv(process.execArgv);
  host_threads_coming(); // before another thread can post on a channel this one has not opened yet (kern/host.ts)
  const { Worker } = worker_threads();
  for (;;) {
    try {
      const w = new Worker(url, { ...opts, execArgv: argv });
      chosen = argv;
      return w;
    } catch (e) {
      const bad = invalid_flags(e);
      const next = argv.filter((a) => !bad.includes(a));
      if (bad.length === 0 || next.length === argv.length) throw e;
      argv = next;
    }
  }
}
