/**
 * Signals from outside: the main thread's router. Node hears OS signals on
 * the main thread's event loop only (`process.on`), and a listener changes
 * what the host does with the signal (it no longer kills, stops or starts
 * the inspector), so the router listens for exactly the signals the program
 * catches, ignores, waits for or watches (route.ts keeps that set in kernel
 * memory, and rings `osbell` when any LWP changes it), and for no other: an
 * OS signal nothing in the program wants keeps its default action (one
 * exception, for speed: a signal that was only waited for keeps its
 * listener after the wait until the router's next sync; meanwhile it enters
 * the kernel and gets the same default action there: route.ts).
 *
 * A signal the router hears enters the kernel as a process-directed signal
 * (si_code SI_USER; Node does not say who sent it: si_pid 0), and is taken
 * like any other. When is it seen: while LWP 1's event loop runs. Not while
 * LWP 1 is blocked in a synchronous kernel call or runs JavaScript without
 * returning to its loop: the host has it pending until then (as Node's own
 * process.on listeners would). Changes to the set made by LWP 1 itself take
 * effect before its call returns; changes by other LWPs when LWP 1's event
 * loop next runs (until then the host's disposition is the old one).
 */
import { is_main_thread } from '../kern/host.js';
import { constants } from 'node:os';
import { I32 } from '../kern/kmem.js';
import { cur } from '../kern/hdr.js';
import { NSIG, SIGKILL, SIGSTOP, SI_USER } from './consts.js';
import { SG, sigacts_h } from './sigstate.js';
import { os_wanted, os_publish_listening, os_take_rung } from './route.js';
import { sig_word, sig_bit } from './sigset.js';
import { sig_generate } from './sig.js';
import { postsig, sig_set_unlisten } from './post.js';
import { lwp_signal_flagged } from '../lwp/kapi.js';

const names: (NodeJS.Signals | undefined)[] = [];
for (const [k, v] of Object.entries(constants.signals as Record<string, number>)) {
  if (k !== 'SIGIOT' && k !== 'SIGPOLL' && v > 0 && v < NSIG && names[v] === undefined) names[v] = k as NodeJS.Signals;
}
const listening = new Map<number, () => void>();
/** Signals process.on refused (the host keeps them): never listened. */
const refused = new Set<number>();
let started = false;

/**
 * A signal from outside: generate it for the process, and take it here if
 * LWP 1 was chosen (flagged: an ignored or watched-only signal, or one
 * another LWP takes, leaves LWP 1 nothing to look for, and postsig's look
 * under the signal lock would only delay this thread's return to its loop).
 */
function heard(s: number): void {
  sig_generate(0, s, { code: SI_USER, value: 0, pid: 0, lid: 0, timer: 0 });
  const l = cur.lwp;
  if (l !== 0 && I32[cur.nlocksw] === 0 && lwp_signal_flagged(l)) postsig();
}

/** Listens for exactly the signals route.ts says the program wants. Main thread only. */
export function router_sync(): void {
  if (!is_main_thread()) return;
  // Again when a signal became wanted while it was published (route.ts os_publish_listening).
  for (let i = 0; i < 8 && sync_once(); i++);
}

/** One pass: listeners added and removed; publishes the set; true when a wanted one is still missing. */
function sync_once(): boolean {
  const [r0, r1] = os_take_rung();
  for (let s = 1; s < NSIG; s++) {
    const name = names[s];
    if (name === undefined || s === SIGKILL || s === SIGSTOP) continue;
    const want = os_wanted(s) || ((sig_word(s) === 0 ? r0 : r1) & sig_bit(s)) !== 0;
    const fn = listening.get(s);
    if (want && fn === undefined) {
      const f = (): void => heard(s);
      try { process.on(name, f); listening.set(s, f); } catch { refused.add(s); /* a signal the host will not let Node watch */ }
    } else if (!want && fn !== undefined) {
      process.removeListener(name, fn);
      listening.delete(s);
    }
  }
  return publish();
}

/**
 * Tells the LWPs which signals have a host listener (route.ts), counting
 * those that can have none (no name, SIGKILL, SIGSTOP, refused by the host)
 * as listened: ringing the router for them would change nothing.
 */
function publish(): boolean {
  let l0 = 0, l1 = 0;
  for (let s = 1; s < NSIG; s++) {
    if (listening.has(s) || names[s] === undefined || s === SIGKILL || s === SIGSTOP || refused.has(s)) {
      if (sig_word(s) === 0) l0 |= sig_bit(s); else l1 |= sig_bit(s);
    }
  }
  return os_publish_listening(l0, l1);
}

function unlisten(s: number): void {
  const fn = listening.get(s), name = names[s];
  if (fn !== undefined && name !== undefined) { process.removeListener(name, fn); listening.delete(s); publish(); }
}

/** Starts the router in the main thread: follows `osbell` from its event loop (a waitAsync: it keeps nothing alive). */
export function router_start(): void {
  if (started || !is_main_thread()) return;
  started = true;
  sig_set_unlisten(unlisten);
  const w = sigacts_h() + SG.osbell;
  const loop = (seen: number): void => {
    const r = Atomics.waitAsync(I32, w, seen);
    const next = (): void => { const now = Atomics.load(I32, w); router_sync(); loop(now); };
    if (r.async) void r.value.then(next); else queueMicrotask(next);
  };
  const now = Atomics.load(I32, w);
  router_sync();
  loop(now);
}
