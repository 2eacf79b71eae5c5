/**
 * `ukern help <command>` as a user types it (the built bin in child
 * processes, each with a deadline): an unknown command named to `help` is
 * a usage error that says which command is unknown, as `ukern <command>`
 * does; `help help` is a request, not a mistake; and `help` checks its own
 * command line like every other command (an unknown option or an extra
 * argument is a usage error, not ignored).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../bundle/cli/main.js', import.meta.url));
const USAGE_MS = 15_000;

interface Run { status: number | null; stdout: string; stderr: string }

function ukern(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: USAGE_MS, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null;
      resolve({ status: e === null ? 0 : typeof e.code === 'number' ? e.code : null, stdout, stderr });
    });
  });
}

const STACK = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;
const show = (args: readonly string[], r: Run): string => `ukern ${args.join(' ')} -> status ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe('ukern help <command>', { concurrency: true }, () => {
  const errors: [string[], RegExp][] = [
    [['help', 'bogus'], /^error: unknown command 'bogus'$/],
    [['help', 'demoo'], /^error: unknown command 'demoo'/],
    [['help', '-x'], /^error: unknown option '-x'$/],
    [['help', 'demo', 'extra'], /^error: too many arguments for 'help'/],
  ];
  for (const [args, first] of errors) {
    test(`ukern ${args.join(' ')}: a one-line usage error naming the mistake, status 2`, async () => {
      const r = await ukern(args);
      assert.equal(r.status, 2, show(args, r));
      assert.equal(r.stdout, '', show(args, r));
      assert.match(r.stderr.split('\n')[0]!, first, show(args, r));
      assert.doesNotMatch(r.stderr, /^Usage:/m, show(args, r));
      assert.doesNotMatch(r.stderr, STACK, show(args, r));
    });
  }

  test('ukern help help: the help command\'s own help, status 0', async () => {
    const r = await ukern(['help', 'help']);
    assert.equal(r.status, 0, show(['help', 'help'], r));
    assert.match(r.stdout, /^Usage: ukern help \[options\] \[command\]|^Usage: ukern help \[command\]/, show(['help', 'help'], r));
    assert.match(r.stdout, /print the help of a command/);
    assert.equal(r.stderr, '');
  });

  test('ukern help, help demo and help --help still print the help, status 0', async () => {
    for (const [args, usage] of [[['help'], /^Usage: ukern \[options\] \[command\]/], [['help', 'demo'], /^Usage: ukern demo \[options\] \[part\]/], [['help', '--help'], /^Usage: ukern help/]] as const) {
      const r = await ukern(args);
      assert.equal(r.status, 0, show(args, r));
      assert.match(r.stdout, usage, show(args, r));
      assert.equal(r.stderr, '');
    }
  });
});
