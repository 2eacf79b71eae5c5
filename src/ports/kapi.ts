/**
 * What event ports offer the rest of the kernel (a BSD-style header, the
 * illumos sys/port_kernel.h): the event-source interface — a source
 * (timers today; AIO, descriptors and files later) registers its delivery
 * callbacks, reserves an event slot per object so that a notification is
 * never lost for lack of room, fills it in and queues it (source.ts says
 * how) — and the per-thread set-up of the deadline-aware wait that timers
 * ask for (dwait.ts). Other subsystems import ports only through this file
 * or ports/sys.ts (checked: .dependency-cruiser.cjs).
 */
export {
  port_source_register, port_alloc_event, port_init_event, port_send_event, port_free_event,
  type PortDelivery, type PortSourceOps,
} from './source.js';
// PORT_SOURCE_FD registers its ops and its intr handlers at load: every
// thread that loads this header (the intr thread too) has them.
import './src-fd.js';
