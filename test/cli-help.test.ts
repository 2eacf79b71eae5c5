/**
 * `ukern help <command>` as a user types it: an unknown command named to
 * `help` is a usage error that says which command is unknown, as
 * `ukern <command>` does; `help help` is a request, not a mistake; and
 * `help` checks its own command line like every other command (an unknown
 * option or an extra argument is a usage error, not ignored). Checked in
 * this process on program.ts, what the bin runs (the point is the parsing
 * and the text); the built bin runs in a child process (with a deadline)
 * for one error and one help of the help command, where the point is the
 * process's exit status, its output equal to the run in this process.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCommand } from '../src/cli/program.js';
import { within } from './helpers.js';

const MAIN = fileURLToPath(new URL('../bundle/cli/main.js', import.meta.url));
const USAGE_MS = 15_000;

interface Run { status: number | null; stdout: string; stderr: string }

/** The built bin in a child process. */
function ukern(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: USAGE_MS, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null;
      resolve({ status: e === null ? 0 : typeof e.code === 'number' ? e.code : null, stdout, stderr });
    });
  });
}

/** The command run in this process (program.ts), its output kept. */
async function here(args: readonly string[]): Promise<Run> {
  let stdout = '', stderr = '';
  const status = await within(runCommand(args, { writeOut: (s) => { stdout += s; }, writeErr: (s) => { stderr += s; } }), USAGE_MS, `ukern ${args.join(' ')}`);
  return { status, stdout, stderr };
}

const STACK = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;
const show = (args: readonly string[], r: Run): string => `ukern ${args.join(' ')} -> status ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** A one-line usage error whose first line matches `first`: status 2, nothing on stdout, no help, no stack. */
function usageError(args: readonly string[], first: RegExp, r: Run): void {
  assert.equal(r.status, 2, show(args, r));
  assert.equal(r.stdout, '', show(args, r));
  assert.match(r.stderr.split('\n')[0]!, first, show(args, r));
  assert.doesNotMatch(r.stderr, /^Usage:/m, show(args, r));
  assert.doesNotMatch(r.stderr, STACK, show(args, r));
}

const HELP_HELP = /^Usage: ukern help \[options\] \[command\]|^Usage: ukern help \[command\]/;
/** `help help`: the help command's own help on stdout, status 0. */
function helpOfHelp(r: Run): void {
  assert.equal(r.status, 0, show(['help', 'help'], r));
  assert.match(r.stdout, HELP_HELP, show(['help', 'help'], r));
  assert.match(r.stdout, /print the help of a command/);
  assert.equal(r.stderr, '');
}

describe('ukern help <command>', () => {
  const errors: [string[], RegExp][] = [
    [['help', 'bogus'], /^error: unknown command 'bogus'$/],
    [['help', 'demoo'], /^error: unknown command 'demoo'/],
    [['help', '-x'], /^error: unknown option '-x'$/],
    [['help', 'demo', 'extra'], /^error: too many arguments for 'help'/],
  ];
  for (const [args, first] of errors) {
    test(`ukern ${args.join(' ')}: a one-line usage error naming the mistake, status 2`, async () => usageError(args, first, await here(args)));
  }

  test('ukern help help: the help command\'s own help, status 0', async () => helpOfHelp(await here(['help', 'help'])));

  test('ukern help, help demo and help --help still print the help, status 0', async () => {
    for (const [args, usage] of [[['help'], /^Usage: ukern \[options\] \[command\]/], [['help', 'demo'], /^Usage: ukern demo \[options\] \[part\]/], [['help', '--help'], /^Usage: ukern help/]] as const) {
      const r = await here(args);
      assert.equal(r.status, 0, show(args, r));
      assert.match(r.stdout, usage, show(args, r));
      assert.equal(r.stderr, '');
    }
  });
});

describe('ukern help <command>: the built bin', { concurrency: true }, () => {
  test('ukern help bogus: status 2, the one-line error, as in this process', async () => {
    const r = await ukern(['help', 'bogus']);
    usageError(['help', 'bogus'], /^error: unknown command 'bogus'$/, r);
    assert.deepEqual(r, await here(['help', 'bogus']));
  });

  test('ukern help help: status 0, the help command\'s help, as in this process', async () => {
    const r = await ukern(['help', 'help']);
    helpOfHelp(r);
    assert.deepEqual(r, await here(['help', 'help']));
  });
});
