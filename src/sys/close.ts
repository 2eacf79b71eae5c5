import { sysenter } from '../kern/sysent.js';
import { fd_close } from '../kern/fdtab.js';

/** close(2) for kernel descriptors (ports, kqueues): EBADF for an unknown descriptor. */
export function close(fd: number): void {
  sysenter();
  fd_close(fd);
}
