/**
 * An I/O thread's entry in the compiled tree (build/src): the kernel's
 * modules, as every thread loads them (the layout must match), then its
 * body, aiothread-main.ts. The bundle's entry is build/bundle/aiothread.cjs
 * (scripts/bundle.mjs), which gets the same body from the kernel script.
 */
import { workerData } from 'node:worker_threads';
import type { KernelImage } from '../kern/boot.js';
import '../sys/index.js';
import { aiothread_main } from './aiothread-main.js';

aiothread_main((workerData as { image: KernelImage }).image);
