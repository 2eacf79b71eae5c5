/**
 * The one mapping from OS events to kernel activations (intr.ts' theory,
 * "Shape"): the consumers' handlers, installed at module load in every
 * thread; intr_dispatch, which every taker of the kernel's epoll set (the
 * intr thread, a host waiter, the bridge) calls for each event; the write
 * set's events (intr.ts, Directions); and knote_fdclose's driver.
 */
import { I32 } from '../kern/kmem.js';
import { kstat_add } from '../kern/kstat.js';
import * as os from './ffi.js';
import { intr_kick_stolen } from './kick.js';
import { S, sources, C_EVENTS, C_ACTIVATIONS, INTR_USER_ANY, INTR_USER_OTHER, INTR_USER_KQ, WSET_DATA, KICK_DATA, intr_wepfd, intr_sources_of, intr_revents_seen } from './intr.js';

/**
 * What a consumer does with an OS event on a source (no lock held). Returns
 * the activations it made. `wset`: the event is of the source's write-set
 * registration (DIR_WRITE_OWN: output wake-ups only), else of its
 * registration in the kernel's set (every other direction).
 */
export type IntrHandler = (src: number, revents: number, wset: boolean) => number;
/** What a consumer does when a descriptor is closed through the kernel (no lock held). */
export type IntrCloseHandler = (src: number, fd: number) => void;
const handlers: IntrHandler[] = [];
const handlerUsers: number[] = [];
const closeHandlers: IntrCloseHandler[] = [];
/**
 * Installs a consumer's event handler (the kqueue's os filter, the ports'
 * PORT_SOURCE_FD, ...): it sees every event of every source some hold of
 * its `user` bit has named (every source, for OTHER: the default of both
 * sides) and acts on its own objects of that source (none: returns 0).
 * Install at module load, in a module every thread loads (the intr thread
 * too).
 */
export function intr_add_handler(fn: IntrHandler, user = INTR_USER_OTHER): void { handlers.push(fn); handlerUsers.push(user); }
export function intr_on_close(fn: IntrCloseHandler): void { closeHandlers.push(fn); }

/**
 * The one place an OS event becomes kernel activations: the event's data
 * names a source slot and its generation; a slot freed or reused since is
 * dropped, a live one goes to the consumers that hold it (its users mask:
 * a pipe watched by knotes only is the kqueue's, and the other handlers,
 * each of which would only find the source is not its own, are not asked).
 * The generation is read without the intr lock: the lock would not keep
 * the slot live past the read either (it is dropped before the handlers
 * run, which check their own objects under their own locks), and a
 * source's users only grow while it lives.
 */
export function intr_dispatch(src: number, gen: number, revents: number): void {
  if (src === WSET_DATA) { wset_take(); return; }
  if (src === KICK_DATA) { intr_kick_stolen(gen); return; } // an LWP's kick (kick.ts): gen is its slot
  dispatch(src, gen, revents, false, INTR_USER_ANY);
}
function dispatch(src: number, gen: number, revents: number, wset: boolean, only: number): void {
  kstat_add(C_EVENTS);
  if (sources.index(src) < 0) return;
  if (gen === 0 || Atomics.load(I32, src + S.gen) !== gen) return;
  intr_revents_seen(src, revents); // (for the evaluation that follows: intr.ts)
  // A port's output interest (DIR_WRITE) is in the write set, apart from
  // the input interests of the kernel's set (intr.ts, Directions): the
  // ports' handler hears both sets' events then, each with the whole ready
  // mask a single registration would have reported (one poll, only for
  // such a source), since a port event carries every ready bit it asked.
  const ports = I32[src + S.nwrite]! > 0;
  const users = Atomics.load(I32, src + S.users) & (wset && ports ? INTR_USER_ANY : only);
  let n = 0, all = -1;
  for (let i = 0; i < handlers.length; i++) {
    if ((handlerUsers[i]! & users) === 0) continue;
    let rev = revents;
    if (ports && handlerUsers[i] !== INTR_USER_KQ) {
      if (all < 0) { const p = os.os_poll(I32[src + S.fd]!, os.EPOLLIN | os.EPOLLPRI | os.EPOLLOUT | os.EPOLLRDHUP); all = p < 0 ? revents : p | (revents & (os.EPOLLERR | os.EPOLLHUP)); }
      rev = all;
    }
    n += handlers[i]!(src, rev, wset);
  }
  if (n !== 0) kstat_add(C_ACTIVATIONS, n);
}

/*
 * The write set's event in the kernel's set: whoever took it (the intr
 * thread, a host waiter, a bridge) takes what the write set holds now and
 * dispatches it, as the kernel set's own events: to the kqueue's handler
 * (DIR_WRITE_OWN), and to every other when the source has a port's output
 * interest (DIR_WRITE; dispatch, above). The write set is
 * edge-triggered in the kernel's set, and each new event in it is a new
 * edge there (epoll wakes the sets that hold a set at every arrival), so
 * what arrives after the last look below brings its own event. A handler
 * that took the set again while this one runs (none does) gets a buffer
 * of its own.
 */
let wsetBuf: os.EpollEvents | undefined, wsetBusy = false;
function wset_take(): void {
  const wep = intr_wepfd();
  if (wep < 0) return;
  const buf = wsetBusy ? new os.EpollEvents(16) : (wsetBuf ??= new os.EpollEvents(64)), outer = !wsetBusy;
  wsetBusy = true;
  try {
    let n: number;
    do {
      n = os.os_epoll_wait(wep, buf, 0);
      for (let i = 0; i < n; i++) dispatch(buf.lo(i), buf.hi(i), buf.events(i), true, INTR_USER_KQ);
    } while (n === buf.n);
  } finally {
    if (outer) wsetBusy = false;
  }
}

/** knote_fdclose's driver: every consumer lets go of every source of fd (no lock held). */
export function intr_fdclose(fd: number): void {
  for (const s of intr_sources_of(fd)) for (const h of closeHandlers) h(s, fd);
}
