/**
 * The LWP table as diagnostics see it: lwp_snapshot (every LWP with its
 * state, flags and what it sleeps on, and the proc counters) and lwp_check
 * (the proc counters recomputed from the table: a self-test for stress
 * tests). Read without locks, with Atomics where the state and flags are
 * written by other threads (lwp/lwp.ts's keys): a snapshot is a moment's view.
 */
import { I32, f64_get } from '../kern/kmem.js';
import { mono_now } from '../kern/time.js';
import { sysenter } from '../kern/sysent.js';
import { wmesg_name } from '../kern/wmesg.js';
import { P, curproc } from '../kern/proc.js';
import {
  L, LWP, LSRUN, LSONPROC, LSSLEEP, LSZOMB, LW_DETACHED, LW_WSUSPEND, LW_MAIN, LW_THREW, LW_DIED, LW_NOREF, LW_WAITING,
  STATE_NAMES, maxlwp, slot_handle,
} from './lwp.js';

/** One LWP as {@link lwp_snapshot} reports it. */
export interface LwpInfo {
  lid: number;
  state: string;
  /** What it sleeps on, when state is SLEEP. */
  wmesg: string;
  detached: boolean;
  suspendRequested: boolean;
  unparkPending: boolean;
  main: boolean;
  /** Unref'd (lwp_ref): it does not keep the Node process alive. */
  unref: boolean;
  threw: boolean;
  died: boolean;
  waitingFor: number;
  parks: number;
  ageMs: number;
}

/** A snapshot of the process's LWPs and their states, with the proc counters. */
export function lwp_snapshot(): { lwps: LwpInfo[]; proc: Record<string, number>; bytesPerLwp: number } {
  sysenter();
  const out: LwpInfo[] = [];
  const now = mono_now();
  for (let i = 0; i < maxlwp(); i++) {
    const h = slot_handle(i);
    const st = Atomics.load(I32, h + L.stat);
    if (st === 0) continue;
    const fl = Atomics.load(I32, h + L.flag);
    out.push({
      lid: I32[h + L.lid]!, state: STATE_NAMES[st] ?? String(st),
      wmesg: st === LSSLEEP ? wmesg_name(I32[h + L.wmesg]!) : '',
      detached: (fl & LW_DETACHED) !== 0, suspendRequested: (fl & LW_WSUSPEND) !== 0,
      unparkPending: Atomics.load(I32, h + L.unpark) === I32[h + L.lid], main: (fl & LW_MAIN) !== 0,
      unref: (fl & LW_NOREF) !== 0, threw: (fl & LW_THREW) !== 0, died: (fl & LW_DIED) !== 0,
      waitingFor: I32[h + L.waitingfor]!, parks: I32[h + L.nparks]!,
      ageMs: (now - f64_get(h, L.created)) / 1e6,
    });
  }
  out.sort((a, b) => a.lid - b.lid);
  const p = curproc();
  const proc = {
    pid: I32[p + P.pid]!, nlwps: I32[p + P.nlwps]!, nzlwps: I32[p + P.nzlwps]!, nrlwps: I32[p + P.nrlwps]!,
    ndlwps: I32[p + P.ndlwps]!, nlwpwait: I32[p + P.nlwpwait]!, nlive: I32[p + P.nlive]!, nkeep: I32[p + P.nkeep]!,
  };
  return { lwps: out, proc, bytesPerLwp: LWP.words * 4 };
}

/**
 * Checks the process's LWP counters against the LWP table (a kernel
 * self-test for stress tests): returns the mismatches, empty when consistent.
 * Meaningful only when no LWP is changing state.
 */
export function lwp_check(): string[] {
  sysenter();
  const p = curproc();
  let n = 0, z = 0, r = 0, d = 0, live = 0, keep = 0, w = 0;
  for (let i = 0; i < maxlwp(); i++) {
    const h = slot_handle(i);
    const st = Atomics.load(I32, h + L.stat);
    if (st === 0) continue;
    n++;
    const fl = Atomics.load(I32, h + L.flag);
    if (st === LSZOMB) z++;
    if (st === LSRUN || st === LSONPROC || st === LSSLEEP) { r++; if (fl & LW_WAITING) w++; }
    if (fl & LW_DETACHED) d++;
    if (st !== LSZOMB && (fl & LW_MAIN) === 0) { live++; if ((fl & LW_NOREF) === 0) keep++; }
  }
  const bad: string[] = [];
  const cmp = (name: string, got: number, want: number): void => { if (got !== want) bad.push(`${name} ${got} != ${want} in the table`); };
  cmp('nlwps', I32[p + P.nlwps]!, n);
  cmp('nzlwps', I32[p + P.nzlwps]!, z);
  cmp('nrlwps', I32[p + P.nrlwps]!, r);
  cmp('ndlwps', I32[p + P.ndlwps]!, d);
  cmp('nlive', I32[p + P.nlive]!, live);
  cmp('nkeep', I32[p + P.nkeep]!, keep);
  cmp('nlwpwait', I32[p + P.nlwpwait]!, w);
  if (I32[p + P.lock] !== 0) bad.push('proc lock held');
  return bad;
}

