/**
 * PORT_SOURCE_FILE (illumos port_fop.c, port_associate(3C)): a file_obj_t
 * associated with a port reports, once, the first of the events it asked for
 * (FILE_ACCESS / FILE_MODIFIED / FILE_ATTRIB / FILE_TRUNC) or of the
 * exception events (FILE_DELETE, FILE_RENAME_FROM, UNMOUNTED; always), or at
 * once when a time it carries differs from the file's.
 *
 * ---- Shape ------------------------------------------------------------------
 *
 * An association (struct fassoc) is keyed by (port descriptor, object id).
 * The object id names the file_obj_t kernel-wide: the associating thread
 * keeps the object in a per-thread table under its id (the object is a JS
 * value of that thread; kernel memory holds numbers), so an event retrieved
 * in that thread carries the object itself in portev_object, and in any
 * other thread the id, which port_dissociate also takes. Associating holds
 * the file with an O_PATH descriptor (opened from fo_name, with O_NOFOLLOW
 * for FILE_NOFOLLOW: the link itself is then watched) and an inotify
 * watcher of it (intr/inotify.ts), and reserves an event slot (SCACHED: the
 * slot is ours until we free it, whatever the port does with the event).
 *
 * The host's events (the intr thread, through the consumer below) map:
 *
 *   IN_ACCESS -> FILE_ACCESS    IN_MODIFY -> FILE_MODIFIED (FILE_TRUNC: size shrank)
 *   IN_ATTRIB -> FILE_ATTRIB    directory entries changed -> FILE_MODIFIED
 *   IN_MOVE_SELF -> FILE_RENAME_FROM;  IN_UNMOUNT -> UNMOUNTED;  IN_DELETE_SELF -> FILE_DELETE
 *   a link went (the link count fell, an IN_ATTRIB): the name is looked up
 *     (src-file-name.ts): gone -> FILE_DELETE; another file's -> FILE_RENAME_TO
 *     (renamed onto); still ours -> nothing (another name of the file went)
 *
 * MOUNTEDOVER has no inotify counterpart and is never reported.
 *
 * ---- States (fa_state), all under the port-file lock (F) -------------------
 *
 *   from     to       by
 *   (free)   WATCH    port_associate (hashed; an event at once if a time differs)
 *   WATCH    FIRED    an event: slot queued; the O_PATH fd closed, the watcher
 *                     kept, deaf (the consumer acts on WATCH only), unless
 *                     it fired at association (times differ): let go then
 *   FIRED    WATCH    port_associate again (the queued event withdrawn with
 *                     its slot, perhaps in a getter's hands, and a fresh one
 *                     reserved in its place; the new watcher held before the
 *                     old is let go)
 *   FIRED    DONE     its event delivered (deliver callback): unhashed, on the
 *                     reap list until the slot is back from the getter (a
 *                     callback may not free its own slot)
 *   any      (free)   port_dissociate, close of the port, the reaper (run by
 *                     every associate after it armed, so a getter that
 *                     associates the same file again keeps its host watch,
 *                     and by dissociate); each lets go of watcher and fd
 *
 * Lock order: F, then the port lock (queueing, withdrawing, freeing slots)
 * or the inotify lock (watching); the deliver callback and the consumer
 * take F with no lock held.
 */
import { I32, F64, define_struct, kcache_create, kregion_create } from '../kern/kmem.js';
import { SList } from '../kern/queue.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { mutex_class } from '../kern/lockdebug.js';
import { define_tunable } from '../kern/options.js';
import { fail, type ErrnoCode } from '../kern/errno.js';
import { arg_type, type FileObjCopy } from '../kern/copyin.js';
import { kstat_gauge } from '../kern/kstat.js';
import * as ix from '../intr/kapi.js';
import { E, P, ST_MASK, ST_RESERVED } from './mem.js';
import {
  port_source_register, port_alloc_event, port_init_event, port_set_event, port_send_event, port_free_event,
  port_event_fd,
} from './source.js';
import {
  PORT_SOURCE_FILE, PORT_ALLOC_SCACHED, FILE_ACCESS, FILE_MODIFIED, FILE_ATTRIB, FILE_TRUNC, FILE_NOFOLLOW,
  FILE_DELETE, FILE_RENAME_FROM, FILE_RENAME_TO, UNMOUNTED, FILE_EXCEPTION,
} from './consts.js';
import { fname_set, fname_check, NAME_GONE, NAME_OTHER, NAME_UNKNOWN } from './src-file-name.js';

declare module '../kern/options.js' {
  interface BootOptions {
    /** PORT_SOURCE_FILE associations at once (default 4096); beyond is EAGAIN. */
    port_file_max?: number;
  }
}
define_tunable('port_file_max', 4096, 16, 1 << 20);

/** struct fassoc. `[key]`: legend in kern/lockorder.ts. */
const FASSOC = define_struct('fassoc', {
  hnext: 'i32',  // [F] hash chain, or the reap list once DONE (word 0: the cache's free link)
  state: 'i32',  // [F] FA_* (0 while free)
  port: 'i32',   // [F] the port's descriptor
  oid: 'i32',    // [F] the object's id
  slot: 'i32',   // [F] the reserved event slot
  w: 'i32',      // [F] the inotify watcher (0 once fired)
  pfd: 'i32',    // [F] the O_PATH descriptor + 1 (0 once fired)
  events: 'i32', // [F] the events asked for
  nlink: 'i32',  // [F] the link count at the last look
  inoLo: 'i32', inoHi: 'i32', devMajor: 'i32', devMinor: 'i32', // [F] the file's identity (is the name still it?)
  size: 'f64',   // [F] the size at the last look (kept only while FILE_TRUNC is asked)
});
const A = FASSOC.F;
const FA_WATCH = 1, FA_FIRED = 2, FA_DONE = 3;
const assocs = kcache_create('fassoc', FASSOC, (t) => t.port_file_max!);
function nbuckets(max: number): number { let n = 64; while (n < max) n *= 2; return n; }
const region = kregion_create('portfile', (t) => W_BUCKETS + nbuckets(t.port_file_max!));
const W_LOCK = 0, W_OID = 1, W_REAP = 2, W_BUCKETS = 4;
mutex_class('portfile', region, { words: 1 });
const lockw = (): number => region.base + W_LOCK;
const bucket = (port: number, oid: number): number =>
  region.base + W_BUCKETS + ((Math.imul(port, 0x9e3779b1) ^ oid) & (region.words - W_BUCKETS - 1));
kstat_gauge('port', 'file_assocs', () => assocs.inuse);

// ---------------------------------------------------------------- objects

/**
 * This thread's file_obj_t objects: ids by object, and objects by id while
 * an association of theirs may still deliver. The objects are held
 * strongly, as the associations' events need them: a WeakRef (what this
 * table was) keeps its target alive until the thread's next microtask
 * checkpoint anyway (the constructor and every deref do, by the language's
 * rules), so an LWP that associates and takes in a loop that never returns
 * to its event loop kept every object it ever associated (measured: ~8 KiB
 * a turn for objects of 8 KiB, 20 000 turns, 169 MiB live after a full
 * collection). Instead the table is swept against kernel memory each time
 * it has doubled since the last sweep: an id with no association left in
 * WATCH or FIRED can deliver no more (only this thread makes associations
 * of its objects; other threads only end them), so its object goes.
 */
const oids = new WeakMap<object, number>();
const held = new Map<number, object>();
/** held's size that makes the next associate sweep it. */
let sweepAt = 64;

/** The object's id, made (kernel-wide unique) the first time this thread sees it; the object held for its association's events. */
function oid_of(ref: object): number {
  let o = oids.get(ref);
  if (o === undefined) {
    o = (Atomics.add(I32, region.base + W_OID, 1) + 1) & 0x7fffffff;
    oids.set(ref, o);
  }
  if (held.size >= sweepAt) held_sweep();
  held.set(o, ref);
  return o;
}

const liveOids = new Set<number>();
/** Lets go of the objects whose ids no association can deliver any more (takes F). */
function held_sweep(): void {
  mutex_enter(lockw());
  for (let i = 0; i < assocs.count; i++) {
    const a = assocs.handle(i), st = I32[a + A.state]!;
    if (st === FA_WATCH || st === FA_FIRED) liveOids.add(I32[a + A.oid]!);
  }
  mutex_exit(lockw());
  for (const o of held.keys()) if (!liveOids.has(o)) held.delete(o);
  liveOids.clear();
  sweepAt = Math.max(64, 2 * held.size);
}

/** The id an object argument names: a file_obj_t this thread knows (or 0), or the id given. */
function oid_arg(object: number | FileObjCopy): number {
  if (typeof object === 'number') return Number.isInteger(object) && object > 0 && object <= 0x7fffffff ? object : 0;
  return oids.get(object.ref) ?? 0;
}

// ---------------------------------------------------------------- table (F held)

const CHAIN = new SList(A.hnext);
function lookup(port: number, oid: number): number {
  let a = CHAIN.first(bucket(port, oid));
  while (a !== 0 && !(I32[a + A.port] === port && I32[a + A.oid] === oid)) a = CHAIN.after(a);
  return a;
}
function unhash(a: number): void { CHAIN.remove(bucket(I32[a + A.port]!, I32[a + A.oid]!), a); }
/** Lets go of the watcher and the O_PATH descriptor, if still held. */
function unwatch(a: number): void {
  const w = I32[a + A.w]!, pfd = I32[a + A.pfd]!;
  if (w !== 0) { ix.ino_rele(w); I32[a + A.w] = 0; }
  if (pfd !== 0) { ix.os_close_fd(pfd - 1); I32[a + A.pfd] = 0; }
}
/** Ends an association that is not DONE: unhashed, its slot freed (withdrawn if queued). */
function destroy(a: number): void {
  unwatch(a);
  unhash(a);
  port_free_event(I32[a + A.slot]!);
  I32[a + A.state] = 0;
  assocs.free(a);
}
/**
 * Frees the DONE associations whose slot came back from its getter; `port`
 * >= 0: also every one of that port. `others` false: only that port's (see
 * closed()).
 */
function reap(port: number, others = true): void {
  let p = 0;
  for (let a = I32[region.base + W_REAP]!; a !== 0;) {
    const next = I32[a + A.hnext]!, slot = I32[a + A.slot]!;
    if (I32[a + A.port] === port || (others && (Atomics.load(I32, slot + E.st) & ST_MASK) === ST_RESERVED)) {
      if (p === 0) I32[region.base + W_REAP] = next; else I32[p + A.hnext] = next;
      unwatch(a);
      port_free_event(slot);
      I32[a + A.state] = 0;
      assocs.free(a);
    } else p = a;
    a = next;
  }
}

/**
 * Queues the association's event (WATCH -> FIRED). The watcher stays (deaf:
 * the consumer acts on WATCH only) until the association is armed again or
 * reaped: letting go here put inotify_rm_watch on the getter's path (tens
 * of microseconds: the host tears the watch down and queues an IN_IGNORED,
 * a second pass of the intr thread, while the woken getter wants the CPU),
 * and a getter that associates the file again at once re-added the very
 * watch. The consumer closes the O_PATH descriptor after F (below): a kept
 * descriptor would keep an unlinked file's blocks.
 */
function fire(a: number, events: number): void {
  I32[a + A.state] = FA_FIRED;
  port_set_event(I32[a + A.slot]!, events);
  port_send_event(I32[a + A.slot]!);
}

// ---------------------------------------------------------------- mapping

const f = ix.inof;
const DIRENTS = f.IN_CREATE | f.IN_DELETE | f.IN_MOVED_FROM | f.IN_MOVED_TO;
/** The IN_* bits an association asks the host for. */
function host_mask(events: number): number {
  let m = f.IN_ATTRIB | f.IN_DELETE_SELF | f.IN_MOVE_SELF; // the exceptions (a link count is an IN_ATTRIB)
  if ((events & FILE_ACCESS) !== 0) m |= f.IN_ACCESS;
  if ((events & (FILE_MODIFIED | FILE_TRUNC)) !== 0) m |= f.IN_MODIFY | DIRENTS;
  return m;
}

/** The events the host's bits and a fresh look at the file say happened (F held). */
function events_of(a: number, m: number): number {
  const want = I32[a + A.events]! | FILE_EXCEPTION;
  let ev = 0;
  if ((m & f.IN_ACCESS) !== 0) ev |= FILE_ACCESS;
  if ((m & (f.IN_MODIFY | DIRENTS)) !== 0) ev |= FILE_MODIFIED;
  if ((m & f.IN_ATTRIB) !== 0) ev |= FILE_ATTRIB;
  if ((m & f.IN_DELETE_SELF) !== 0) ev |= FILE_DELETE;
  if ((m & f.IN_MOVE_SELF) !== 0) ev |= FILE_RENAME_FROM;
  if ((m & f.IN_UNMOUNT) !== 0) ev |= UNMOUNTED;
  // A fresh look only when it can change the answer: a link count falls
  // with an IN_ATTRIB, and only FILE_TRUNC needs the size. A plain append
  // (IN_MODIFY, no FILE_TRUNC asked) fires without a host call.
  const look = (m & f.IN_ATTRIB) !== 0 || ((m & f.IN_MODIFY) !== 0 && (want & FILE_TRUNC) !== 0);
  const pfd = I32[a + A.pfd]!;
  if (look && pfd !== 0 && f.os_fstat_ext(pfd - 1) === 0) {
    const nlink = f.xst.nlink, was = I32[a + A.nlink]!;
    if ((m & f.IN_MODIFY) !== 0 && f.xst.size < F64[(a + A.size) >> 1]!) ev |= FILE_TRUNC;
    I32[a + A.nlink] = nlink;
    F64[(a + A.size) >> 1] = f.xst.size;
    if (nlink < was) ev |= name_event(a, nlink);
  }
  return ev & want;
}

/** A link went: what became of the watched name (gone: FILE_DELETE; another file's: FILE_RENAME_TO). */
function name_event(a: number, nlink: number): number {
  const id = [I32[a + A.inoLo]!, I32[a + A.inoHi]!, I32[a + A.devMajor]!, I32[a + A.devMinor]!] as const;
  const r = fname_check(assocs.index(a), (I32[a + A.events]! & FILE_NOFOLLOW) !== 0, id);
  if (r === NAME_GONE) return FILE_DELETE;
  if (r === NAME_OTHER) return FILE_RENAME_TO;
  return r === NAME_UNKNOWN && nlink === 0 ? FILE_DELETE : 0;
}

/** The events due at once: the times given differ from the file's (f.xst holds its fstat). */
function times_differ(o: FileObjCopy, events: number): number {
  const x = f.xst;
  let ev = 0;
  if ((events & FILE_ACCESS) !== 0 && (o.fo_atime.tv_sec !== x.atimeSec || o.fo_atime.tv_nsec !== x.atimeNsec)) ev |= FILE_ACCESS;
  if ((events & FILE_MODIFIED) !== 0 && (o.fo_mtime.tv_sec !== x.mtimeSec || o.fo_mtime.tv_nsec !== x.mtimeNsec)) ev |= FILE_MODIFIED;
  if ((events & FILE_ATTRIB) !== 0 && (o.fo_ctime.tv_sec !== x.ctimeSec || o.fo_ctime.tv_nsec !== x.ctimeNsec)) ev |= FILE_ATTRIB;
  return ev;
}

// ---------------------------------------------------------------- the calls

const EVENTS = FILE_ACCESS | FILE_MODIFIED | FILE_ATTRIB | FILE_TRUNC | FILE_NOFOLLOW | FILE_EXCEPTION;
const PATH_ERRNO: Readonly<Record<string, ErrnoCode>> = { 2: 'ENOENT', 13: 'EACCES', 20: 'ENOTDIR', 40: 'ELOOP', 36: 'ENAMETOOLONG', 24: 'EMFILE', 23: 'EMFILE', 12: 'ENOMEM' };

/** Opens and looks at fo_name (no lock): the O_PATH descriptor; f.xst filled. Throws the path's errno. */
function open_obj(o: FileObjCopy, events: number): number {
  const pfd = ix.inof.os_open_path(o.fo_name, (events & FILE_NOFOLLOW) !== 0);
  if (pfd < 0) fail(PATH_ERRNO[ix.os_errno()] ?? 'EIO', 'port_associate', o.fo_name);
  if (f.os_fstat_ext(pfd) < 0) { ix.os_close_fd(pfd); fail('EIO', 'port_associate', o.fo_name); }
  return pfd;
}

/** Installs the new descriptor, watcher and state in association a (F held; f.xst: the file's fstat); 0 or an errno. */
function arm(a: number, pfd: number, o: Assoc): ErrnoCode | 0 {
  const { events, user, oid } = o;
  const x = f.xst;
  I32[a + A.inoLo] = x.inoLo; I32[a + A.inoHi] = x.inoHi; I32[a + A.devMajor] = x.devMajor; I32[a + A.devMinor] = x.devMinor;
  fname_set(assocs.index(a), o.name);
  // Hold the new watcher before the old goes: the same file keeps its host
  // watch, and the hold joins it by the file's identity (no host call).
  let err = ix.ino_hold(pfd, host_mask(events), ix.INO_PORT, a, x);
  if (err === 'ENOMEM') {
    // Full: delivered associations keep their watchers until reaped (fire).
    reap(-1); unwatch(a);
    err = ix.ino_hold(pfd, host_mask(events), ix.INO_PORT, a, x);
  }
  unwatch(a);
  I32[a + A.pfd] = pfd + 1;
  if (err !== 0) return err;
  I32[a + A.w] = ix.ino_held.w;
  I32[a + A.events] = events; I32[a + A.state] = FA_WATCH;
  I32[a + A.nlink] = f.xst.nlink; F64[(a + A.size) >> 1] = f.xst.size;
  port_init_event(I32[a + A.slot]!, oid, user, a, true);
  return 0;
}

/** What one port_associate asks for, copied in and looked up before the lock. */
interface Assoc { port: number; oid: number; pfd: number; events: number; user: number; now: number; spare: number; name: string }

function associate(port: number, object: FileObjCopy, events: number, user: number): void {
  if ((events & ~EVENTS) !== 0) fail('EINVAL', 'port_associate', `file events ${events}`);
  if (!ix.inof.ino_available()) fail('EOPNOTSUPP', 'port_associate', 'no inotify on this host');
  const oid = oid_of(object.ref);
  const pfd = open_obj(object, events);
  const now = times_differ(object, events);
  let spare: number;
  try { spare = port_alloc_event(port, PORT_ALLOC_SCACHED, PORT_SOURCE_FILE, 'port_associate'); } catch (e) { ix.os_close_fd(pfd); throw e; }
  const h = I32[spare + E.port]!;
  const err = associate_locked({ port, oid, pfd, events, user, now, spare, name: object.fo_name });
  ix.ino_flush(); // what joining a kept or shared watch read for its other watchers
  if (err !== 0) fail(err, 'port_associate', object.fo_name);
  // Its getters wait in the host on the epoll set (getn.ts): one hop from inotify.
  Atomics.store(I32, h + P.hostset, 1);
  ix.intr_thread_start();
}

/** A free association, reaping the delivered ones first if the table is full (F held); 0 when none. */
function alloc_reaping(): number {
  const a = assocs.alloc();
  if (a !== 0) return a;
  reap(-1);
  return assocs.alloc();
}

/** The locked part of port_associate: finds or makes the association and arms it. Frees `spare` unless used. */
function associate_locked(o: Assoc): ErrnoCode | 0 {
  const { port, oid, pfd, spare } = o;
  mutex_enter(lockw());
  // The reaper runs after arming (below): the association this one follows
  // (same file, delivered) then gives its watch to it instead of removing it.
  let a = lookup(port, oid), fresh = false, swap = false;
  if (a !== 0) {
    // A fired one's event is withdrawn with its slot, and the spare takes
    // its place: the slot may be in a getter's hands (taken, not settled),
    // where a withdraw only marks it, and its sends are refused until the
    // getter settles it: the new association's event (at once when a time
    // differs, or the host's next) was lost, and the getter's delivery of
    // the old one ended the new association. The getter frees the old slot.
    if (I32[a + A.state] === FA_FIRED) { port_free_event(I32[a + A.slot]!); I32[a + A.slot] = spare; swap = true; }
  } else if ((a = alloc_reaping()) !== 0) {
    fresh = true;
    I32[a + A.port] = port; I32[a + A.oid] = oid; I32[a + A.slot] = spare;
    CHAIN.insert_head(bucket(port, oid), a);
  }
  let err: ErrnoCode | 0 = a === 0 ? 'EAGAIN' : arm(a, pfd, o);
  // A port closed meanwhile has run its close hook already: undo.
  if (err === 0 && port_event_fd(I32[a + A.slot]!) !== port) err = 'EBADF';
  if (err !== 0 && a !== 0) destroy(a); // a fresh or fired one's slot is spare: freed with it
  else if (err === 0 && o.now !== 0) { fire(a, o.now); unwatch(a); } // nobody waits: no watch kept
  if (a === 0) ix.os_close_fd(pfd);
  if (!fresh && !swap) port_free_event(spare);
  reap(-1);
  mutex_exit(lockw());
  return err;
}

function dissociate(port: number, object: number | FileObjCopy): void {
  const oid = oid_arg(object);
  mutex_enter(lockw());
  reap(-1);
  const a = oid === 0 ? 0 : lookup(port, oid);
  if (a !== 0) destroy(a);
  mutex_exit(lockw());
  if (a === 0) fail('ENOENT', 'port_dissociate', 'not associated');
}

/**
 * The port is being closed: every association with it goes. Every port's
 * close runs this, also one that never had a PORT_SOURCE_FILE association,
 * in a thread that may not have loaded the host calls (port_close loads
 * them only for a port that had OS sources): such a thread leaves the other
 * ports' delivered associations to the next reaper, since letting one go
 * removes its inotify watch, a host call, which loaded koffi with F held
 * (a LOCKDEBUG panic in port-file-threads' stress, once in a CI run).
 */
function closed(port: number): void {
  mutex_enter(lockw());
  reap(port, ix.intr_host_loaded());
  for (let i = 0; i < assocs.count; i++) {
    const a = assocs.handle(i);
    const st = I32[a + A.state]!;
    if ((st === FA_WATCH || st === FA_FIRED) && I32[a + A.port] === port) destroy(a);
  }
  mutex_exit(lockw());
}

port_source_register(PORT_SOURCE_FILE, {
  name: 'file',
  associate(port) { arg_type('port_associate', `a PORT_SOURCE_FILE object must be a file_obj_t (port ${port})`); },
  associate_obj: associate,
  dissociate: (port, oid) => dissociate(port, oid),
  dissociate_obj: dissociate,
  closed,
  deliver(d) {
    // The event is being retrieved: the association ends (illumos: dissociated once delivered).
    const a = d.arg;
    mutex_enter(lockw());
    if (assocs.index(a) >= 0 && I32[a + A.state] === FA_FIRED && I32[a + A.slot] === d.slot) {
      unhash(a);
      I32[a + A.state] = FA_DONE;
      CHAIN.insert_head(region.base + W_REAP, a); // the reap list: the same link, reused
    }
    mutex_exit(lockw());
    return true;
  },
  object(oid) { return held.get(oid) ?? oid; },
});

// The host's events on an association's file (the intr thread, no lock held).
// A firing association keeps its watcher (fire says why) but not its descriptor.
ix.ino_add_consumer(ix.INO_PORT, (a, w, gen, mask) => {
  mutex_enter(lockw());
  let n = 0, pfd = 0;
  if (I32[a + A.state] === FA_WATCH && I32[a + A.w] === w && ix.ino_gen(w) === gen) {
    const ev = events_of(a, mask);
    if (ev !== 0) { fire(a, ev); n = 1; pfd = I32[a + A.pfd]!; I32[a + A.pfd] = 0; }
  }
  mutex_exit(lockw());
  if (pfd !== 0) ix.os_close_fd(pfd - 1); // off the association under F: nobody else has it
  return n;
});
