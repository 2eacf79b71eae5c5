/**
 * Boot and attach. The first thread to make a syscall (or to call boot)
 * creates kernel memory and becomes LWP 1 of process 1. Every other thread
 * the kernel starts (LWPs, helper threads) attaches to the same memory with
 * the {@link KernelImage} it is handed.
 */
import { create_memory, apply_layout, map_memory, kregion_create, I32, SAB, type LayoutTable } from './kmem.js';
import { panic_msg_region, PANIC_MSG_UNITS } from './panic.js';
import { kstat_names, kstat_remap } from './kstat.js';
import { resolve_options, type BootOptions, type Tunables } from './options.js';
import { get_epoch, set_epoch, get_real_at_boot, set_real_at_boot } from './time.js';
import { H_MAGIC, MAGIC, H_NEXT_SYSID, SYSID_BASE, cur } from './hdr.js';
import { fdtab_init } from './fdtab.js';
import { fail, KernelLayoutError } from './errno.js';
import { lockdebug_init } from './lockdebug.js';

// The first panic's message, for every thread's EIO (panic.ts).
panic_msg_region(kregion_create('panicmsg', () => 1 + PANIC_MSG_UNITS / 2));

/**
 * Each kernel helper thread's lock count (cur.nlocksw), a word of its own
 * by its system id: an LWP counts in its struct, and the threads that are
 * none (the clock, intr and aio threads, lwp0) all counted in one header
 * word, H_SCRATCH, so one of them holding a mutex made every other read a
 * lock held, and their plain increments of one word from several threads
 * lost updates (the count stayed wrong for good). Ids are handed out in
 * order and these threads live as long as the process: two live ones share
 * a word only after SYS_NLOCKS further attaches (failed starts included).
 * H_SCRATCH stays the word of a thread with no owner id (a pool worker
 * between two LWPs), which cannot take a mutex.
 */
const SYS_NLOCKS = 1024;
const sysNlocks = kregion_create('sys_nlocks', () => SYS_NLOCKS);

/** What a thread needs to attach to the kernel: passed in workerData. */
export interface KernelImage {
  sab: SharedArrayBuffer;
  tunables: Tunables;
  layout: LayoutTable;
  /** kstat counter names in the booting thread's order. */
  counters: readonly string[];
  epoch: bigint;
  realAtBoot: number;
  /**
   * Whether boot was given lwp_pool explicitly: then lwp0 prestarts that
   * many workers when it starts; by default the pool fills from the first
   * lwp_create on (each worker costs ~8 MiB; a program that never creates an
   * LWP should not pay for them: src/lwp/lwp0.ts).
   */
  prestart: boolean;
  /**
   * The kernel script and its code cache in shared memory, for the threads
   * the kernel starts to compile without reading the files (src/loader.ts
   * says why); set by {@link kernel_text_share} when this kernel came from
   * the bundle's loader. Absent: they read the files.
   */
  text?: KernelText;
}

/** The kernel script's bytes (latin1) and then its code cache's, in one shared buffer: byte lengths of each. */
export interface KernelText { sab: SharedArrayBuffer; script: number; cache: number }

let image: KernelImage | undefined;
let tun: Tunables = resolve_options(undefined);

/** The tunables in force (defaults before boot). */
export function tunables(): Tunables { return tun; }
/** True once this thread is booted or attached. */
export function booted(): boolean { return image !== undefined; }
/** This thread's kernel image (boot first). */
export function kernel_image(): KernelImage {
  if (image === undefined) fail('EINVAL', 'kernel_image', 'kernel not booted');
  return image;
}

/**
 * Offers the kernel text of this thread's loader (the provider src/loader.ts
 * leaves on globalThis) to the threads it starts from now on: set on its
 * kernel image once, so that every later start, and the threads those
 * start, pass the same memory. Making it costs this thread ~3 ms (~0.9 MB of
 * fresh shared memory written: page faults, on this VM the larger part)
 * and saves each worker started with it about as much of its own start: so
 * it is made before a thread's second start (lwp/spawn.ts before_start),
 * never for the first, whose worker reads the files beside its starter in
 * that time, and a burst of LWPs saves it for every worker but the first.
 * A thread started with a text already has it on its image; the compiled
 * tree offers none.
 */
export function kernel_text_share(): void {
  const img = kernel_image();
  if (img.text !== undefined) return;
  const provide = (globalThis as { [k: symbol]: unknown })[Symbol.for('ukern.kernel.text')];
  if (typeof provide === 'function') img.text = (provide as () => KernelText)();
}

type Hook = () => void;
const bootHooks: Hook[] = [];
/** Runs once at boot, after memory exists, in registration order (subsystem init). */
export function on_boot(fn: Hook): void { bootHooks.push(fn); }

/**
 * Boots the kernel with the given resource controls. Optional: the first
 * syscall boots with defaults. Calling it again after boot is EBUSY.
 */
export function boot(options?: BootOptions): void {
  if (image !== undefined) fail('EBUSY', 'boot', 'kernel already booted');
  const given = new Set<string>();
  const t = resolve_options(options, given);
  // The options' getters ran just now, and a syscall made from one boots the
  // kernel (its sysenter): this boot is then the second one. Going on laid
  // a new kernel over it, and what it already held (a port, an LWP's
  // worker attached to its memory) was lost or split from the rest.
  if (image !== undefined) fail('EBUSY', 'boot', 'kernel booted while the options were read');
  const { sab, table } = create_memory(t);
  tun = t;
  lockdebug_init(t.lockdebug === 1);
  const prestart = given.has('lwp_pool'); // from the one read of it (a second could answer otherwise)
  image = { sab, tunables: t, layout: table, counters: kstat_names(), epoch: get_epoch(), realAtBoot: get_real_at_boot(), prestart };
  I32[H_NEXT_SYSID] = SYSID_BASE;
  fdtab_init();
  for (const h of bootHooks) h();
  // The LWP layer makes the booting thread LWP 1; if it is not loaded, the
  // thread still needs a non-zero owner id for kernel mutexes.
  if (cur.lid === 0) cur.lid = 1;
  Atomics.store(I32, H_MAGIC, MAGIC);
}

/** Attaches this thread to a booted kernel. */
export function attach(img: KernelImage): void {
  if (image !== undefined) fail('EBUSY', 'attach', 'thread already attached');
  apply_layout(img.layout);
  kstat_remap(img.counters);
  map_memory(img.sab);
  if (Atomics.load(I32, H_MAGIC) !== MAGIC) throw new KernelLayoutError('attaching to memory that is not a booted kernel');
  set_epoch(img.epoch);
  set_real_at_boot(img.realAtBoot);
  tun = img.tunables;
  lockdebug_init(tun.lockdebug === 1);
  image = img;
}

/** Gives a kernel helper thread its owner id for kernel mutexes. */
export function attach_system_thread(img: KernelImage): void {
  attach(img);
  cur.lid = Atomics.add(I32, H_NEXT_SYSID, 1);
  cur.lwp = 0;
  cur.nlocksw = sysNlocks.base + (cur.lid - SYSID_BASE) % SYS_NLOCKS;
  I32[cur.nlocksw] = 0;
}

/** Boots with defaults if nothing has (the first syscall's path). */
export function ensure_booted(): void { if (image === undefined) boot(); }

export { SAB };
