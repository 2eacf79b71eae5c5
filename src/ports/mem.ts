/**
 * Event ports in kernel memory: the port struct and its cache, the event
 * slot struct and the kernel-wide slot cache, the per-port id words, the
 * tunables and the kstat counters. Everything else in src/ports works on
 * these through the accessors here.
 *
 * Why the id words live outside the port struct: a syscall finds a port by
 * descriptor, then locks it. Between the two, another thread may close the
 * port and a third create a new one in the same struct, and the cache zeroes
 * a struct when it hands it out. The lock word and the "which descriptor
 * owns this port now" word therefore sit in a region that is never zeroed:
 * a syscall locks the port's id lock and only then trusts the struct, if the
 * id word still names its descriptor.
 */
import { spin_region, SPIN_EXTRA } from '../kern/spin.js';
import { availableParallelism } from 'node:os';
import { define_struct, kcache_create, kregion_create, f64_get, f64_set } from '../kern/kmem.js';
import { define_tunable } from '../kern/options.js';
import { kstat_counter } from '../kern/kstat.js';
import { PORT_DEFAULT_PORTS, PORT_MAX_PORTS, PORT_DEFAULT_EVENTS } from './consts.js';
import { mutex_class } from '../kern/lockdebug.js';

declare module '../kern/options.js' {
  interface BootOptions {
    /** Ports open at once, illumos project.port-max-ids (default 8192, at most 65536); port_create fails with EAGAIN beyond. */
    port_max_ids?: number;
    /** Event slots one port may hold (queued or reserved), illumos process.port-max-events (default 65536); EAGAIN beyond. */
    port_max_events?: number;
    /** Event slots kernel-wide, shared by every port (default 131072; 48 bytes each). EAGAIN when exhausted. */
    port_events_total?: number;
    /** Adaptive spin budget of port_get before it sleeps, ns (default 20000; 0 turns spinning off). */
    port_spin_ns?: number;
    /** Most threads spinning in port_get at once (default: the number of CPUs). */
    port_spinners?: number;
    /**
     * Deadline-aware wait of port_get on a port fed by a POSIX timer: how long
     * past the timer's expected expiry a getter keeps spinning before it
     * sleeps as usual, ns (default 50000; 0 turns the deadline-aware wait off).
     */
    port_dwait_ns?: number;
    /**
     * Send lanes kernel-wide (default 64; 0 turns them off): single-producer
     * rings that let the LWP which sends to a port most take the lock-free
     * path of port_send (lane.ts). A port without one uses its locked queue.
     */
    port_lanes?: number;
    /**
     * Entries per send lane, rounded down to a power of two (default 16384;
     * 16 bytes each, so 256 KiB a lane, touched only once the lane is used):
     * room for what a sender queues while its getter is off a CPU, which on a
     * busy machine is a millisecond or more (a fresh consumer's first hundreds
     * of ms run slower than its producer). A full lane's owner waits for room
     * (lane.ts) and spills onto the locked queue only when no getter will make
     * room soon.
     */
    port_lane_entries?: number;
  }
}
define_tunable('port_max_ids', PORT_DEFAULT_PORTS, 1, PORT_MAX_PORTS);
define_tunable('port_max_events', PORT_DEFAULT_EVENTS, 1, 1 << 30);
define_tunable('port_events_total', 2 * PORT_DEFAULT_EVENTS, 1, 1 << 24);
define_tunable('port_spin_ns', 20_000, 0, 10_000_000);
define_tunable('port_spinners', availableParallelism(), 0, 1024);
define_tunable('port_dwait_ns', 50_000, 0, 10_000_000);
define_tunable('port_lanes', 64, 0, 4096);
define_tunable('port_lane_entries', 16384, 16, 1 << 16);

/** port_t + port_queue_t of the seed, less what a single process does not need. */
export const PORT = define_struct('port', {
  alertUser: 'f64',   // portev_user of the alert event
  flags: 'i32',       // PQ_*
  nent: 'i32',        // events on the queue (readable() reports it)
  curr: 'i32',        // slots this port has handed out (queued, reserved, in delivery)
  maxev: 'i32',       // port-max-events at creation
  head: 'i32', tail: 'i32',   // the event queue (slot handles, FIFO)
  wqh: 'i32', wqt: 'i32',     // waiting getters: a sleep-queue list, ordered by events wanted
  thrcnt: 'i32',      // threads inside port_get(n) on this port (keep the struct alive)
  fd: 'i32',          // the descriptor
  file: 'i32',        // its descriptor table entry (for file_notify)
  alertEvents: 'i32', // portev_events of the alert event
  alertGen: 'i32',    // bumped by every port_alert that sets alert mode
  sendGen: 'i32',     // bumped by every queued event (getters that were denied wait for a new one)
  lastSender: 'i32',  // lid of the last thread that queued an event (adaptive spin)
  spinScore: 'i32',   // adaptive spin: successes raise it, wasted spins lower it
  spinTick: 'i32',    // the retry epoch in which a low score last tried spinning again (kern/spin.ts)
  ntimers: 'i32',     // slots reserved by PORT_SOURCE_TIMER (timers notifying this port): dwait.ts
  freeHead: 'i32',    // the port's own free slots (a list through E.next), under the lock: queue.ts
  nfree: 'i32',       // how many are on it
  rstack: 'i32',      // slots getters gave back, a lock-free stack of chains (still counted in curr)
  sentPend: 'i32',    // events queued but not yet added to kstat events_sent (under the lock)
  nsrcq: 'i32',       // queued slots of event sources (not port_send's): take.ts marks only those
  lane: 'i32',        // its send lane (lane.ts), bound for the port's life once taken; 0: none
  roomGen: 'i32',     // bumped when a take may have made room while senders wait for it (room.ts)
  roomWaiters: 'i32', // senders waiting for room (room.ts)
  fdhint: 'i32',      // [~] the descriptor of its latest PORT_SOURCE_FD association + 1, 0: none (a getter's host wait: hostwait.ts)
  fdhintEv: 'i32',    // [~] that association's events
  fdset: 'i32',       // [~] 1 once a PORT_SOURCE_FD association was made (never cleared, unlike fdhint): its
                      //   getters and polls have OS sources in the kernel's epoll set (getn.ts, intr/handover.ts)
  hostset: 'i32',     // [~] 1 once a PORT_SOURCE_FILE association was made (never cleared): its blocking getters
                      //   wait in the host on the kernel's epoll set, where the inotify descriptor is (intr/hostwait.ts)
});
export const P = PORT.F;

/** Port queue flags. */
export const PQ_ALERT = 0x1, PQ_CLOSE = 0x2, PQ_FREED = 0x4;

/**
 * port_kevent_t: one event slot. `st` is the delivery state word, changed by
 * compare-and-swap because a getter finishes a delivery without the port lock.
 */
export const KEV = define_struct('port_kevent', {
  object: 'f64',      // portev_object
  user: 'f64',        // portev_user (bit-exact JS number)
  st: 'i32',          // ST_* | SF_*
  flags: 'i32',       // PORT_ALLOC_* mode | KF_CALLBACK
  source: 'i32',      // PORT_SOURCE_*
  events: 'i32',      // portev_events
  port: 'i32',        // handle of its port
  next: 'i32', prev: 'i32', // queue links
  arg: 'i32',         // the source's own word (e.g. a timer id), passed to its callbacks
  rpos: 'i32',        // the port's send-lane tail when it was queued: it comes after lane entries before that (lane.ts)
});
export const E = KEV.F;

/** Slot states (low bits of `st`). */
export const ST_RESERVED = 1, ST_QUEUED = 2, ST_TAKEN = 3, ST_DELIVERING = 4, ST_MASK = 0xf;
/** Slot state flags: withdrawn while in delivery, freed while in delivery, queued again while its callback ran. */
export const SF_CANCEL = 0x10, SF_FREEPEND = 0x20, SF_REQUEUE = 0x40;
/** Slot flags beyond the allocation mode: the source's delivery callback runs for it. */
export const KF_CALLBACK = 0x100;

export const ports = kcache_create('port', PORT, (t) => t.port_max_ids!);
export const kevents = kcache_create('port_kevent', KEV, (t) => t.port_events_total!);

/**
 * Two never-zeroed words per port (see the file comment): [lock, owning fd].
 * Eight ports' pairs share a cache line, and every get takes its port's
 * lock several times: ports made one after the other (the two of a
 * ping-pong between two LWPs, each getting from its own) had their lock
 * words on one line, which then moved between the two CPUs at every
 * compare-and-swap of either side (~0.2 us a round trip, measured). So port
 * i's pair is at row i / 8 of column i % 8 (ids_pos): neighbours in the
 * cache are a column apart; the ports sharing a line are i, i + 8,
 * i + 16... Same memory as a plain array.
 */
const IDS_COLS = 8;
const ids = kregion_create('port_ids', (t) => 2 * IDS_COLS * Math.ceil(t.port_max_ids! / IDS_COLS));
mutex_class('port', ids, { field: 0, stride: 2 });
/** The first word of port i's pair (the region's words give the rows, in every thread). */
function ids_pos(i: number): number { return ids.base + 2 * ((i % IDS_COLS) * (ids.words / (2 * IDS_COLS)) + ((i / IDS_COLS) | 0)); }
/**
 * Kernel-wide words: [0] spinners now, [1] spin budget ns, [2] most spinners,
 * [3] the deadline-aware wait's spin past the expiry (ns, 0: off), then one
 * "spinning in port_get" word per LWP slot.
 */
export const spinRegion = spin_region('port_spin');
/** Words of the spin region (kern/spin.ts); the domain's spare word holds the deadline-wait post-expiry spin. */
export { SPIN_NOW, SPIN_BUDGET, SPIN_MAX, SPIN_LWP } from '../kern/spin.js';
export const SPIN_DPOST = SPIN_EXTRA;

/** The lock word of the port at handle h. */
export function port_lock(h: number): number { return ids_pos(ports.index(h)); }
/** The word naming the descriptor that owns port h (0 once closed). */
export function port_id_word(h: number): number { return ids_pos(ports.index(h)) + 1; }

export function kev_user(s: number): number { return f64_get(s, E.user); }
export function kev_set_user(s: number, v: number): void { f64_set(s, E.user, v); }
export function kev_object(s: number): number { return f64_get(s, E.object); }
export function kev_set_object(s: number, v: number): void { f64_set(s, E.object, v); }
export function port_alert_user(h: number): number { return f64_get(h, P.alertUser); }
export function port_set_alert_user(h: number, v: number): void { f64_set(h, P.alertUser, v); }

/** kstat counters (module 'port'). */
export const C_PORTS = kstat_counter('port', 'ports');             // ports in use now
export const C_CREATED = kstat_counter('port', 'created');
export const C_SENT = kstat_counter('port', 'events_sent');        // events queued (user and sources)
export const C_DELIVERED = kstat_counter('port', 'events_delivered');
export const C_HANDOFFS = kstat_counter('port', 'handoffs');       // events a lane push handed to a sleeping port_get (queue.ts wake_first_locked)
export const C_DISCARDED = kstat_counter('port', 'events_discarded'); // dropped by close or withdrawn
export const C_WAITERS = kstat_counter('port', 'waiters');         // getters asleep now
export const C_WAITS = kstat_counter('port', 'waits');             // times a getter went to sleep
export const C_ALERTS = kstat_counter('port', 'alerts');
export const C_LANES = kstat_counter('port', 'lanes');             // send lanes bound to ports now (lane.ts)
export const C_LANE_SPILLS = kstat_counter('port', 'lane_spills');  // lane owner's sends that found the lane full and took the locked path (EAGAIN retries included)
export const C_LANE_ROOM_WAITS = kstat_counter('port', 'lane_room_waits'); // a full lane's owner waited for room
export const C_LANE_ROOM_SLEEPS = kstat_counter('port', 'lane_room_sleeps'); // ... and slept (Atomics.wait) meanwhile
export const C_LANE_ROOM_TIMEOUTS = kstat_counter('port', 'lane_room_timeouts'); // ... and gave up: the getter took nothing for LANE_ROOM_WAIT_NS
export const C_LANE_GRANTS = kstat_counter('port', 'lane_grants'); // credit grants to lane owners (each a visit to the port lock)
export const C_LANE_GRANTS_SHORT = kstat_counter('port', 'lane_grants_short'); // ... cut short by port_max_events (events queued leave less room)
export const C_LANE_REVOKES = kstat_counter('port', 'lane_revokes'); // a full lane's owner gave its unused credits back to spill (the next grant is another visit)
export const C_SPIN_HIT = kstat_counter('port', 'spin_hits');
export const C_SPIN_MISS = kstat_counter('port', 'spin_misses');
export const C_DWAIT_HIT = kstat_counter('port', 'dwait_hits');     // deadline waits that caught the event spinning
export const C_DWAIT_MISS = kstat_counter('port', 'dwait_misses');  // ... that slept through it or spun in vain
