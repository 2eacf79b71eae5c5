/**
 * The intr subsystem's part of close(2): an OS descriptor closed through
 * `ukern/sys` loses its knotes (every consumer's close handler: the seed's
 * knote_fdclose) before the host closes it, so no knote outlives its file
 * and none can report for a file that reuses the number. Installed into
 * kern/sys.ts's close, which owns the syscall.
 */
import { closeSync } from 'node:fs';
import { sys_set_osclose } from '../kern/sys.js';
import type { Errno } from '../kern/errno.js';
import { intr_fdclose } from './dispatch.js';
import { os_available, os_stat } from './ffi.js';

/**
 * The host close, through Node's own (fs.closeSync): Node keeps, per worker
 * thread, the descriptors fs.openSync opened there, and closes those still
 * in its list when the worker ends — a number closed behind its back (by a
 * raw close(2)) would be closed a second time then, after it was reused
 * (the fuzzer saw that number be another thread's libuv descriptor: an
 * abort). Closing through Node takes it off that list in this thread.
 */
function os_close_errno(fd: number): Errno {
  try {
    closeSync(fd);
    return 0;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'EINTR' ? 0 /* Linux: the descriptor is closed anyway */ : code === 'EIO' ? 'EIO' : 'EBADF';
  }
}

/** close of an OS descriptor: knotes first (none without host calls), then the descriptor. */
function intr_close(fd: number): Errno {
  if (os_available()) {
    if (os_stat(fd) < 0) return 'EBADF';
    intr_fdclose(fd);
  }
  return os_close_errno(fd);
}
sys_set_osclose(intr_close);
