/**
 * What the LWP subsystem offers the rest of the kernel (a BSD-style header,
 * sys/lwp.h's kernel part): kernel threads (kthread_start: the clock thread,
 * later the intr thread) and posting work for an LWP's next kernel exit
 * (lwp_post_userret: the userret seam, kern_lwp.c's lwp_userret). The
 * process's hooks are kern/proc.ts's. Other subsystems import LWPs only
 * through this file or lwp/sys.ts (checked: .dependency-cruiser.cjs).
 */
export { kthread_start, kthread_run, type KthreadClaim } from './kthread.js';
export { lwp_post_userret, lwp_nudge } from './ops.js';
export { lwp_signal_post, LSP_WOKEN, lwp_signal_clear, lwp_signal_set, lwp_signal_flagged, lwp_view, lwp_is_live, lwp_live_handle, lwp_sleeps_interruptibly, LWPV_NONE, LWPV_RUNNING, LWPV_SLEEPING } from './sig.js';
export { copyin_module_href } from './module-href.js';
