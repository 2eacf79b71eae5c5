/** Test helpers: deadlines instead of sleeps, child-process scenarios, seeds. */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Polls `cond` until it holds or `ms` pass; throws with `what` on timeout. Never a bare sleep. */
export async function until(cond: () => boolean, ms: number, what: string | (() => string)): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    // (a function: what to say, with the state at the time out)
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Races a promise against a deadline. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms); });
  try { return await Promise.race([p, timeout]); } finally { clearTimeout(t); }
}

/**
 * `within`, and when it times out, `release()` (what lets the awaited thing
 * end: an event for a blocked getter, then its collection) before the
 * timeout's error is thrown.
 */
export async function within_or_release<T>(p: Promise<T>, ms: number, what: string, release: () => Promise<unknown>): Promise<T> {
  try { return await within(p, ms, what); } catch (e) { await release(); throw e; }
}

/**
 * A test's cleanup in `finally` (an LWP let go and collected): awaits `p`;
 * after a failure (`passed` false) its own error is dropped, so that the
 * failure, not the cleanup, is what the test reports.
 */
export async function cleanup(p: Promise<unknown>, passed: boolean): Promise<void> {
  if (passed) await p; else await p.catch(() => { /* the test's failure is reported */ });
}

/** The LWP calls letLwpsGo makes, of either kernel instance (the compiled tree's or the package's). */
interface LwpCalls {
  lwp_snapshot(): { lwps: { lid: number; state: string }[] };
  lwp_continue(lid: number): void;
  lwp_unpark(lid: number): void;
  lwp_wakeup(lid: number): void;
  lwp_wait_async(lid: number): Promise<number>;
}

/**
 * A test file's last resort (an `after` hook), for LWPs that a failed test
 * left asleep in the kernel with no timeout (lwp_park, port_get, kevent,
 * sigwaitinfo, lwp_wait) or suspended, which kept the file running until
 * the runner's deadline instead of ending it at the failure: every LWP but
 * LWP 1 still there is continued, unparked and woken (lwp_wakeup: EINTR)
 * until it has exited (at most `ms`), then collected. Errors are dropped
 * (the failure is what is reported). After a passing run there is none
 * left, and this does nothing. It cannot end an LWP that waits outside the
 * kernel (Atomics.wait, a spin): the test lets those go itself.
 */
export async function letLwpsGo(sys: LwpCalls, ms = 10_000): Promise<void> {
  const quietly = (f: () => void): void => { try { f(); } catch { /* gone, or not asleep */ } };
  const left = (): { lid: number; state: string }[] => sys.lwp_snapshot().lwps.filter((l) => l.lid !== 1);
  const end = Date.now() + ms;
  for (let live = left().filter((l) => l.state !== 'ZOMB'); live.length > 0 && Date.now() < end; live = left().filter((l) => l.state !== 'ZOMB')) {
    for (const l of live) { quietly(() => sys.lwp_continue(l.lid)); quietly(() => sys.lwp_unpark(l.lid)); quietly(() => sys.lwp_wakeup(l.lid)); }
    await new Promise((r) => setTimeout(r, 1));
  }
  for (const l of left()) await cleanup(within(sys.lwp_wait_async(l.lid), 2000, `LWP ${l.lid}`), false);
}

/** Runs a scenario module in a fresh Node process (its own kernel); returns status and output. */
export function scenario(name: string, args: string[] = [], timeoutMs = 30000): { status: number | null; stdout: string; stderr: string; signal: NodeJS.Signals | null } {
  const file = fileURLToPath(new URL(`./scenarios/${name}.js`, import.meta.url));
  const r = spawnSync(process.execPath, [file, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

/**
 * `scenario` without blocking this thread, so that a file's independent
 * scenarios can run at once (a test group with `concurrency`): most of a
 * scenario's time is a fresh process starting and waiting for its kernel
 * (timers, exits), which overlap. The same deadline per child (SIGTERM, as
 * spawnSync's) and the same answer.
 */
export function scenarioAsync(name: string, args: string[] = [], timeoutMs = 30000): Promise<{ status: number | null; stdout: string; stderr: string; signal: NodeJS.Signals | null }> {
  return childRun(fileURLToPath(new URL(`./scenarios/${name}.js`, import.meta.url)), args, timeoutMs);
}

/** Runs `node file ...args` with a deadline (SIGTERM); resolves with its status or signal and its output. */
export function childRun(file: string, args: string[], timeoutMs: number, env?: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const opts = { encoding: 'utf8' as const, timeout: timeoutMs, killSignal: 'SIGTERM' as const, maxBuffer: 64 << 20, env: env === undefined ? process.env : { ...process.env, ...env } };
    execFile(process.execPath, [file, ...args], opts, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
      const signal = e?.signal ?? null;
      const status = e === null ? 0 : signal !== null ? null : typeof e.code === 'number' ? e.code : null;
      resolve({ status, stdout, stderr, signal });
    });
  });
}

/** childRun that must end by itself with status 0 (the assertions name its stderr). */
export async function childOk(file: string, timeoutMs: number, env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  const r = await childRun(file, [], timeoutMs, env);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  return r;
}

/**
 * For a test file that panics its own kernel on purpose (in its process, not
 * a child's): a panicked process ends with status 70 (kern/panic.ts
 * panic_status_at_exit), which the runner counts as the file's failure. Call
 * it once the panic is made (the kernel's 'exit' listener, registered at
 * boot, runs first): status 70 becomes 0, any other (a failed test's 1) stays.
 */
export function panic_expected(): void {
  process.once('exit', () => { if (process.exitCode === 70) process.exitCode = 0; });
}

/** A seed from UKERN_SEED or the clock; print it so a failure can be replayed. */
export function seed(): number {
  const env = Number(process.env.UKERN_SEED);
  return Number.isInteger(env) && env > 0 ? env : (Date.now() % 0x7fffffff) + 1;
}

/** xorshift32: a small seeded generator. */
export function rng(seedValue: number): () => number {
  let s = seedValue >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 0x100000000; };
}

/**
 * The LWP tests' start functions (fixtures/lwps-body.ts), by the kernel they
 * call: an LWP must use the same one as the thread that created it, so a
 * test over the compiled tree (one that imports internal modules) gives
 * `fixtures`, a test over the package's entries (`ukern/sys`, `ukern`: the
 * bundle) `pkgFixtures`.
 */
export const fixtures = new URL('./fixtures/lwps.js', import.meta.url);
export const pkgFixtures = new URL('./fixtures/lwps-pkg.js', import.meta.url);

/**
 * Calls `take` until it throws EAGAIN (another error is thrown on):
 * everything it took, in order, e.g. the signals still pending after a
 * test's first take (a zero-timeout sigtimedwait).
 */
export function take_until_eagain<T>(take: () => T): T[] {
  const out: T[] = [];
  for (;;) {
    try { out.push(take()); } catch (e) { if ((e as { code?: string }).code !== 'EAGAIN') throw e; return out; }
  }
}
