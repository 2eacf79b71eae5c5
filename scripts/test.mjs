/**
 * The test step of `npm test` (after the build): every build/test/*.test.js,
 * two files at a time, UKERN_LOCKDEBUG=1, test/exit-guard.ts preloaded, each
 * test's deadline 120 s; any arguments name the files to run instead.
 * Reported by spec, then scripts/test-failures.mjs (failures again, last).
 *
 * The order is the point of this script. node --test starts the files in
 * the order it is given them, the next one whenever one of its two slots
 * frees; in alphabetical order a long file could start last, and the run
 * then ended with it alone on one core (port-messages, ~11 s, started in the
 * last quarter). LONG lists the files that take longest (wall, measured two
 * at a time: docs/internals.md "The test run"), longest first, so that the
 * short files fill both slots at the end; the rest follow alphabetically. A
 * name in LONG that no longer exists stops the run, so the list cannot rot
 * silently; a new long file belongs in it. (Measured last over a whole run
 * at 5845722, an --import hook logging each process's wall at exit: every
 * file of 3 s or more, 26.6 s down to 3.1 s.)
 */
import { readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

const LONG = [
  'panic-waits',
  'fuzz',
  'cli',
  'startup',
  'port-messages',
  'lwp-ref',
  'clock-range',
  'kevent-os-threads',
  'lwp-churn',
  'intr-exit-waiters',
  'aio-threads',
  'kthread-start-fails-late',
  'lwp-class',
  'kthread-dies',
  'ports-coldpath',
  'lwp-pool-leftover',
  'callout-churn',
  'ports-lane',
  'port-fd-threads',
  'signals-iter-ref',
  'kern-lockdebug',
  'kevent-timer',
  'lwp-fail',
  'lwp-pool-faults',
  'kevent-proc-stress',
  'intr-linger',
  'kevent-signal-race',
  'kqueue-lwp',
  'kqueue-fastpath',
  'signals-default',
  'package',
  'kevent-os-scale',
];

function files(args) {
  if (args.length > 0) return args;
  const all = readdirSync(`${root}build/test`).filter((f) => f.endsWith('.test.js')).sort();
  const missing = LONG.filter((n) => !all.includes(`${n}.test.js`));
  if (missing.length > 0) {
    console.error(`scripts/test.mjs: LONG names files that do not exist: ${missing.join(', ')} (rename or remove them there)`);
    process.exit(1);
  }
  const first = LONG.map((n) => `${n}.test.js`);
  return [...first, ...all.filter((f) => !first.includes(f))].map((f) => `build/test/${f}`);
}

const child = spawn(process.execPath, [
  '--import', './build/test/exit-guard.js', '--test', '--test-concurrency=2', '--test-timeout=120000',
  // spec, then each failure again at the very end with its file's last
  // output lines (scripts/test-failures.mjs): a CI log's tail says what failed.
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=./scripts/test-failures.mjs', '--test-reporter-destination=stdout',
  ...files(process.argv.slice(2)),
], { cwd: root, stdio: 'inherit', env: { ...process.env, UKERN_LOCKDEBUG: '1' } });
child.on('exit', (code, signal) => {
  if (signal !== null) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
