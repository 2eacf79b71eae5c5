/**
 * The core's own syscalls, the ones no subsystem owns: close(2) of a kernel
 * descriptor (through the descriptor table's fileops), and the kernel's
 * statistics — kstat counters and gauges, kmem cache use. Subsystems'
 * syscalls live in their sys.ts; the facade src/sys/index.ts exports both.
 */
import { sysenter } from './sysent.js';
import { fd_close } from './fdtab.js';
import { all_caches, SAB } from './kmem.js';
import { kstat_snapshot } from './kstat.js';

/** close(2) for kernel descriptors (ports, kqueues): EBADF for an unknown descriptor. */
export function close(fd: number): void {
  sysenter();
  fd_close(fd);
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

/** kstat counters and gauges, all or one module's ('lwp', 'port', ...). */
export function kstat(module?: string): Record<string, number> {
  sysenter();
  return kstat_snapshot(module);
}
