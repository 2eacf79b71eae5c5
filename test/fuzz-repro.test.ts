/**
 * The fuzzer's findings as fixed reproducers (test/fuzz/repro.ts), one test
 * each, every one in its own process with a deadline (several hang a thread
 * in the kernel when the defect is present). They assert only what the
 * fuzzer's judge asserts: the calls end, with a result or an errno or a
 * TypeError/RangeError, and the kernel's bookkeeping is consistent. Four
 * processes at a time: each mostly starts, waits (short timeouts) and exits.
 */
import { describe, test } from 'node:test';
import { CASES, runCaseAsync } from './fuzz/repro.js';

describe('fuzz findings', { concurrency: 4 }, () => {
  for (const [name, c] of Object.entries(CASES)) {
    test(`fuzz finding ${name}: ${c.what}`, async () => {
      const why = await runCaseAsync(name, 10_000);
      if (why !== null) throw new Error(`${name}: ${why}`);
    });
  }
});
