/**
 * What lwp0 needs of the kernel, in one module: lwp0 loads it only after it
 * is answering creates (lwp0.ts), and one dynamic import (rather than one
 * per kernel module) keeps it simple to bundle. The subsystems register
 * first, so the layout this thread applies names all of them.
 */
import '../sys/index.js';
export { attach_system_thread } from '../kern/boot.js';
export { lwp_reap_dead } from './reap.js';
export { C_POOL_IDLE, C_POOL_STARTING } from './spawn.js';
export { kstat_add } from '../kern/kstat.js';
export { kthread_settled, kthread_serve, panic_mark_sync } from './kthread.js';
