/** The ES-module peer of bench/startup-child.ts 'worker-esm': a worker whose entry is a module file, as an ESM program's workers are. */
import { parentPort } from 'node:worker_threads';
parentPort!.postMessage(0);
