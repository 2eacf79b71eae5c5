/**
 * sigset_t: a set of signals 1..NSIG-1 as two 32-bit words (bit (s-1) & 31
 * of word (s-1) >> 5), the same shape the kernel keeps its masks and pending
 * sets in (sigstate.ts), so a set moves between user and kernel memory as
 * two words. The class is opaque to the user: made by sigemptyset /
 * sigfillset, changed by sigaddset / sigdelset.
 */
import { fail } from '../kern/errno.js';
import { copyin_int, copyin_instanceof, copyin_fault, arg_type } from '../kern/copyin.js';
import { NSIG, SIGKILL, SIGSTOP } from './consts.js';

/** A set of signals (glibc's sigset_t, opaque). */
export class sigset_t {
  /** @internal */ w0 = 0;
  /** @internal */ w1 = 0;
  /** The members, in increasing order (for display and tests). */
  toArray(): number[] {
    const out: number[] = [];
    for (let s = 1; s < NSIG; s++) if (sig_has(this.w0, this.w1, s)) out.push(s);
    return out;
  }
}

/** Word index (0 or 1) and bit of signo. */
export function sig_word(s: number): number { return (s - 1) >> 5; }
export function sig_bit(s: number): number { return 1 << ((s - 1) & 31); }
export function sig_has(w0: number, w1: number, s: number): boolean {
  return ((sig_word(s) === 0 ? w0 : w1) & sig_bit(s)) !== 0;
}
/** The set {SIGKILL, SIGSTOP}, which no mask may hold (both are in word 0). */
export const CANTMASK0 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));

/** The lowest member of (w0, w1), or 0 when empty. */
export function sig_first(w0: number, w1: number): number {
  if (w0 !== 0) return 32 - Math.clz32(w0 & -w0);
  if (w1 !== 0) return 32 + 32 - Math.clz32(w1 & -w1);
  return 0;
}

/**
 * The lowest member of (w0, w1) above s, or 0: with sig_first, the walk of
 * a set's members, `for (s = sig_first(w0, w1); s !== 0; s = sig_next(w0, w1, s))`.
 */
export function sig_next(w0: number, w1: number, s: number): number {
  if (s < 32) {
    const r0 = w0 & (-1 << s); // signals 1..s are bits 0..s-1 of word 0
    if (r0 !== 0) return sig_first(r0, 0);
    return sig_first(0, w1);
  }
  if (s >= 64) return 0;
  const r1 = w1 & (-1 << (s - 32));
  return r1 === 0 ? 0 : sig_first(0, r1);
}

/** Copies in a signal number: EINVAL unless 1 <= signo < NSIG (0 too when `zero`). */
export function copyin_signo(v: unknown, syscall: string, zero = false): number {
  const s = copyin_int(v, 'signo', syscall);
  if (s < (zero ? 0 : 1) || s >= NSIG) fail('EINVAL', syscall, `signal ${s}`);
  return s;
}

/** Copies in a sigset_t (its two words, read once). */
export function copyin_sigset(v: unknown, what: string, syscall: string): readonly [number, number] {
  if (!copyin_instanceof(v, sigset_t, what, syscall)) arg_type(syscall, `${what} must be a sigset_t (made by sigemptyset or sigfillset)`);
  // Each word read once, and taken only as a number: the fields are plain
  // properties a program can overwrite (a Symbol or a BigInt threw the
  // engine's TypeError in `| 0`, an object's valueOf ran there).
  let w0: unknown, w1: unknown;
  try { w0 = v.w0; w1 = v.w1; } catch (e) { copyin_fault(e, v, what, syscall); }
  if (typeof w0 !== 'number' || typeof w1 !== 'number') arg_type(syscall, `${what} is not a sigset_t: its words were overwritten`);
  return [w0 | 0, w1 | 0];
}

/** A sigset_t holding (w0, w1). */
export function sigset_of(w0: number, w1: number): sigset_t {
  const s = new sigset_t();
  s.w0 = w0; s.w1 = w1;
  return s;
}

/** An empty set. */
export function sigemptyset(): sigset_t { return new sigset_t(); }
/** A set of every signal. */
export function sigfillset(): sigset_t {
  const s = new sigset_t();
  s.w0 = -1; s.w1 = -1; // signals 1..64: NSIG - 1 = 64 bits
  return s;
}
function set_arg(set: unknown, syscall: string): sigset_t {
  if (!copyin_instanceof(set, sigset_t, 'set', syscall)) arg_type(syscall, 'set must be a sigset_t (made by sigemptyset or sigfillset)');
  let ok = false;
  try { ok = typeof set.w0 === 'number' && typeof set.w1 === 'number'; } catch (e) { copyin_fault(e, set, 'set', syscall); }
  if (!ok) arg_type(syscall, 'set is not a sigset_t: its words were overwritten');
  return set;
}
/** Adds signo to set. EINVAL for a bad signal number. */
export function sigaddset(set: sigset_t, signo: number): void {
  const t = set_arg(set, 'sigaddset');
  const s = copyin_signo(signo, 'sigaddset');
  if (sig_word(s) === 0) t.w0 |= sig_bit(s); else t.w1 |= sig_bit(s);
}
/** Removes signo from set. EINVAL for a bad signal number. */
export function sigdelset(set: sigset_t, signo: number): void {
  const t = set_arg(set, 'sigdelset');
  const s = copyin_signo(signo, 'sigdelset');
  if (sig_word(s) === 0) t.w0 &= ~sig_bit(s); else t.w1 &= ~sig_bit(s);
}
/** Is signo a member of set? EINVAL for a bad signal number. */
export function sigismember(set: sigset_t, signo: number): boolean {
  const t = set_arg(set, 'sigismember');
  return sig_has(t.w0, t.w1, copyin_signo(signo, 'sigismember'));
}
