/**
 * The `ukern` command, on commander: `ukern demo [part]` (what `npm start`
 * runs), `ukern help [command]`, `--help`, `--version`. The command line is
 * parsed here, with no side effect on the process: the bin (main.ts) gives
 * it process.argv and process.stdout / stderr and exits with the status it
 * returns; the tests give it an argv and writers of their own and run it in
 * their own process (a child process per usage error cost ~0.15 s of CPU).
 *
 * How it fails. A user mistake (unknown command or option, a bad value, a
 * missing command) gets commander's one-line message on the error writer
 * and status 2, the usage status of POSIX utilities (commander's own would
 * be 1); no stack trace, and the kernel is never loaded: the demo modules
 * are imported only once the command line has parsed. A demo that fails
 * after that is a kernel or demo fault, not a usage error: status 1 with the
 * error's stack, which is what a bug report needs.
 */
import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, Option } from 'commander';
import { PARTS, WORKERS_MAX, TASKS_MAX, SPAN_DEFAULT, RANGE_MAX, intIn, defaultSpan, rangeError, type Part } from './options.js';

/** Where the command writes: the help, the version and the demo's lines go to writeOut, messages of errors to writeErr. */
export interface CliOutput {
  writeOut(s: string): void;
  writeErr(s: string): void;
  /**
   * The width to wrap help to on each (a terminal's columns); unset, 80,
   * commander's width for a pipe or a file. Given, not read from
   * process.stdout here, so that a run in a test process does not depend on
   * where that process's own output goes.
   */
  outColumns?: number | undefined;
  errColumns?: number | undefined;
}

const EX_USAGE = 2, EX_FAULT = 1;
/** Commander's help width when its output is no terminal. */
const HELP_WIDTH = 80;

/** The version in the package.json of the package this module belongs to (found walking up from it), read at run time. */
function packageVersion(): string {
  let dir = new URL('./', import.meta.url);
  for (let up = 0; up < 8; up++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'ukern' && typeof pkg.version === 'string') return pkg.version;
    } catch { /* no readable package.json here: look one level up */ }
    dir = new URL('../', dir);
  }
  return 'unknown (package.json not found)';
}

interface DemoFlags { workers: number; tasks: number; span?: number }

async function demo(part: Part, flags: DemoFlags, cmd: Command, io: CliOutput): Promise<void> {
  const span = flags.span ?? defaultSpan(flags.tasks);
  const bad = rangeError(flags.tasks, span);
  if (bad !== null) cmd.error(bad, { exitCode: EX_USAGE, code: 'ukern.range' });
  const { runDemo } = await import('./run.js');
  await runDemo(part, { workers: flags.workers, tasks: flags.tasks, span }, (line) => { io.writeOut(`${line}\n`); });
}

function program(io: CliOutput): Command {
  const p = new Command('ukern')
    .description('A userland kernel for Node.js: illumos event ports and POSIX timers, kqueue and NetBSD LWPs over shared memory across worker threads.')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'print this help and exit')
    // Our own help command, not commander's implicit one: that one printed
    // the whole help on stderr for `help bogus` (status 2 with no word of
    // what was wrong, where `ukern bogus` names it), took `help help` for a
    // mistake, and ignored unknown options and extra arguments after it.
    .helpCommand(false)
    .allowExcessArguments(false)
    .exitOverride()
    // Before the commands are added: each inherits the writers and the exit override.
    .configureOutput({
      writeOut: (s) => { io.writeOut(s); },
      writeErr: (s) => { io.writeErr(s); },
      getOutHelpWidth: () => io.outColumns ?? HELP_WIDTH,
      getErrHelpWidth: () => io.errColumns ?? HELP_WIDTH,
    })
    .addHelpText('after', `
Examples:
  ukern demo                          every part, 4 workers, 256 tasks
  ukern demo lwp --workers 8          only the LWP part, 8 worker LWPs
  ukern demo ports --tasks 10000      the ports pipeline with 10000 small tasks`);
  p.command('demo')
    .summary('run the demo: LWPs, event ports, timers, kqueue and OS sources at work')
    .description(`Run the demo on the kernel's default settings and print what happens:
  lwp     worker LWPs count primes from a task queue shared under a mutex
          built on lwp_park/lwp_unpark; one is suspended and continued
  ports   main -> work port -> filter LWPs -> results port -> main, with a
          POSIX timer ticking into the results port; port_alert stops it
  kqueue  one kqueue multiplexing an event port, a user event and two timers
  os      the host: a child's exit and a file's append (EVFILT_PROC,
          EVFILT_VNODE) and an AIO read completing on an event port
  all     the four in turn (the default)
Every prime count is checked against a sieve. Exit status: 0 when all went
well, 1 on a fault, 2 on a usage error.`)
    .addArgument(new Argument('[part]', 'which part to run').choices(PARTS).default('all'))
    .addOption(new Option('-w, --workers <n>', `worker LWPs of the lwp part, 1 to ${WORKERS_MAX} (the ports part runs one filter LWP per worker, at most 3)`).default(4).argParser(intIn('--workers', 1, WORKERS_MAX)))
    .addOption(new Option('-t, --tasks <n>', `prime-counting tasks, 1 to ${TASKS_MAX}`).default(256).argParser(intIn('--tasks', 1, TASKS_MAX)))
    .addOption(new Option('-s, --span <n>', `numbers each task tests, 1 to ${RANGE_MAX}, with tasks × span at most ${RANGE_MAX} (default: ${SPAN_DEFAULT}, or ${RANGE_MAX} ÷ tasks when that is less)`).argParser(intIn('--span', 1, RANGE_MAX)))
    .action((part: Part, flags: DemoFlags, cmd: Command) => demo(part, flags, cmd, io));
  p.command('help')
    .description('print the help of a command')
    .addArgument(new Argument('[command]', 'the command whose help to print (default: the help of ukern)'))
    .action((name: string | undefined): void => {
      if (name === undefined) { p.help(); return; }
      const sub = p.commands.find((c) => c.name() === name || c.aliases().includes(name));
      if (sub === undefined) {
        // As commander says it of `ukern demoo`, which it judges itself.
        const near = similar(name, p.commands.flatMap((c) => [c.name(), ...c.aliases()]));
        p.error(`error: unknown command '${name}'${near === undefined ? '' : `\n(Did you mean ${near}?)`}`, { exitCode: EX_USAGE, code: 'commander.unknownCommand' });
        return;
      }
      sub.help();
    });
  return p;
}

/**
 * The candidate nearest to `word`, if near enough to be a typing slip: at
 * most 2 edits (insert, delete, substitute, swap two neighbours) and more
 * than 40 % of the word kept, commander's own rule for its suggestions
 * (it does not export them); undefined when none is.
 */
function similar(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined, bestD = 3;
  for (const c of candidates) {
    const d = edits(word, c);
    if (d < bestD && (Math.max(word.length, c.length) - d) / Math.max(word.length, c.length) > 0.4) { best = c; bestD = d; }
  }
  return best;
}
/** Optimal string alignment distance between a and b. */
function edits(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Runs the command on `args` (the arguments after the program's name, as a
 * user typed them) and says how it ended: 0 when the command ran to its end
 * (a demo, the help, the version); 2 for a usage error, its message written
 * by commander; 1 for a fault, its stack written here. Nothing calls
 * process.exit: the caller decides (main.ts exits with it).
 */
export async function runCommand(args: readonly string[], io: CliOutput): Promise<number> {
  try {
    await program(io).parseAsync(args, { from: 'user' });
    return 0;
  } catch (e) {
    // Commander has already written its message (or the help, or the version).
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EX_USAGE;
    io.writeErr(`ukern: the demo failed (a fault, not a usage error):\n${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    return EX_FAULT;
  }
}
