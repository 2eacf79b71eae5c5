/**
 * The host calls the intr subsystem makes, through this thread's libc
 * (kern/libc.ts: koffi, lazily, once per thread, null where it cannot). Node exposes
 * none of these without an event loop in the way: epoll (the intr thread
 * blocks in epoll_wait itself, running no JS meanwhile), poll(2) with a zero
 * timeout and FIONREAD / SIOCOUTQ for a descriptor's readiness and `data`,
 * statx for an open file's identity (arch-independent layout, unlike struct
 * stat), lseek for a regular file's offset, getsockopt for socket kind,
 * error and a TCP listener's backlog, sock_diag for a Unix listener's,
 * close(2).
 *
 * Every function returns a number and never throws (they run under kernel
 * locks); -1 means failure and os_errno() says why. Buffers are per thread:
 * each thread has its own copy of this module.
 */
import { libc_binder, host_enter, host_leave } from '../kern/libc.js';

const bind = libc_binder({
  epoll_create1: 'int epoll_create1(int)',
  epoll_ctl: 'int epoll_ctl(int, int, int, void *)',
  epoll_wait: 'int epoll_wait(int, void *, int, int)',
  eventfd: 'int eventfd(unsigned int, int)',
  read: 'long read(int, void *, unsigned long)',
  poll: 'int poll(void *, unsigned long, int)',
  ppoll: 'int ppoll(void *, unsigned long, void *, void *)',
  ioctl: 'int ioctl(int, unsigned long, void *)',
  // The path as a pointer (to a zero byte: AT_EMPTY_PATH), not a string:
  // a string argument is encoded anew at every call (statx is on the
  // per-event path of every OS knote: the identity check).
  statx: 'int statx(int, void *, int, unsigned int, void *)',
  lseek: 'long lseek(int, long, int)',
  getsockopt: 'int getsockopt(int, int, int, void *, void *)',
  fcntl: 'int fcntl(int, int, int)',
  close: 'int close(int)',
  clock_gettime: 'int clock_gettime(int, void *)',
  gettid: 'int gettid()',
});
let libc: ReturnType<typeof bind> | undefined;
function load(): ReturnType<typeof bind> { return libc ??= bind(); }

/** True when the host calls are usable in this thread. */
export function os_available(): boolean { return load() !== null; }
/** True when this thread has loaded the host calls already (never loads them). */
export function os_loaded(): boolean { return libc !== undefined && libc !== null; }
/** errno of the last failed call in this thread. */
export function os_errno(): number { return libc?.errno() ?? 0; }

// ---------------------------------------------------------------- epoll

export const EPOLLIN = 0x001, EPOLLPRI = 0x002, EPOLLOUT = 0x004, EPOLLERR = 0x008, EPOLLHUP = 0x010;
export const EPOLLRDHUP = 0x2000, EPOLLET = 0x80000000;
const EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
const EPOLL_CLOEXEC = 0o2000000, EFD_CLOEXEC = 0o2000000;
/** struct epoll_event: packed (12 bytes) on x86-64, naturally aligned (16) elsewhere. */
export const EPOLL_EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
const DATA_OFF = process.arch === 'x64' ? 4 : 8;

const ev1 = new DataView(new ArrayBuffer(16));
const ev1bytes = new Uint8Array(ev1.buffer);

export function os_epoll_create(): number { return load()!.epoll_create1(EPOLL_CLOEXEC) as number; }
export function os_eventfd(): number { return load()!.eventfd(0, EFD_CLOEXEC) as number; }

/** epoll_ctl ADD (mod false) or MOD of fd with `events` and the 64-bit data (lo, hi). */
export function os_epoll_set(ep: number, fd: number, events: number, lo: number, hi: number, mod: boolean): number {
  ev1.setUint32(0, events >>> 0, true);
  ev1.setUint32(DATA_OFF, lo >>> 0, true);
  ev1.setUint32(DATA_OFF + 4, hi >>> 0, true);
  return load()!.epoll_ctl(ep, mod ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, ev1bytes) as number;
}
export function os_epoll_del(ep: number, fd: number): number {
  return load()!.epoll_ctl(ep, EPOLL_CTL_DEL, fd, ev1bytes) as number;
}

/** A buffer of n epoll events and readers of its entries. */
export class EpollEvents {
  readonly bytes: Uint8Array;
  private readonly v: DataView;
  constructor(readonly n: number) {
    this.bytes = new Uint8Array(n * EPOLL_EVENT_SIZE);
    this.v = new DataView(this.bytes.buffer);
  }
  events(i: number): number { return this.v.getUint32(i * EPOLL_EVENT_SIZE, true); }
  lo(i: number): number { return this.v.getUint32(i * EPOLL_EVENT_SIZE + DATA_OFF, true); }
  hi(i: number): number { return this.v.getUint32(i * EPOLL_EVENT_SIZE + DATA_OFF + 4, true); }
}
/** epoll_wait, blocking for `ms` (-1: until an event). */
export function os_epoll_wait(ep: number, buf: EpollEvents, ms: number): number {
  if (ms === 0) return load()!.epoll_wait(ep, buf.bytes, buf.n, 0) as number;
  // A wait termination cannot interrupt: counted for the process's exit (kern/libc.ts host_enter).
  const g = host_enter();
  if (g < 0) return 0;
  const r = load()!.epoll_wait(ep, buf.bytes, buf.n, ms) as number;
  host_leave(g);
  return r;
}

const u64 = new Uint8Array(8);
/** Reads (and so resets) an eventfd's counter, or a timerfd's expirations. */
export function os_eventfd_drain(fd: number): number { return load()!.read(fd, u64, 8) as number; }

// A one-shot monotonic timer as a descriptor (the intr thread's linger
// window: intr.ts). Bound apart from the rest, so that a host without it
// only goes without the linger.
const bindTimer = libc_binder({
  timerfd_create: 'int timerfd_create(int, int)',
  timerfd_settime: 'int timerfd_settime(int, int, void *, void *)',
});
const CLOCK_MONOTONIC = 1, TFD_NONBLOCK = 0o4000, TFD_CLOEXEC = 0o2000000;
const its = new BigInt64Array(4); // struct itimerspec: it_interval, it_value
/** A non-blocking monotonic timerfd, or -1. */
export function os_timerfd(): number {
  const t = load() === null ? null : bindTimer();
  return t === null ? -1 : t.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC) as number;
}
/** Arms timerfd fd to expire once, ns from now (at least 1 ns: 0 would disarm it). 0 or -1. */
export function os_timerfd_arm(fd: number, ns: number): number {
  const t = bindTimer();
  if (t === null) return -1;
  const n = Math.max(1, Math.ceil(ns));
  its[0] = 0n; its[1] = 0n;
  its[2] = BigInt(Math.floor(n / 1e9)); its[3] = BigInt(n % 1e9);
  return t.timerfd_settime(fd, 0, its, null) as number;
}
/** Adds 1 to an eventfd's counter (a new edge for the epoll set): kern/host.ts eventfd_ring, no FFI. */
export { eventfd_ring as os_eventfd_ring } from '../kern/host.js';

// ---------------------------------------------------------------- readiness

export const POLLIN = 0x001, POLLPRI = 0x002, POLLOUT = 0x004, POLLERR = 0x008, POLLHUP = 0x010, POLLNVAL = 0x020;
export const POLLRDHUP = 0x2000;
const pfd = new DataView(new ArrayBuffer(8));
const pfdBytes = new Uint8Array(pfd.buffer);
/** poll(2) of one descriptor without waiting: its revents, or -1. */
export function os_poll(fd: number, events: number): number {
  pfd.setInt32(0, fd, true);
  pfd.setInt16(4, events, true);
  pfd.setInt16(6, 0, true);
  const r = load()!.poll(pfdBytes, 1, 0) as number;
  return r < 0 ? -1 : pfd.getUint16(6, true);
}

// A sleeper's wait in the host (ports/hostwait.ts): one descriptor and the
// thread's kick eventfd, with a nanosecond timeout.
const pfd2 = new DataView(new ArrayBuffer(16));
const pfd2Bytes = new Uint8Array(pfd2.buffer);
const tmo = new DataView(new ArrayBuffer(16));
const tmoBytes = new Uint8Array(tmo.buffer);
/** The timeout argument of ppoll and epoll_pwait2 for ns (null: no limit), in this thread's one struct timespec. */
function timespec(ns: number): Uint8Array | null {
  if (ns === Infinity) return null;
  const n = Math.max(0, Math.ceil(ns));
  tmo.setBigInt64(0, BigInt(Math.floor(n / 1e9)), true);
  tmo.setBigInt64(8, BigInt(n % 1e9), true);
  return tmoBytes;
}
/** ppoll(2) result bits of {@link os_wait2}. */
export const W2_FD = 1, W2_KICK = 2;
/**
 * Blocks in ppoll(2) until `fd` is ready for `events` (or has an error or a
 * hang-up), `kick` is readable, or `ns` passed (Infinity: no limit). Returns
 * W2_FD | W2_KICK bits (0: the timeout, or a signal), or -1.
 */
export function os_wait2(fd: number, events: number, kick: number, ns: number): number {
  pfd2.setInt32(0, fd, true); pfd2.setInt16(4, events, true); pfd2.setInt16(6, 0, true);
  pfd2.setInt32(8, kick, true); pfd2.setInt16(12, POLLIN, true); pfd2.setInt16(14, 0, true);
  const t = timespec(ns);
  // A wait termination cannot interrupt: counted for the process's exit (kern/libc.ts host_enter;
  // the kick, which the exit rings, was made before: intr/kick.ts).
  const g = host_enter();
  if (g < 0) return 0;
  const r = load()!.ppoll(pfd2Bytes, 2, t, null) as number;
  host_leave(g);
  if (r < 0) return os_errno() === 4 /* EINTR */ ? 0 : -1;
  w2Revents = pfd2.getUint16(6, true);
  return (w2Revents !== 0 ? W2_FD : 0) | (pfd2.getInt16(14, true) !== 0 ? W2_KICK : 0);
}
let w2Revents = 0;
/** The descriptor's revents from the last {@link os_wait2} that returned. */
export function os_wait2_revents(): number { return w2Revents; }

// epoll_pwait2 (Linux 5.11, glibc 2.35): epoll_wait with a nanosecond
// timeout, for a sleeper whose wait on the kernel's set is also its take
// (hostwait.ts). Bound apart: a host without it keeps ppoll and a take.
const bindPwait2 = libc_binder({ epoll_pwait2: 'int epoll_pwait2(int, void *, int, void *, void *)' });
let pwait2Ok: boolean | undefined;
/** Whether {@link os_epoll_wait_ns} works here (asked once per thread: an ENOSYS kernel says no). */
export function os_epoll_pwait2_ok(ep: number): boolean {
  if (pwait2Ok !== undefined) return pwait2Ok;
  const b = load() === null ? null : bindPwait2();
  pwait2Ok = false;
  if (b === null) return false;
  // maxevents 0 is EINVAL where the call exists (checked before anything
  // is taken), ENOSYS where it does not.
  pwait2Ok = (b.epoll_pwait2(ep, probeBuf, 0, null, null) as number) < 0 && b.errno() === 22 /* EINVAL */;
  return pwait2Ok;
}
const probeBuf = new Uint8Array(16);
/**
 * epoll_pwait2: blocks up to `ns` (Infinity: no limit) for events of set
 * `ep`, which it takes into buf. Returns how many (0: the time passed, or a
 * signal), or -1. Only after {@link os_epoll_pwait2_ok} said yes.
 */
export function os_epoll_wait_ns(ep: number, buf: EpollEvents, ns: number): number {
  const t = timespec(ns);
  // A wait termination cannot interrupt: counted for the process's exit (kern/libc.ts host_enter).
  const g = host_enter();
  if (g < 0) return 0;
  const r = bindPwait2()!.epoll_pwait2(ep, buf.bytes, buf.n, t, null) as number;
  host_leave(g);
  if (r < 0) return os_errno() === 4 /* EINTR */ ? 0 : -1;
  return r;
}

const intOut = new Int32Array(1);
export const FIONREAD = 0x541b, SIOCOUTQ = 0x5411;
/** An int-valued ioctl (FIONREAD, SIOCOUTQ): the value, or -1. */
export function os_ioctl_int(fd: number, req: number): number {
  intOut[0] = 0;
  return (load()!.ioctl(fd, req, intOut) as number) < 0 ? -1 : intOut[0]!;
}

const F_GETPIPE_SZ = 1032;
/** A pipe's capacity in bytes, or -1. */
export function os_pipe_size(fd: number): number { return load()!.fcntl(fd, F_GETPIPE_SZ, 0) as number; }

const SEEK_CUR = 1;
/** The file offset, or -1. */
export function os_offset(fd: number): number { return Number(load()!.lseek(fd, 0, SEEK_CUR) as number | bigint); }

export const SOL_SOCKET = 1, SO_TYPE = 3, SO_ERROR = 4, SO_SNDBUF = 7, SO_ACCEPTCONN = 30;
/** SO_TYPE's answer for a stream socket (TCP, AF_UNIX SOCK_STREAM). */
export const SOCK_STREAM = 1;
export const IPPROTO_TCP = 6, TCP_INFO = 11, SO_PROTOCOL = 38;
const optlen = new Uint32Array(1);
/** getsockopt of an int option: the value, or -1. */
export function os_sockopt_int(fd: number, level: number, opt: number): number {
  intOut[0] = 0; optlen[0] = 4;
  return (load()!.getsockopt(fd, level, opt, intOut, optlen) as number) < 0 ? -1 : intOut[0]!;
}
const tcpInfo = new Uint32Array(64);
/** A listening TCP socket's accept queue length (tcp_info's tcpi_unacked), or -1. */
export function os_tcp_backlog(fd: number): number {
  optlen[0] = tcpInfo.byteLength;
  if ((load()!.getsockopt(fd, IPPROTO_TCP, TCP_INFO, tcpInfo, optlen) as number) < 0) return -1;
  return tcpInfo[6]!; // byte offset 24: 8 one-byte fields, then rto, ato, snd_mss, rcv_mss, unacked
}

/*
 * A listening AF_UNIX socket's accept queue, which neither FIONREAD nor
 * TCP_INFO answers: Linux's sock_diag (a netlink socket, unix_diag's
 * UNIX_DIAG_RQLEN, as ss(8) asks it), one request by the socket's inode.
 * The answer is made within the send, so the receive does not wait (nor
 * block: MSG_DONTWAIT). The netlink socket is made and closed per call: a
 * per-thread one would outlive its thread (descriptors are the process's),
 * one per LWP worker that ever asked; this is the rare path of a Unix
 * listener's event. Bound apart: a host without unix_diag reports 1 for
 * such a socket, as before.
 */
const bindDiag = libc_binder({
  socket: 'int socket(int, int, int)',
  send: 'long send(int, void *, unsigned long, int)',
  recv: 'long recv(int, void *, unsigned long, int)',
});
const AF_NETLINK = 16, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0o2000000, NETLINK_SOCK_DIAG = 4, MSG_DONTWAIT = 0x40;
const SOCK_DIAG_BY_FAMILY = 20, NLM_F_REQUEST = 1, AF_UNIX = 1, TCP_LISTEN = 10;
const UDIAG_SHOW_RQLEN = 0x10, UNIX_DIAG_RQLEN = 4;
/** nlmsghdr (16 bytes) + unix_diag_req (24). */
const diagReq = new DataView(new ArrayBuffer(40));
const diagReqBytes = new Uint8Array(diagReq.buffer);
const diagResp = new DataView(new ArrayBuffer(512));
const diagRespBytes = new Uint8Array(diagResp.buffer);
/** The number of connections waiting to be accepted on the listening AF_UNIX socket of inode `ino`, or -1. */
export function os_unix_backlog(ino: number): number {
  const d = load() === null ? null : bindDiag();
  if (d === null) return -1;
  const fd = d.socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG) as number;
  if (fd < 0) return -1;
  try {
    diagReq.setUint32(0, 40, true);                       // nlmsg_len
    diagReq.setUint16(4, SOCK_DIAG_BY_FAMILY, true);      // nlmsg_type
    diagReq.setUint16(6, NLM_F_REQUEST, true);            // nlmsg_flags
    diagReq.setUint32(8, 1, true);                        // nlmsg_seq
    diagReq.setUint32(12, 0, true);                       // nlmsg_pid
    diagReq.setUint8(16, AF_UNIX);                        // sdiag_family
    diagReq.setUint8(17, 0); diagReq.setUint16(18, 0, true);
    diagReq.setUint32(20, 1 << TCP_LISTEN, true);         // udiag_states
    diagReq.setUint32(24, ino >>> 0, true);               // udiag_ino
    diagReq.setUint32(28, UDIAG_SHOW_RQLEN, true);        // udiag_show
    diagReq.setUint32(32, 0xffffffff, true);              // udiag_cookie: none
    diagReq.setUint32(36, 0xffffffff, true);
    if (Number(d.send(fd, diagReqBytes, 40, 0) as number | bigint) !== 40) return -1;
    const n = Number(d.recv(fd, diagRespBytes, diagRespBytes.byteLength, MSG_DONTWAIT) as number | bigint);
    if (n < 32 || diagResp.getUint16(4, true) !== SOCK_DIAG_BY_FAMILY) return -1; // NLMSG_ERROR: no such listening socket
    const len = Math.min(n, diagResp.getUint32(0, true));
    // unix_diag_msg (16 bytes), then the attributes (rtattr: len, type; 4-aligned).
    for (let off = 32; off + 4 <= len;) {
      const alen = diagResp.getUint16(off, true), type = diagResp.getUint16(off + 2, true);
      if (alen < 4) break;
      if (type === UNIX_DIAG_RQLEN && alen >= 12) return diagResp.getUint32(off + 4, true); // udiag_rqueue
      off += (alen + 3) & ~3;
    }
    return -1;
  } finally {
    load()!.close(fd);
  }
}

// ---------------------------------------------------------------- identity

export const S_IFMT = 0o170000, S_IFIFO = 0o010000, S_IFCHR = 0o020000, S_IFDIR = 0o040000;
export const S_IFREG = 0o100000, S_IFSOCK = 0o140000;
const AT_EMPTY_PATH = 0x1000, STATX_TYPE = 0x1, STATX_INO = 0x100, STATX_SIZE = 0x200;
const stx = new DataView(new ArrayBuffer(256));
const stxBytes = new Uint8Array(stx.buffer);
const emptyPath = new Uint8Array(1);
/** A little-endian u64 / s64 field of a host struct as a number (two 32-bit loads: no BigInt to make and convert). */
export const dv_u64 = (dv: DataView, off: number): number => dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 0x100000000;
export const dv_s64 = (dv: DataView, off: number): number => dv.getUint32(off, true) + dv.getInt32(off + 4, true) * 0x100000000;
/** What statx says of an open descriptor (valid after os_stat returned 0). */
export const st = { mode: 0, inoLo: 0, inoHi: 0, devMajor: 0, devMinor: 0, size: 0 };
let stSeq = 0;
/** Counts this thread's statx calls: equal counts mean `st` still holds the same call's answer. */
export function os_stat_seq(): number { return stSeq; }
/** statx of an open descriptor into `st`: 0, or -1 (EBADF when it is not open). */
export function os_stat(fd: number): number {
  stSeq++;
  if ((load()!.statx(fd, emptyPath, AT_EMPTY_PATH, STATX_TYPE | STATX_INO | STATX_SIZE, stxBytes) as number) < 0) return -1;
  st.mode = stx.getUint16(28, true);
  st.inoLo = stx.getInt32(32, true);
  st.inoHi = stx.getInt32(36, true);
  st.size = dv_u64(stx, 40);
  st.devMajor = stx.getInt32(136, true);
  st.devMinor = stx.getInt32(140, true);
  return 0;
}

/** close(2): 0 or -1. */
export function os_close(fd: number): number { return load()!.close(fd) as number; }

const CLOCK_THREAD_CPUTIME_ID = 3;
const tsp = new BigInt64Array(2);
/** The calling thread's CPU time in ns, or -1. */
export function os_thread_cpu_ns(): number {
  const l = load();
  if (l === null || (l.clock_gettime(CLOCK_THREAD_CPUTIME_ID, tsp) as number) !== 0) return -1;
  return Number(tsp[0]!) * 1e9 + Number(tsp[1]!);
}

/** The calling thread's host id (gettid), or 0. */
export function os_gettid(): number { return load() === null ? 0 : libc!.gettid() as number; }
