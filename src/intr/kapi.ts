/**
 * What the intr subsystem offers the rest of the kernel (a BSD-style
 * header): OS event sources with their identity checks, the host queries a
 * filter needs to evaluate readiness, and the two hooks through which OS
 * events and closes reach their consumers. The theory is in intr.ts.
 */
export {
  intr_source_hold, intr_source_rele, intr_source_valid, intr_source_reopened, intr_source_confirmed, intr_source_fresh, INTR_USER_KQ,
  intr_revents_take, intr_call_forget, intr_source_quiet, intr_source_unquiet,
  intr_bridge, intr_bridge_needed, BRIDGE_NS, src_fd, src_mode, src_ino, src_sotype, src_soerr, src_keep_soerr, src_index, src_max, os_fd_open, held, DIR_READ, DIR_WRITE, DIR_EXCEPT, DIR_WRITE_OWN,
} from './intr.js';
export { intr_add_handler, intr_on_close } from './dispatch.js';
export { intr_lingering, intr_nonhost_enter, intr_set_served_work_hook, intr_served_work_begun, intr_consumer_enter, intr_consumer_return } from './handover.js';
export { intr_thread_start } from './start.js';
export { intr_kick_fd, intr_kick_fd_apart } from './kick.js';
export { intr_hostwait, intr_hostwait_retry_ns, intr_linger_take, intr_host_load, intr_host_loaded } from './hostwait.js';
export { intr_child_watch } from './childwait.js';
export {
  os_poll, os_stat_seq, os_ioctl_int, os_pipe_size, os_offset, os_sockopt_int, os_tcp_backlog, os_unix_backlog, st,
  EPOLLIN, EPOLLPRI, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP,
  FIONREAD, SIOCOUTQ, POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL, POLLRDHUP,
  SOL_SOCKET, SO_ERROR, SO_SNDBUF, SO_ACCEPTCONN, SO_PROTOCOL, IPPROTO_TCP, SOCK_STREAM,
  S_IFMT, S_IFIFO, S_IFCHR, S_IFDIR, S_IFREG, S_IFSOCK,
} from './ffi.js';
import './sys.js';
export { ino_hold, ino_flush, ino_rele, ino_gen, ino_word, ino_set_word, ino_num, ino_set_num, ino_add_consumer, ino_held, INO_KNOTE, INO_PORT } from './inotify.js';
export * as inof from './ffi-inotify.js';
export { os_close as os_close_fd, os_errno, os_eventfd_drain, os_eventfd, os_wait2, os_wait2_revents, os_available, os_loaded, W2_FD, W2_KICK } from './ffi.js';
export {
  os_proc_available, os_proc_errno, os_pidfd_open, os_pidfd_exited, os_pidfd_waitid, os_pidfd_info,
  os_pidfd_info_supported, os_pidfd_close, pinfo, W_RUNNING, W_NOTCHILD, ESRCH, EINVAL, EMFILE, ENFILE,
} from './ffi-proc.js';
export { os_cn_open, os_cn_read, PROC_EVENT_FORK, PROC_EVENT_EXEC, type CnEvent } from './ffi-proc.js';
// aio: its io_uring eventfd is an intr source; until the thread runs, its waiters poll.
export { intr_running } from './intr.js';
