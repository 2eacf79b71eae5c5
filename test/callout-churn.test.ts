/**
 * The kqueue timer churn that hung beside a CPU hog: short-lived LWPs arm,
 * poll and delete one-shot and periodic EVFILT_TIMER knotes on one kqueue
 * (seeded), with the clock thread running and with it held (then the
 * bridges, polls and kernel sleeps fire every expiry: the hand-over path
 * where the bug lived). Each run is a child process (scenarios/callout-churn)
 * with its own deadline and the parent's timeout behind it, so a hang fails
 * instead of hanging the suite. The child checks the invariants: every
 * one-shot retrieved or deleted, exactly once; callouts and timer knotes
 * back to baseline; no callout left pending, firing or waited for; every
 * LWP gone. Before the fix, a worker whose LWP had exited ran its LWP's
 * bridge turn with owner id 0: callout count -1..-8, or a callout stuck
 * firing and its stopper waiting forever (most runs of either mode).
 * Beside it, in children too: the exiting LWP's bridge is gone with it, and
 * a callout_stop that would wait under another kernel lock panics at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { seed } from './helpers.js';

interface Run { code: number | null; signal: string | null; out: string }
/** Runs scenarios/NAME.js in a child with a deadline (SIGKILL at `ms`). */
function child(name: string, args: string[], env: Record<string, string>, ms: number): Promise<Run> {
  const file = fileURLToPath(new URL(`./scenarios/${name}.js`, import.meta.url));
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { env: { ...process.env, ...env }, timeout: ms, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; signal?: string }) | null;
      resolve({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : null, signal: e?.signal ?? null, out: stdout + stderr });
    });
  });
}
function churn(sd: number, hold: boolean): Promise<Run> {
  // The child fails by itself after 5 s without progress; this deadline only backs it up.
  return child('callout-churn', [String(sd)], { UKERN_CLOCK_HOLD: hold ? '1' : '0', CHURN_STALL_MS: '5000' }, 60_000);
}

test('kqueue timer churn from short-lived LWPs: nothing lost, doubled or left firing, no hang (seeded, clock thread running and held)', async (t) => {
  const sd = seed();
  t.diagnostic(`seed ${sd} (replay: UKERN_SEED=${sd}, or node build/test/scenarios/callout-churn.js ${sd}; the held run uses seed + 1 with UKERN_CLOCK_HOLD=1)`);
  const [run, held] = await Promise.all([churn(sd, false), churn(sd + 1, true)]);
  for (const [what, r] of [['clock thread running', run], ['clock thread held', held]] as const) {
    assert.equal(r.signal, null, `${what}: killed at the deadline (a hang); seed ${sd}\n${r.out}`);
    assert.equal(r.code, 0, `${what}: seed ${sd}\n${r.out}`);
    assert.match(r.out, /^ok seed/m, `${what}: ${r.out}`);
  }
});

test('an LWP that exits takes its timers\' bridge with it: its worker fires nothing after, a live thread does', async () => {
  const r = await child('callout-bridge-exit', [], { UKERN_CLOCK_HOLD: '1' }, 15_000);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^after exit: bridge runs 0, armed 1, \["pending"\]$/m, 'nothing fired by the exited LWP\'s worker');
  assert.match(r.out, /^main got 1 event\(s\), ident 7; armed 0$/m, 'fired by the main thread\'s kernel sleep');
});

test('callout_stop that would wait for a firing handler while holding another kernel mutex: a kernel panic at once, not a possible deadlock', async () => {
  const r = await child('callout-stop-locked', [], {}, 15_000);
  assert.equal(r.code, 70, `a panicked process exits 70\n${r.out}`);
  assert.match(r.out, /^EIO after \d+ ms: .*holding another kernel lock/m, r.out);
  assert.ok(Number(/^EIO after (\d+) ms/m.exec(r.out)![1]) < 1000, 'at once');
});

test('more periodic callouts due than one pass fires before they are due again (clock thread held): each kevent poll returns, firing at most as many callouts as were armed', async () => {
  // Without the bound, callout_run looked at the clock afresh for each
  // callout and always found another due: the first poll never returned.
  const r = await child('callout-overload', [], { UKERN_CLOCK_HOLD: '1' }, 30_000);
  assert.equal(r.signal, null, `killed at the deadline: a poll never returned\n${r.out}`);
  assert.equal(r.code, 0, r.out);
  const m = /^20 polls in (\d+) ms, the slowest (\d+) ms, (\d+) events, callouts armed (\d+)$/m.exec(r.out);
  assert.ok(m !== null, r.out);
  assert.ok(Number(m[3]) >= 2000, `every timer fired and was reported (${m[3]} events)`);
  assert.equal(Number(m[4]), 2000, 'each periodic callout re-armed');
  assert.match(r.out, /^after close: callouts armed 0$/m);
});

