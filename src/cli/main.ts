#!/usr/bin/env node
/**
 * The `ukern` bin: runs the command (program.ts, which says what it does and
 * how it fails) on process.argv, writing to stdout and stderr, and exits
 * with its status: 2 for a usage error, 1 for a fault. A run that ended well
 * (status 0) leaves the process to end by itself: at once after the help or
 * the version (nothing else was started), once its work is done after a demo.
 */
import { runCommand } from './program.js';

// `ukern demo | head`: the reader left; that is no failure of ours.
process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); else throw e; });

const status = await runCommand(process.argv.slice(2), {
  writeOut: (s) => { process.stdout.write(s); },
  writeErr: (s) => { process.stderr.write(s); },
  // Help wraps to a terminal's width, as commander's own output did.
  outColumns: process.stdout.isTTY ? process.stdout.columns : undefined,
  errColumns: process.stderr.isTTY ? process.stderr.columns : undefined,
});
if (status !== 0) process.exit(status);
