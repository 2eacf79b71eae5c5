/**
 * Preloaded into every test process by `npm test` (`--import`): a test file
 * whose process ends before its tests have finished fails. Node 20's runner
 * counts a file that calls exit(0) part-way, or dies of a real-time signal,
 * as passed, its later tests simply missing from the count (this hid a
 * signals.test.ts run that stopped after 7 of its 28 tests). Only the test
 * file's own main thread: LWP workers inherit the process's execArgv, and
 * scenario children spawned by a test do not load it.
 */
import { isMainThread } from 'node:worker_threads';
import { after } from 'node:test';

if (isMainThread && process.env.NODE_TEST_CONTEXT !== undefined) {
  let finished = false;
  after(() => { finished = true; });
  process.on('exit', (code) => {
    if (finished) return;
    process.stderr.write(`exit-guard: the test process ended (status ${code}) before its tests finished\n`);
    if (code === 0) process.exitCode = 1;
  });
}
