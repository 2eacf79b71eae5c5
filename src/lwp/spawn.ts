/**
 * The channel from any LWP to lwp0, the kernel helper thread that owns every
 * worker thread. Node ends a worker when the thread that created it ends,
 * so LWPs and kernel threads are all created by lwp0, which lives as long as
 * the process; a creating LWP only posts a request. The booting thread
 * starts lwp0 on first need and holds a reference on it (keeping the Node
 * process alive) exactly while LWPs other than LWP 1 are alive.
 */
import { Worker, type MessagePort } from 'node:worker_threads';
import { I32 } from '../kern/kmem.js';
import { panicked } from '../kern/hdr.js';
import { panic_mark } from '../kern/panic.js';
import { kernelImage } from '../kern/boot.js';
import { P, curproc } from './proc.js';

/** Messages to lwp0. */
export type Lwp0Request =
  | { t: 'create'; lid: number; module: string; exp: string; arg: unknown }
  | { t: 'kthread'; name: string; module: string };

let port: MessagePort | undefined;
let lwp0: Worker | undefined;

/** Set in worker threads the kernel started: their end of the channel to lwp0. */
export function setLwp0Port(p: MessagePort): void { port = p; }

/** Posts a request to lwp0 (throws DataCloneError when the message cannot be cloned). */
export function lwp0_post(m: Lwp0Request): void {
  if (port !== undefined) { port.postMessage(m); return; }
  if (lwp0 === undefined) startLwp0();
  lwp0!.postMessage(m);
}

/**
 * In the booting thread: keep the process alive while other LWPs live. Not
 * after a panic: LWPs that died in the kernel never exit, and the process
 * must still be able to end (with status 70 unless it already has one).
 */
export function lwp0_refresh(): void {
  if (lwp0 === undefined) return;
  if (panicked()) {
    lwp0.unref();
    if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = 70;
    return;
  }
  if (Atomics.load(I32, curproc() + P.nlive) > 0) lwp0.ref(); else lwp0.unref();
}

/*
 * Workers inherit the program's execArgv, but Node refuses some of what a
 * program may be started with: the options that say where the main script
 * comes from (-e, -p, --input-type, ...) make a worker fail to load its
 * module, and per-process options (V8 heap sizes and the like) given
 * explicitly are ERR_WORKER_INVALID_EXEC_ARGV. lwp0 gets the filtered list,
 * and every worker it starts inherits that.
 */
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
function invalidFlags(e: unknown): string[] {
  if (!(e instanceof Error) || (e as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return [];
  const i = e.message.indexOf('flags: ');
  return i < 0 ? [] : e.message.slice(i + 7).split(', ').map((f) => f.trim()).filter((f) => f !== '');
}

/** Starts lwp0 with the execArgv Worker accepts (per-process flags it names as invalid are dropped). */
function newLwp0(): Worker {
  let argv = worker_execargv(process.execArgv);
  for (;;) {
    try {
      return new Worker(new URL('./lwp0.js', import.meta.url), {
        workerData: { image: kernelImage() },
        name: 'ukern lwp0',
        execArgv: argv,
      });
    } catch (e) {
      const bad = invalidFlags(e);
      const next = argv.filter((a) => !bad.includes(a));
      if (bad.length === 0 || next.length === argv.length) throw e;
      argv = next;
    }
  }
}

function startLwp0(): void {
  lwp0 = newLwp0();
  lwp0.on('message', lwp0_refresh);
  // Without lwp0 no LWP can ever run again and their waiters would wait
  // forever: that is a kernel panic, and it ends the process.
  lwp0.on('error', (e) => {
    panic_mark(`lwp0 failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    process.exit(70);
  });
  // After the listener: adding a 'message' listener refs the worker again.
  lwp0.unref();
}
