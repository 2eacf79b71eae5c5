/**
 * Wait messages: short names of what a sleeping LWP waits for ('parked',
 * 'lwpwait', 'portget'), shown by the LWP snapshot. Codes are assigned at
 * module load, identically in every thread.
 */
const names: string[] = [''];
/** Registers a wait message; returns its code. */
export function wmesg_register(name: string): number { names.push(name); return names.length - 1; }
export function wmesg_name(code: number): string { return names[code] ?? `wmesg#${code}`; }
