/**
 * The intr thread's entry in the compiled tree (build/src): the kernel's
 * modules, as every thread loads them (the layout must match, and every
 * consumer's handler, the kqueue's os filter among them, must be installed
 * here), then its body, intrthread-main.ts. The bundle's entry is
 * build/bundle/intrthread.cjs (scripts/bundle.mjs), which gets the same
 * body from the kernel script.
 */
import { workerData } from 'node:worker_threads';
import type { KernelImage } from '../kern/boot.js';
import '../sys/index.js';
import { intrthread_main } from './intrthread-main.js';

intrthread_main((workerData as { image: KernelImage }).image);
