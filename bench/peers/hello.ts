/**
 * The smallest ESM worker: posts one message as soon as it runs. Used by
 * newWorkerStartup to time `new Worker(file)` -> first message, like
 * BASELINES.md §4's file.mjs (this compiles to an ES module .js because the
 * package is "type": "module").
 */
import { parentPort } from 'node:worker_threads';

parentPort?.postMessage(1);
