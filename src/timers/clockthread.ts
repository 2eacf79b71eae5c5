/**
 * The clock thread's entry in the compiled tree (build/src): the kernel's
 * modules, as every thread loads them (the layout must match, and every
 * subsystem's callout handlers must be registered here), then its body,
 * clockthread-main.ts. The bundle's entry is build/bundle/clockthread.cjs
 * (scripts/bundle.mjs), which gets the same body from the kernel script.
 */
import { workerData } from 'node:worker_threads';
import type { KernelImage } from '../kern/boot.js';
import '../sys/index.js';
import { clockthread_main } from './clockthread-main.js';

clockthread_main((workerData as { image: KernelImage }).image);
