/**
 * The filter table: each filter (EVFILT_*) registers its operations here by
 * number, so that new event sources plug in without touching the kqueue
 * core. Every operation runs with the knote's kqueue lock held and must not
 * sleep or take a lock that comes before the kqueue lock (see
 * kern/lockorder.ts); the core guarantees that nothing else changes the
 * knote meanwhile, which is the seed's KN_PROCESSING made structural.
 */
import { KernelAssertionError, type Errno } from '../kern/errno.js';

/** A kevent as user code passes and receives it (struct kevent). */
export interface kevent_t {
  ident: number;
  filter: number;
  flags: number;
  fflags: number;
  data: number;
  udata: number;
}

/** touch() types, as the seed's. */
export const EVENT_REGISTER = 1, EVENT_PROCESS = 2;

export interface FilterOps {
  readonly name: string;
  /**
   * The ident is a descriptor (the seed's f_isfd): a change naming one that
   * is not open is EBADF, checked before the knote is looked up, so EV_DELETE
   * of a knote its descriptor's close already dropped is EBADF, not ENOENT.
   */
  readonly isfd?: boolean;
  /**
   * Optional, with isfd: whether the ident is an open descriptor (the
   * default: an open kernel descriptor). OS descriptor filters ask the host.
   */
  isopen?(ident: number): boolean;
  /**
   * Optional: the knote's object is gone though its ident is open (an OS
   * descriptor closed behind the kernel's back and its number reused). A
   * change that finds such a knote drops it first and proceeds as if it
   * were absent (EV_DELETE: ENOENT; EV_ADD: a new knote).
   */
  gone?(kn: number): boolean;
  /**
   * Sets up a new knote (its kq, filter, ident, flags, sfflags, sdata and
   * udata are filled in). Returns 0, or an errno code to refuse it; the core then
   * frees the knote without calling detach.
   */
  attach(kn: number): Errno;
  /** Tears the knote down before it is freed (delete, oneshot, close). */
  detach(kn: number): void;
  /** Whether the event is present now; may update data / fflags / flags. */
  event(kn: number, hint: number): boolean;
  /**
   * Optional: EVENT_REGISTER applies a modifying change `kev` to the knote
   * (the default stores sfflags, sdata and udata); EVENT_PROCESS may adjust
   * `kev`, the event about to be reported, filled from the knote. An
   * EVENT_REGISTER that returns an errno refuses the change (nothing of it
   * applied; the change's EV_ERROR entry carries it).
   */
  touch?(kn: number, kev: kevent_t, type: number): Errno | void;
}

// Indexed by ~filter (system filters are -1, -2, ...), as the seed's sysfilt_ops.
const table: (FilterOps | undefined)[] = [];

/**
 * Registers the operations of a system filter number (negative; at module
 * load). The table keeps a copy of one fixed shape (every member present,
 * `touch` possibly undefined): the scan and register loops then load
 * `ops.event` / `ops.touch` through one hidden class whatever the filter,
 * rather than one per filter's object literal (a polymorphic load per knote).
 */
export function filter_register(filter: number, ops: FilterOps): void {
  if (!Number.isInteger(filter) || filter >= 0 || filter < -256) throw new KernelAssertionError(`filter ${filter} registered outside [-256, -1]`);
  table[~filter] = {
    name: ops.name, isfd: ops.isfd === true, isopen: ops.isopen, gone: ops.gone,
    attach: ops.attach, detach: ops.detach, event: ops.event, touch: ops.touch,
  };
}
/** The operations of a filter, or undefined (EINVAL for the caller). */
export function filter_ops(filter: number): FilterOps | undefined { return filter < 0 ? table[~filter] : undefined; }
