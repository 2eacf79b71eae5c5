/**
 * The `ukern` command. Its command line (usage errors, help, version, the
 * help command's suggestions) is checked in this process, on program.ts,
 * what the bin runs, given an argv and writers of its own: a child process
 * for each of ~35 cases cost ~0.15 s of CPU apiece. The built bin itself
 * runs in child processes, each with a deadline (a hang fails by timeout,
 * never stalls the suite), where the process is the point: its exit status
 * and output for one case of each kind (an unknown command, a bad option
 * value, --version, --help, no command), each also equal to the run in this
 * process; every demo; a reader that goes away.
 * Usage errors: status 2 and commander's one-line message, no stack trace.
 * Demos: status 0 in bounded time across the accepted range of every option,
 * including the short runs that used to end before the timer's first tick
 * ("ports demo produced nothing") and task counts past port_max_events.
 * The children run concurrently to keep the file within ~20 s.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { intIn, defaultSpan, rangeError, RANGE_MAX, TASKS_MAX } from '../src/cli/options.js';
import { runCommand } from '../src/cli/program.js';
import { within } from './helpers.js';

// The command as the package's bin runs it: the bundle (scripts/bundle.mjs), over the package's entries.
const MAIN = fileURLToPath(new URL('../bundle/cli/main.js', import.meta.url));
const PKG = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const USAGE_MS = 15_000, DEMO_MS = 60_000;

interface Run { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function ukern(args: readonly string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
      const status = e === null ? 0 : typeof e.code === 'number' ? e.code : null;
      resolve({ status, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

/** The command run in this process (program.ts, what the bin runs), its output kept; no terminal, as for the bin in a child. */
async function here(args: readonly string[]): Promise<Run> {
  let stdout = '', stderr = '';
  const status = await within(runCommand(args, { writeOut: (s) => { stdout += s; }, writeErr: (s) => { stderr += s; } }), USAGE_MS, `ukern ${args.join(' ')}`);
  return { status, signal: null, stdout, stderr };
}

const STACK = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

function show(args: readonly string[], r: Run): string {
  return `ukern ${args.join(' ')} -> status ${r.status} signal ${r.signal}\n--- stdout\n${r.stdout.slice(-2000)}\n--- stderr\n${r.stderr.slice(-2000)}`;
}

/** A usage error: status 2, nothing on stdout, `message` in one `error:` line on stderr, no stack trace. */
function usageError(args: readonly string[], message: string, r: Run): void {
  assert.equal(r.status, 2, show(args, r));
  assert.equal(r.stdout, '', show(args, r));
  const first = r.stderr.split('\n')[0]!;
  assert.match(first, /^error: /, show(args, r));
  assert.ok(first.includes(message), `expected "${message}" in the first line\n${show(args, r)}`);
  assert.doesNotMatch(r.stderr, STACK, show(args, r));
  assert.doesNotMatch(r.stderr, /ERR_|Error:|node:internal/, show(args, r));
}

describe('ukern: help and version', () => {
  test('--version prints package.json version, status 0', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await here([flag]);
      assert.equal(r.status, 0, show([flag], r));
      assert.equal(r.stdout, `${PKG.version}\n`);
      assert.equal(r.stderr, '');
    }
  });

  test('--help describes every command and option', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = await here(args);
      assert.equal(r.status, 0, show(args, r));
      assert.match(r.stdout, /^Usage: ukern \[options\] \[command\]/);
      assert.match(r.stdout, /-V, --version +print the version and exit/);
      assert.match(r.stdout, /-h, --help +print this help and exit/);
      assert.match(r.stdout, /demo \[options\] \[part\] +run the demo/);
      assert.match(r.stdout, /help \[command\] +print the help of a command/);
      assert.equal(r.stderr, '');
    }
  });

  test('demo --help describes the part argument and each option with its range', async () => {
    for (const args of [['demo', '--help'], ['help', 'demo']]) {
      const r = await here(args);
      assert.equal(r.status, 0, show(args, r));
      assert.match(r.stdout, /^Usage: ukern demo \[options\] \[part\]/);
      assert.match(r.stdout, /part +which part to run \(choices: "all", "lwp", "ports",\s+"kqueue", "os", default: "all"\)/);
      assert.match(r.stdout, /-w, --workers <n> +worker LWPs of the lwp part, 1 to 64/);
      assert.match(r.stdout, /-t, --tasks <n> +prime-counting tasks, 1 to 100000 \(default: 256\)/);
      assert.match(r.stdout, /-s, --span <n> +numbers each task tests, 1 to 6400000/);
      assert.match(r.stdout, /-h, --help +print this help and exit/);
      assert.equal(r.stderr, '');
    }
  });

  test('no command: the help on stderr, status 2', async () => {
    const r = await here([]);
    assert.equal(r.status, 2, show([], r));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^Usage: ukern/);
    assert.doesNotMatch(r.stderr, STACK);
  });
});

describe('ukern: option limits', () => {
  test('intIn takes decimal integers in range only', () => {
    const p = intIn('--n', 1, 10);
    assert.equal(p('1'), 1);
    assert.equal(p('10'), 10);
    assert.equal(p('007'), 7);
    for (const bad of ['0', '11', '', ' 5', '5 ', '+5', '-5', '5.0', '1e1', '0x5', 'five', '9'.repeat(40)]) {
      assert.throws(() => p(bad), (e: unknown) => e instanceof InvalidArgumentError && e.message === '--n must be an integer from 1 to 10.', bad);
    }
  });

  test('the default span keeps every accepted --tasks within RANGE_MAX; an explicit one is checked', () => {
    for (const t of [1, 2, 255, 256, 257, 1000, 65537, TASKS_MAX]) {
      const s = defaultSpan(t);
      assert.ok(s >= 1 && s <= 25_000 && t * s <= RANGE_MAX, `tasks ${t}: span ${s}`);
      assert.equal(rangeError(t, s), null);
    }
    assert.equal(defaultSpan(256), 25_000);
    assert.equal(defaultSpan(TASKS_MAX), 64);
    assert.equal(rangeError(256, 25_000), null);
    assert.match(rangeError(256, 25_001)!, /--tasks × --span is 6400256; at most 6400000/);
  });
});

// The message of each usage error, by arguments.
const USAGE_CASES: [string[], string][] = [
  [['bogus'], "unknown command 'bogus'"],
  [['demoo'], "unknown command 'demoo'"],
  [['help', 'demoo'], "unknown command 'demoo'"],
  [['help', 'bogus'], "unknown command 'bogus'"],
  [['--bogus'], "unknown option '--bogus'"],
  [['demo', '--bogus'], "unknown option '--bogus'"],
  [['demo', '-x'], "unknown option '-x'"],
  [['demo', 'nope'], "argument 'part'. Allowed choices are all, lwp, ports, kqueue, os."],
  [['demo', 'lwp', 'extra'], "too many arguments for 'demo'"],
  [['demo', '--tasks'], "option '-t, --tasks <n>' argument missing"],
  [['demo', '--tasks', '0'], '--tasks must be an integer from 1 to 100000.'],
  [['demo', '--tasks', '100001'], '--tasks must be an integer from 1 to 100000.'],
  [['demo', '--tasks', 'abc'], '--tasks must be an integer from 1 to 100000.'],
  [['demo', '--tasks', '1.5'], '--tasks must be an integer from 1 to 100000.'],
  [['demo', '--tasks', '1e3'], '--tasks must be an integer from 1 to 100000.'],
  [['demo', '--tasks', '-3'], '--tasks must be an integer from 1 to 100000.'],
  [['demo', '--tasks', ''], '--tasks must be an integer from 1 to 100000.'],
  [['demo', '--tasks', '99999999999999999999'], '--tasks must be an integer from 1 to 100000.'],
  [['demo', '--workers', '0'], '--workers must be an integer from 1 to 64.'],
  [['demo', '--workers', '65'], '--workers must be an integer from 1 to 64.'],
  [['demo', '-w', '0x10'], '--workers must be an integer from 1 to 64.'],
  [['demo', '--span', '0'], '--span must be an integer from 1 to 6400000.'],
  [['demo', '--tasks', '1000', '--span', '25000'], '--tasks × --span is 25000000; at most 6400000'],
];
const usageMessage = (args: readonly string[]): string => USAGE_CASES.find(([a]) => a.join('\0') === args.join('\0'))![1];

describe('ukern: usage errors are one line and status 2', () => {
  for (const [args, message] of USAGE_CASES) {
    test(`ukern ${args.map((a) => JSON.stringify(a)).join(' ')}`, async () => usageError(args, message, await here(args)));
  }
  test('a command name one slip away is suggested, by the help command as by the command line; a far one is not', async () => {
    for (const args of [['demoo'], ['help', 'demoo'], ['help', 'dmeo'], ['help', 'hlep']]) {
      const r = await here(args);
      assert.match(r.stderr, /\n\(Did you mean (demo|help)\?\)\n/, show(args, r));
    }
    for (const args of [['bogus'], ['help', 'bogus']]) {
      const r = await here(args);
      assert.doesNotMatch(r.stderr, /Did you mean/, show(args, r));
    }
  });
});

// The bin as a user runs it: its exit status for real, and the very output of the run in this process.
describe('ukern: the built bin, one run of each kind', { concurrency: true }, () => {
  for (const args of [['bogus'], ['demo', '--tasks', '0']]) {
    test(`ukern ${args.join(' ')}: a usage error, status 2`, async () => {
      const r = await ukern(args, USAGE_MS);
      usageError(args, usageMessage(args), r);
      assert.deepEqual(r, await here(args), show(args, r));
    });
  }

  test('--version: status 0, the version', async () => {
    const r = await ukern(['--version'], USAGE_MS);
    assert.equal(r.status, 0, show(['--version'], r));
    assert.equal(r.stdout, `${PKG.version}\n`);
    assert.deepEqual(r, await here(['--version']));
  });

  test('--help: status 0, the help on stdout', async () => {
    const r = await ukern(['--help'], USAGE_MS);
    assert.equal(r.status, 0, show(['--help'], r));
    assert.match(r.stdout, /^Usage: ukern \[options\] \[command\]/);
    assert.deepEqual(r, await here(['--help']));
  });

  test('no command: status 2, the help on stderr', async () => {
    const r = await ukern([], USAGE_MS);
    assert.equal(r.status, 2, show([], r));
    assert.match(r.stderr, /^Usage: ukern/);
    assert.doesNotMatch(r.stderr, STACK);
    assert.deepEqual(r, await here([]));
  });
});

/** A demo run: status 0, the last line 'done', no error output. */
async function demoRuns(args: readonly string[]): Promise<string> {
  const r = await ukern(args, DEMO_MS);
  assert.equal(r.signal, null, `timed out after ${DEMO_MS} ms\n${show(args, r)}`);
  assert.equal(r.status, 0, show(args, r));
  assert.match(r.stdout, /\ndone\n$/, show(args, r));
  assert.doesNotMatch(r.stderr, /Error|ERR_/, show(args, r));
  return r.stdout;
}

describe('ukern demo: every accepted value works', { concurrency: true }, () => {
  test('all parts at the minimum: --tasks 1 --workers 1', async () => {
    const out = await demoRuns(['demo', '--tasks', '1', '--workers', '1']);
    assert.match(out, /== LWPs: 1 worker LWPs/);
    assert.match(out, /all 1 results in \d+ ms: 2762 primes below 25000; [1-9]\d* timer events/);
    assert.match(out, /oneshot timer: \d+ ticks/);
  });

  test('ports: every result long before the first timer tick (--tasks 64 --span 1)', async () => {
    const out = await demoRuns(['demo', 'ports', '--tasks', '64', '--span', '1']);
    assert.match(out, /all 64 results in \d+ ms: 18 primes below 64; [1-9]\d* timer events/);
  });

  test('ports: --tasks 100000 (the most; more than port_max_events), tiny tasks', async () => {
    const out = await demoRuns(['demo', 'ports', '--tasks', '100000', '--span', '1']);
    assert.match(out, /all 100000 results in \d+ ms: 9592 primes below 100000/);
  });

  test('lwp: --workers 64 (the most)', async () => {
    const out = await demoRuns(['demo', 'lwp', '--workers', '64', '--tasks', '64', '--span', '100']);
    assert.match(out, /all collected by lwp_wait\(0\) in order [\d, ]+: 64 tasks, 834 primes below 6400/);
  });

  test('lwp: --tasks 100000 (the most), tiny tasks', async () => {
    const out = await demoRuns(['demo', 'lwp', '--tasks', '100000', '--span', '1']);
    assert.match(out, /: 100000 tasks, 9592 primes below 100000 in/);
  });

  test('kqueue', async () => {
    const out = await demoRuns(['demo', 'kqueue']);
    assert.match(out, /port \d+ readable \(1 event\): user 42/);
    assert.match(out, /user event 7: fflags 0x5 data 99/);
    assert.match(out, /oneshot timer: \d+ ticks/);
  });

  test('os', async () => {
    const out = await demoRuns(['demo', 'os']);
    assert.match(out, /child \d+ exited: wait status 0x300 \(exit code 3\)/);
    assert.match(out, /log changed: fflags 0x[0-9a-f]+ \(NOTE_WRITE\|NOTE_EXTEND\)/);
    assert.match(out, /aio read 23 bytes \("first line \/ second line"\); port event source PORT_SOURCE_AIO, user 7/);
  });

  test('a reader that goes away (ukern demo | head -1): status 0, no trace', async () => {
    const child = spawn(process.execPath, [MAIN, 'demo', 'kqueue'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    child.stdout.once('data', () => child.stdout.destroy());
    const killer = setTimeout(() => child.kill('SIGKILL'), DEMO_MS);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('close', (c, s) => r([c, s])));
    clearTimeout(killer);
    assert.equal(signal, null, `timed out; stderr ${stderr}`);
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, STACK);
  });
});
