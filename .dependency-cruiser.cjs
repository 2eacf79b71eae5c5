/**
 * The kernel's layers, checked by dependency-cruiser in CI (`npm run lint:layers`: any
 * violation fails):
 *
 *   kern  <-  subsystem internals (lwp, ports, timers, kqueue, signals, intr, aio)  <-  subsystem sys.ts
 *         <-  src/sys (the ukern/sys facade and its extensions)  <-  the class layer
 *
 * The class layer (src/ukern, src/lib, src/errors.ts, src/index.ts) calls only the sys layer;
 * kern imports nothing above it; subsystems meet each other through their sys.ts, consts.ts
 * and kapi.ts (the kernel interface each offers the others, stated in its header) or the
 * seams kern provides (kern/proc.ts hooks), not each other's internals. The command (src/cli)
 * is a user of the package: it imports the two public entries only (its bundle maps them to
 * the package's ukern/sys and ukern: scripts/bundle.mjs).
 */
const SUBSYS = '^src/(lwp|ports|timers|kqueue|signals|intr|aio)/';
// Kernel threads' entry modules: they load the whole kernel through the facade (kern/kmem.ts:
// a thread must register everything the booting thread laid out).
const ENTRIES = '^src/lwp/(trampoline|lwp0-kern)\\.ts$|^src/timers/clockthread\\.ts$|^src/intr/intrthread\\.ts$|^src/aio/aiothread\\.ts$';
const CLASS = '^src/(ukern|lib)/|^src/errors\\.ts$|^src/index\\.ts$';
module.exports = {
  forbidden: [
    {
      name: 'cli-uses-the-public-entries',
      comment: 'The ukern command imports the package as its users do: src/sys/index.ts and src/index.ts, nothing under them.',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/', pathNot: ['^src/cli/', '^src/sys/index\\.ts$', '^src/index\\.ts$'] },
    },
    {
      name: 'class-layer-uses-sys-only',
      comment: 'The ukern classes call the sys layer (src/sys), never kernel internals.',
      severity: 'error',
      from: { path: CLASS },
      to: { path: '^src/(kern|lwp|ports|timers|kqueue|signals|intr|aio)/' },
    },
    {
      name: 'kern-is-the-bottom',
      comment: 'kern/ is the core: it imports no subsystem, sys facade or class.',
      severity: 'error',
      from: { path: '^src/kern/' },
      to: { path: '^src/(lwp|ports|timers|kqueue|signals|intr|aio|sys|ukern|lib|cli)/|^src/errors\\.ts$|^src/index\\.ts$' },
    },
    {
      name: 'kernel-does-not-import-upward',
      comment: 'Subsystems do not import the sys facade or the class layer (the kernel threads\' entries load the whole facade: they are entry points, like src/index.ts).',
      severity: 'error',
      from: { path: SUBSYS, pathNot: ENTRIES },
      to: { path: '^src/(sys|ukern|lib|cli)/|^src/errors\\.ts$|^src/index\\.ts$' },
    },
    {
      name: 'subsystems-meet-through-sys',
      comment: "A subsystem uses another's sys.ts (its syscalls), consts.ts or kapi.ts (what it offers the kernel, a BSD-style header), never its other internals.",
      severity: 'error',
      from: { path: SUBSYS },
      to: { path: '^src/(lwp|ports|timers|kqueue|signals|intr|aio)/', pathNot: ['^src/$1/', 'sys\\.ts$', 'consts\\.ts$', 'kapi\\.ts$'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
