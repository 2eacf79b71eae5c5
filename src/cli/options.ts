/**
 * The demo's option limits and the parsers that enforce them. Kept apart
 * from program.ts (the command line) so the limits have one home and the
 * parsers stay plain functions: each takes the raw string and either
 * returns the integer or throws commander's InvalidArgumentError, whose
 * message commander prints as one line before the command ends with a usage
 * status; no user mistake reaches the kernel.
 */
import { InvalidArgumentError } from 'commander';

/** The parts of the demo `ukern demo [part]` runs. */
export const PARTS = ['all', 'lwp', 'ports', 'kqueue', 'os'] as const;
export type Part = (typeof PARTS)[number];

export const WORKERS_MAX = 64;
export const TASKS_MAX = 100_000;
/** Numbers per task when --span is not given (fewer when --tasks is large, see defaultSpan). */
export const SPAN_DEFAULT = 25_000;
/**
 * Most numbers the demo's LWPs test by trial division (--tasks × --span):
 * the default 256 tasks × 25,000, a few seconds of work. The cap keeps every
 * accepted combination short.
 */
export const RANGE_MAX = 6_400_000;

/** A parser for a decimal integer option in [min, max]; the message names the option and the range. */
export function intIn(flag: string, min: number, max: number): (raw: string) => number {
  return (raw: string): number => {
    const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} must be an integer from ${min} to ${max}.`);
    return n;
  };
}

/** --span when not given: 25,000 numbers a task, or fewer so that tasks × span stays within RANGE_MAX. */
export function defaultSpan(tasks: number): number {
  return Math.min(SPAN_DEFAULT, Math.floor(RANGE_MAX / tasks));
}

/** The usage error for a --tasks × --span product over RANGE_MAX, or null when it fits. */
export function rangeError(tasks: number, span: number): string | null {
  const range = tasks * span;
  return range <= RANGE_MAX ? null : `error: --tasks × --span is ${range}; at most ${RANGE_MAX} (lower --span, or leave it out to have it chosen)`;
}
