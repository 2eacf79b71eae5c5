/**
 * Event port constants under their illumos names and values
 * (sys/port.h, sys/port_impl.h, sys/port_kernel.h).
 */

/** Event sources (portev_source). */
export const PORT_SOURCE_AIO = 1;
export const PORT_SOURCE_TIMER = 2;
export const PORT_SOURCE_USER = 3;
export const PORT_SOURCE_FD = 4;
export const PORT_SOURCE_ALERT = 5;
export const PORT_SOURCE_MQ = 6;
export const PORT_SOURCE_FILE = 7;

/** port_alert() flags. */
export const PORT_ALERT_SET = 0x01;
export const PORT_ALERT_UPDATE = 0x02;
/** Both bits at once is the one combination port_alert rejects (EINVAL). */
export const PORT_ALERT_INVALID = PORT_ALERT_SET | PORT_ALERT_UPDATE;

/** Most ports one port_sendn() call may name. */
export const PORT_MAX_LIST = 8192;

/** Slot allocation modes for event sources (port_alloc_event). */
export const PORT_ALLOC_DEFAULT = 0;   // the slot is freed once delivered
export const PORT_ALLOC_PRIVATE = 0x01; // the source keeps it; it can never be queued
export const PORT_ALLOC_CACHED = 0x02;  // kept after delivery (port-local cache); re-queueable
export const PORT_ALLOC_SCACHED = 0x04; // kept after delivery by the source; re-queueable

/** Why a source hears about a slot (the `flag` of a delivery callback). */
export const PORT_CALLBACK_DEFAULT = 0;
export const PORT_CALLBACK_CLOSE = 1;
export const PORT_CALLBACK_DISSOCIATE = 2;

/** illumos defaults of the resource controls. */
export const PORT_DEFAULT_PORTS = 0x2000;   // project.port-max-ids
export const PORT_MAX_PORTS = 0x10000;
export const PORT_DEFAULT_EVENTS = 0x10000; // process.port-max-events

/** PORT_SOURCE_FILE events (sys/port.h): what a file_obj_t association watches... */
export const FILE_ACCESS = 0x00000001;
export const FILE_MODIFIED = 0x00000002;
export const FILE_ATTRIB = 0x00000004;
export const FILE_TRUNC = 0x00100000;
export const FILE_NOFOLLOW = 0x10000000;
/** ...and the exception events, reported whether asked for or not. */
export const FILE_DELETE = 0x00000010;
export const FILE_RENAME_TO = 0x00000020;
export const FILE_RENAME_FROM = 0x00000040;
export const UNMOUNTED = 0x20000000;
export const MOUNTEDOVER = 0x40000000;
export const FILE_EXCEPTION = UNMOUNTED | FILE_DELETE | FILE_RENAME_TO | FILE_RENAME_FROM | MOUNTEDOVER;

/**
 * poll(2) events of PORT_SOURCE_FD associations, illumos values (sys/poll.h):
 * the kernel translates them to and from the host's own bits.
 */
export const POLLIN = 0x0001;
export const POLLPRI = 0x0002;
export const POLLOUT = 0x0004;
export const POLLRDNORM = 0x0040;
export const POLLWRNORM = POLLOUT;
export const POLLRDBAND = 0x0080;
export const POLLWRBAND = 0x0100;
export const POLLNORM = POLLRDNORM;
/** Reported whether asked for or not. */
export const POLLERR = 0x0008;
export const POLLHUP = 0x0010;
export const POLLNVAL = 0x0020;
