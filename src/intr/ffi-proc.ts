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
 * process (is it our child?). Every function returns a number, never
 * throws (they run under kernel locks), and leaves os_proc_errno() set on
 * failure. Buffers are per thread.
 */
import { libc_open, type LibcFn } from '../kern/libc.js';

interface ProcLibc { syscall: LibcFn; waitid: LibcFn; ioctl: LibcFn; poll: LibcFn; close: LibcFn; errno: () => number }
let libc: ProcLibc | null | undefined;

function load(): ProcLibc | null {
  if (libc !== undefined) return libc;
  libc = null;
  const lib = libc_open();
  if (lib === null) return libc;
  try {
    libc = {
      syscall: lib.func('long syscall(long, ...)'),
      waitid: lib.func('int waitid(int, unsigned int, void *, int)'),
      ioctl: lib.func('int ioctl(int, unsigned long, void *)'),
      poll: lib.func('int poll(void *, unsigned long, int)'),
      close: lib.func('int close(int)'),
      errno: () => lib.errno(),
    };
  } catch {
    libc = null;
  }
  return libc;
}

/** True when the calls are usable in this thread. */
export function os_proc_available(): boolean { return load() !== null; }
/** errno of the last failed call in this thread. */
export function os_proc_errno(): number { return libc?.errno() ?? 0; }

export const ESRCH = 3, EINVAL = 22, EMFILE = 24, ENFILE = 23;
const SYS_pidfd_open = 434; // the same number on every Linux architecture (the unified table)

/** pidfd_open(pid, 0): a descriptor (close-on-exec) or -1. */
export function os_pidfd_open(pid: number): number {
  return Number(load()!.syscall(SYS_pidfd_open, 'int', pid, 'unsigned int', 0) as number | bigint);
}

const pfd = new DataView(new ArrayBuffer(8));
const pfdBytes = new Uint8Array(pfd.buffer);
/** Whether the pidfd's process has exited (readable without waiting): 1, 0, or -1. */
export function os_pidfd_exited(fd: number): number {
  pfd.setInt32(0, fd, true);
  pfd.setInt16(4, 1 /* POLLIN */, true);
  pfd.setInt16(6, 0, true);
  const r = load()!.poll(pfdBytes, 1, 0) as number;
  return r < 0 ? -1 : (pfd.getUint16(6, true) & 1) !== 0 ? 1 : 0;
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
  load()!.close(fd);
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

/** close(2) of a pidfd the kernel opened: 0 or -1. */
export function os_pidfd_close(fd: number): number { return load()!.close(fd) as number; }
