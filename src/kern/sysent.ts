/**
 * The syscall boundary. Every syscall starts with {@link sysenter}: it boots
 * the kernel on first use and runs the LWP's pending work (NetBSD's
 * lwp_userret: suspension now, signals later) when its flag word says there
 * is some. The common case costs one plain load.
 */
import { I32 } from './kmem.js';
import { cur } from './hdr.js';
import { booted, boot } from './boot.js';

let flagOff = 0;
let userretMask = 0;
let userretFn: () => void = () => {};

/** Installed by the LWP layer: where the LWP flag word is, which bits need userret, and the handler. */
export function sysent_set_userret_hook(flagWordOffset: number, mask: number, fn: () => void): void {
  flagOff = flagWordOffset; userretMask = mask; userretFn = fn;
}

/** Syscall entry. */
export function sysenter(): void {
  const l = cur.lwp;
  if (l === 0) { if (!booted()) boot(); return; }
  if ((I32[l + flagOff] & userretMask) !== 0) userretFn();
}
