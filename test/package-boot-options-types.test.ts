/**
 * The package's BootOptions type as a consumer's TypeScript sees it. Each
 * subsystem adds its tunables to BootOptions by module augmentation
 * (kern/options.ts), and a consumer's compiler reads only the declaration
 * files the package's entries (`ukern`, `ukern/sys`: build/src/index.d.ts,
 * build/src/sys/index.d.ts) reach: the augmentations of modules no entry
 * reached were not there, so `boot({ port_max_events: 4 })`, the README's
 * own resource controls, did not compile in a strict project (27 of the
 * tunables, every one of ports, kqueue, timers, signals, intr and aio) while
 * the kernel took them. This test type-checks, by the package's name, a
 * consumer that passes every tunable the kernel declares (tunable_defs) to
 * both entries' BootOptions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import '../src/sys/index.js';
import { tunable_defs } from '../src/kern/options.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('every boot option the kernel takes is in the BootOptions of ukern and ukern/sys, as a consumer compiles them; ukern names the kernel\'s shapes too', () => {
  const defs = tunable_defs();
  assert.ok(defs.size >= 30, `the kernel declared ${defs.size} tunables (the subsystems' modules were not all loaded?)`);
  const fields = [...defs].map(([name, t]) => `  ${name}: ${t.flag ? 'true' : String(t.dflt)},`).join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'ukern-bootopts-'));
  try {
    // A consumer project: the package (this checkout) and Node's types under node_modules.
    mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
    symlinkSync(root, join(dir, 'node_modules', 'ukern'), 'dir');
    symlinkSync(join(root, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    writeFileSync(join(dir, 'consumer.ts'), `import type { BootOptions } from 'ukern';
import type { BootOptions as SysBootOptions } from 'ukern/sys';
// The shapes the classes hand out (KQueue's events, Port's events, watchFile's object), from ukern itself.
import type { kevent_t, port_event_t, file_obj_t } from 'ukern';
export type Shapes = [kevent_t['udata'], port_event_t['portev_user'], file_obj_t['fo_name']];
export const a: BootOptions = {
${fields}
};
export const b: SysBootOptions = {
${fields}
};
`);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node'], noEmit: true, skipLibCheck: true },
      files: ['consumer.ts'],
    }));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.error, undefined, String(r.error));
    assert.equal(r.status, 0, `a consumer's tsc rejected documented boot options:\n${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
