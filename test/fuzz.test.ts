/**
 * The CI part of the hostile-input fuzzer (test/fuzz/): >= 10^5 random
 * syscalls of ukern/sys with hostile arguments from 4 LWPs at once, under a
 * watchdog, then the kernel's bookkeeping checked. It runs in a child
 * process with its own kernel (boot limits kept small), so a hang or a
 * broken kernel is that process's report, not this test run's. Replay a
 * failure with the seed it prints: `npm run fuzz -- --seed=S` (or
 * FUZZ_LWPS=1 FUZZ_SEED=<the LWP's seed> for one LWP, deterministic).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const driver = fileURLToPath(new URL('./fuzz/main.js', import.meta.url));

test('fuzz: 10^5 hostile syscalls from 4 LWPs end in a result or an errno, and leave the kernel consistent', () => {
  const r = spawnSync(process.execPath, [driver, '--ci'], { encoding: 'utf8', timeout: 110_000, env: { ...process.env } });
  const out = `${r.stdout}\n${r.stderr.split('\n').filter((l) => !/^ukern: LWP \d+ (start function threw|could not start)|^\s+at |^\s+(code|url): |^\}$/.test(l)).join('\n')}`;
  if (r.signal !== null) assert.fail(`the fuzz driver was killed (${r.signal}) by the test's deadline: a hang the watchdog missed\n${out}`);
  assert.equal(r.status, 0, `fuzz findings (exit ${r.status}):\n${out}`);
  console.log(r.stdout.trim());
});
