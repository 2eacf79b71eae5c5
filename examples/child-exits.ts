/**
 * An LWP collects the exits of the main thread's child processes: the main
 * thread spawns them and watches each with a kqueue (EVFILT_PROC,
 * NOTE_EXIT), an LWP blocks in kevent and prints every wait status as it
 * comes, while Node itself still reaps the children and sees their 'exit'.
 * Run: npm run build && node build/examples/child-exits.js
 */
import { spawn } from 'node:child_process';
import { KQueue, Lwp, kstat, NOTE_EXIT } from 'ukern';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** The collector: `n` exits from kqueue `fd`, each printed with its decoded wait status. */
export function collect(arg: { fd: number; n: number }): string[] {
  const kq = new KQueue({ fd: arg.fd });
  const lines: string[] = [];
  while (lines.length < arg.n) {
    for (const ev of kq.waitSync({ max: 8, timeout: 10_000 })) {
      const st = ev.data;
      const how = (st & 0x7f) === 0 ? `exited ${st >> 8}` : `killed by signal ${st & 0x7f}`;
      lines.push(`pid ${ev.ident}: ${how}`);
    }
  }
  return lines;
}

// Run as a program, not loaded as an LWP's module: argv[1] is the path as typed, import.meta.url
// the real one (through a symlink, or with a '#' or '%' in the path, a plain URL of argv[1] differed).
const isMain = ((): boolean => {
  try { return import.meta.url === pathToFileURL(realpathSync(process.argv[1] ?? '')).href; } catch { return false; }
})();
if (isMain) {
  const kq = new KQueue();
  const codes = [0, 3, 42];
  const kids = codes.map((c) => spawn(process.execPath, ['-e', `setTimeout(() => process.exit(${c}), 50)`], { stdio: 'ignore' }));
  kids.push(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }));
  await Promise.all(kids.map((c) => new Promise((r) => c.once('spawn', r))));
  for (const c of kids) kq.watch(c, 'proc', { fflags: NOTE_EXIT });
  const collector = Lwp.create({ module: new URL(import.meta.url), export: 'collect', arg: { fd: kq.fd, n: kids.length } });
  const nodeSaw = kids.map((c) => new Promise<string>((r) => c.once('exit', (code, sig) => r(`${c.pid}: ${code ?? sig}`))));
  kids[3]!.kill('SIGTERM');
  const lines = (await collector.wait()) as string[];
  for (const l of lines.sort()) console.log(`LWP: ${l}`);
  console.log(`Node's 'exit' events: ${(await Promise.all(nodeSaw)).join(', ')}`);
  const how = kstat('intr')['intr.waitid_state'] === 1 ? 'io_uring waitid and the pidfds' : 'the pidfds';
  console.log(`heard through ${how}; statuses from waitid ${kstat('kqueue')['kqueue.proc_exit_waitid']}, after Node reaped ${kstat('kqueue')['kqueue.proc_exit_pidfs']}`);
  kq.close();
}
