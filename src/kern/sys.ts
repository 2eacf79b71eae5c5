/**
 * The core's own syscalls, the ones no subsystem owns: close(2) of a kernel
 * descriptor (through the descriptor table's fileops), and the kernel's
 * statistics — kstat counters and gauges, kmem cache use. Subsystems'
 * syscalls live in their sys.ts; the facade src/sys/index.ts exports both.
 */
import { sysenter } from './sysent.js';
import { fd_close, FD_BASE } from './fdtab.js';
import { copyin_int, arg_type } from './copyin.js';
import { fail, type Errno } from './errno.js';
import { all_caches, SAB } from './kmem.js';
import { kstat_snapshot } from './kstat.js';

/** Closes an OS descriptor for close(2) (installed by the intr subsystem): 0 or an errno. */
export type OsClose = (fd: number) => Errno;
let osclose: OsClose | undefined;
/** Installs the close of OS descriptors (knote_fdclose, then the host's close). */
export function sys_set_osclose(fn: OsClose): void { osclose = fn; }
/** What runs before an OS descriptor is closed through close(2) (aio: the fd's requests complete or are cancelled first). */
const oscloseHooks: ((fd: number) => void)[] = [];
export function on_osclose(fn: (fd: number) => void): void { oscloseHooks.push(fn); }

/**
 * close(2): a kernel descriptor (port, kqueue) through the descriptor table;
 * an OS descriptor (below FD_BASE) through the intr subsystem, which drops
 * its knotes first. EBADF for a descriptor that is not open.
 */
export function close(fd: number): void {
  sysenter();
  const n = copyin_int(fd, 'fd', 'close', 'EBADF');
  if (n >= 0 && n < FD_BASE) {
    for (const h of oscloseHooks) h(n);
    const err = osclose === undefined ? 'EBADF' : osclose(n);
    if (err !== 0) fail(err, 'close', `fd ${n}`);
    return;
  }
  fd_close(n);
}

/** Kernel memory use: every object cache with its size, use and capacity. */
export interface KmemInfo { cache: string; bytesPerObject: number; inUse: number; highWater: number; capacity: number; allocFailures: number }

/** Kernel memory use: each object cache, and the bytes of kernel memory mapped. */
export function kmem_snapshot(): { caches: KmemInfo[]; totalBytes: number } {
  sysenter();
  return {
    caches: all_caches().map((c) => ({
      cache: c.name, bytesPerObject: c.bytesPerObject, inUse: c.inuse, highWater: c.hiwat, capacity: c.count, allocFailures: c.fails,
    })),
    totalBytes: SAB.byteLength,
  };
}

/**
 * kstat counters and gauges, all or one module's ('lwp', 'port', ...).
 * TypeError for a module that is not a string: the snapshot compares it with
 * every counter's name, and an object was converted (its toString run) once
 * per counter, a Symbol threw the engine's TypeError.
 */
export function kstat(module?: string): Record<string, number> {
  sysenter();
  if (module !== undefined && typeof module !== 'string') arg_type('kstat', `module must be a string, got ${module === null ? 'null' : `type ${typeof module}`}`);
  return kstat_snapshot(module);
}
