/**
 * The intr thread: a kernel worker that blocks in epoll_wait on the
 * kernel's epoll set and hands each event to intr_dispatch (intr.ts, the
 * one mapping from OS events to activations). It runs no JS while it waits
 * and wakes only for events: an idle kernel with any number of registered
 * descriptors costs it no CPU. The control eventfd wakes it to quit.
 */
import { workerData, parentPort } from 'node:worker_threads';
import type { KernelImage } from '../kern/boot.js';

const { image } = workerData as { image: KernelImage };
// The same modules as every other thread: the kernel layout must match, and
// every consumer's handler (the kqueue's os filter) must be installed here.
await import('../sys/index.js');
const { attach_system_thread } = await import('../kern/boot.js');
const { kstat_add } = await import('../kern/kstat.js');
const ffi = await import('./ffi.js');
const intr = await import('./intr.js');

attach_system_thread(image);
intr.intr_announce(ffi.os_gettid());
parentPort?.postMessage('up');

const buf = new ffi.EpollEvents(64);
const ep = intr.intr_epfd(), evfd = intr.intr_evfd();
let cpuPrev = ffi.os_thread_cpu_ns();

function account_cpu(): void {
  if (cpuPrev < 0) return;
  const c = ffi.os_thread_cpu_ns();
  kstat_add(intr.C_CPU_US, Math.floor((c - cpuPrev) / 1000));
  cpuPrev = c - ((c - cpuPrev) % 1000);
}

function quit(): never {
  // Termination interrupts Atomics.wait, not a host call: wait here for it.
  const never = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(never, 0, 0);
}

for (;;) {
  if (intr.intr_quitting()) quit();
  const n = ffi.os_epoll_wait(ep, buf, -1);
  kstat_add(intr.C_WAKEUPS);
  for (let i = 0; i < n; i++) {
    const lo = buf.lo(i);
    if (lo === 0) { ffi.os_eventfd_drain(evfd); continue; }
    intr.intr_dispatch(lo, buf.hi(i), buf.events(i));
  }
  account_cpu();
}
