/**
 * The host calls EVFILT_PROC makes, through this thread's libc (kern/libc.ts).
 * A watched process is a pidfd (pidfd_open, syscall 434: no glibc wrapper is
 * assumed), which becomes readable when the process exits and never keeps
 * it alive. Its wait status comes from two places, because Node reaps its
 * children itself (libuv's waitpid on SIGCHLD, in the loop that spawned
 * them) and the knote must not take the status away from it:
 *
 *  - waitid(P_PIDFD, WEXITED | WNOWAIT | WNOHANG): the status of a child
 *    that is a zombie, without reaping it (libuv still gets it);
 *  - ioctl(PIDFD_GET_INFO, PIDFD_INFO_EXIT) (Linux 6.15+): the status
 *    pidfs keeps on the pidfd once the process was reaped, so a status
 *    libuv took first is still known.
 *
 * The same ioctl with PIDFD_INFO_PID gives the parent of a live or zombie
 * process (is it our child?). Forks and execs of other processes come from
 * the proc connector (the last section). Every function returns a number, never
 * throws (they run under kernel locks), and leaves os_proc_errno() set on
 * failure. Buffers are per thread.
 */
import { libc_binder } from '../kern/libc.js';
import { os_poll, os_close, POLLIN } from './ffi.js';

/** The calls EVFILT_PROC needs, bound on this thread's libc once (kern/libc.ts); null when unavailable. */
const load = libc_binder({
  syscall: 'long syscall(long, ...)',
  waitid: 'int waitid(int, unsigned int, void *, int)',
  ioctl: 'int ioctl(int, unsigned long, void *)',
  socket: 'int socket(int, int, int)',
  bind: 'int bind(int, void *, unsigned int)',
  send: 'long send(int, void *, unsigned long, int)',
  recv: 'long recv(int, void *, unsigned long, int)',
});

/** True when the calls are usable in this thread. */
export function os_proc_available(): boolean { return load() !== null; }
/** errno of the last failed call in this thread. */
export function os_proc_errno(): number { return load()?.errno() ?? 0; }

export const ESRCH = 3, EINVAL = 22, EMFILE = 24, ENFILE = 23;
const SYS_pidfd_open = 434; // the same number on every Linux architecture (the unified table)

/** pidfd_open(pid, 0): a descriptor (close-on-exec) or -1. */
export function os_pidfd_open(pid: number): number {
  return Number(load()!.syscall(SYS_pidfd_open, 'int', pid, 'unsigned int', 0) as number | bigint);
}

/** Whether the pidfd's process has exited (readable without waiting): 1, 0, or -1. */
export function os_pidfd_exited(fd: number): number {
  const r = os_poll(fd, POLLIN);
  return r < 0 ? -1 : (r & POLLIN) !== 0 ? 1 : 0;
}

/** What waitid_probe found besides a status (>= 0). */
export const W_RUNNING = -1, W_NOTCHILD = -2;
const P_PIDFD = 3, WNOHANG = 1, WEXITED = 4, WNOWAIT = 0x01000000;
const CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3;
const si = new DataView(new ArrayBuffer(128));
const siBytes = new Uint8Array(si.buffer);

/**
 * waitid(P_PIDFD, fd, WEXITED | WNOWAIT | WNOHANG): the wait status of an
 * exited child, in waitpid(2)'s encoding, left for its reaper; W_RUNNING for
 * a child that has not exited; W_NOTCHILD (ECHILD: not our child, or reaped
 * already) or another failure.
 */
export function os_pidfd_waitid(fd: number): number {
  siBytes.fill(0);
  if ((load()!.waitid(P_PIDFD, fd, siBytes, WEXITED | WNOWAIT | WNOHANG) as number) < 0) return W_NOTCHILD;
  if (si.getInt32(16, true) === 0) return W_RUNNING; // si_pid 0: no child in a waitable state
  const code = si.getInt32(8, true), status = si.getInt32(24, true);
  if (code === CLD_EXITED) return (status & 0xff) << 8;
  if (code === CLD_KILLED) return status & 0x7f;
  if (code === CLD_DUMPED) return (status & 0x7f) | 0x80;
  return W_RUNNING; // stopped / continued: not an exit
}

// struct pidfd_info (PIDFD_INFO_SIZE_VER0, 64 bytes): mask, cgroupid, pid, tgid, ppid, ..., exit_code at 60.
const PIDFD_INFO_PID = 1n, PIDFD_INFO_EXIT = 8n;
const PIDFD_GET_INFO = 0xc040ff0b; // _IOWR(0xFF, 11, 64 bytes)
const info = new DataView(new ArrayBuffer(64));
const infoBytes = new Uint8Array(info.buffer);
/** What os_pidfd_info found (valid after it returned 0). */
export const pinfo = { ppid: -1, exit: -1 };
let infoSupported: boolean | undefined;
/**
 * Whether this host has PIDFD_GET_INFO (Linux 6.13+; the exit status in it,
 * 6.15+): asked once per thread, on a pidfd of this process itself.
 */
export function os_pidfd_info_supported(): boolean {
  if (infoSupported !== undefined) return infoSupported;
  infoSupported = false;
  const fd = os_pidfd_open(process.pid);
  if (fd < 0) return false;
  infoBytes.fill(0);
  info.setBigUint64(0, PIDFD_INFO_PID | PIDFD_INFO_EXIT, true);
  infoSupported = (load()!.ioctl(fd, PIDFD_GET_INFO, infoBytes) as number) === 0;
  os_close(fd);
  return infoSupported;
}

/**
 * PIDFD_GET_INFO for the parent (while the process is alive or a zombie)
 * and the exit status pidfs recorded when it was reaped: 0 with pinfo set
 * (-1 for what is not known), or -1 (ESRCH, or no such ioctl on this host).
 */
export function os_pidfd_info(fd: number): number {
  pinfo.ppid = -1; pinfo.exit = -1;
  infoBytes.fill(0);
  info.setBigUint64(0, PIDFD_INFO_PID | PIDFD_INFO_EXIT, true);
  if ((load()!.ioctl(fd, PIDFD_GET_INFO, infoBytes) as number) < 0) return -1;
  const mask = info.getBigUint64(0, true);
  if ((mask & PIDFD_INFO_PID) !== 0n) pinfo.ppid = info.getUint32(24, true);
  if ((mask & PIDFD_INFO_EXIT) !== 0n) pinfo.exit = info.getInt32(60, true) & 0xffff;
  return 0;
}

/** close(2) of a descriptor the kernel opened (a pidfd, the connector): 0 or -1. */
export const os_pidfd_close = os_close;

// ---------------------------------------------------------------- the proc connector

/*
 * NOTE_FORK / NOTE_EXEC come from the proc connector: a netlink socket
 * (NETLINK_CONNECTOR) subscribed to CN_IDX_PROC, which hears of every
 * fork, exec and exit on the host (the initial pid namespace, with
 * CAP_NET_ADMIN). Messages: nlmsghdr (16 bytes), cn_msg (20), then
 * proc_event: what (u32) at 36, cpu, timestamp, then the event's data at 52.
 */
const AF_NETLINK = 16, SOCK_DGRAM = 2, SOCK_NONBLOCK = 0o4000, SOCK_CLOEXEC = 0o2000000, NETLINK_CONNECTOR = 11;
const CN_IDX_PROC = 1, CN_VAL_PROC = 1, NLMSG_DONE = 3, PROC_CN_MCAST_LISTEN = 1, MSG_DONTWAIT = 0x40;
export const PROC_EVENT_FORK = 1, PROC_EVENT_EXEC = 2;

/**
 * A proc connector socket, bound and listening (non-blocking, close-on-exec):
 * its descriptor, or -1 (EPERM without CAP_NET_ADMIN or outside the initial
 * pid namespace; EPROTONOSUPPORT without the connector).
 */
export function os_cn_open(): number {
  const l = load()!;
  const fd = l.socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR) as number;
  if (fd < 0) return -1;
  const sa = new DataView(new ArrayBuffer(12));
  sa.setUint16(0, AF_NETLINK, true);
  sa.setUint32(8, CN_IDX_PROC, true);
  const msg = new DataView(new ArrayBuffer(40));
  msg.setUint32(0, 40, true); msg.setUint16(4, NLMSG_DONE, true);
  msg.setUint32(16, CN_IDX_PROC, true); msg.setUint32(20, CN_VAL_PROC, true); msg.setUint16(32, 4, true);
  msg.setUint32(36, PROC_CN_MCAST_LISTEN, true);
  if ((l.bind(fd, new Uint8Array(sa.buffer), 12) as number) < 0 ||
      Number(l.send(fd, new Uint8Array(msg.buffer), 40, 0) as number | bigint) !== 40) {
    os_close(fd);
    return -1;
  }
  return fd;
}

const cnBuf = new Uint8Array(8192);
const cnView = new DataView(cnBuf.buffer);
/** One proc connector event as cn_read gives it: what, pid (the parent or the exec'ing process), child, thread. */
export interface CnEvent { what: number; pid: number; child: number; thread: boolean }

/**
 * Reads every message waiting on the connector socket (never waits) and
 * calls fn for each fork and exec event. Returns how many were read, or -1
 * when events were lost (ENOBUFS: the socket's buffer overflowed).
 */
export function os_cn_read(fd: number, fn: (e: CnEvent) => void): number {
  const l = load()!;
  let n = 0, lost = false;
  const e: CnEvent = { what: 0, pid: 0, child: 0, thread: false };
  for (;;) {
    const r = Number(l.recv(fd, cnBuf, cnBuf.length, MSG_DONTWAIT) as number | bigint);
    if (r < 0) { if (l.errno() === 105 /* ENOBUFS */) { lost = true; continue; } break; }
    for (let off = 0; off + 68 <= r;) {
      const len = cnView.getUint32(off, true);
      e.what = cnView.getUint32(off + 36, true);
      if (e.what === PROC_EVENT_FORK) {
        e.pid = cnView.getInt32(off + 56, true); // parent_tgid
        e.child = cnView.getInt32(off + 64, true); // child_tgid
        e.thread = cnView.getInt32(off + 60, true) !== e.child; // child_pid != child_tgid: a thread
        n++; fn(e);
      } else if (e.what === PROC_EVENT_EXEC) {
        e.pid = cnView.getInt32(off + 56, true); e.child = 0; e.thread = false; // process_tgid
        n++; fn(e);
      }
      if (len < 16) break;
      off += (len + 3) & ~3;
    }
  }
  return lost ? -1 : n;
}
