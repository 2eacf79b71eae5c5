/**
 * The OS part of the `npm start` demo: the kernel meeting the host. One
 * kqueue watches a child process (EVFILT_PROC NOTE_EXIT: its wait status,
 * though Node reaps it) and a temporary file (EVFILT_VNODE: the appends of
 * this thread), and an AIO read of that file completes on an event port
 * (PORT_SOURCE_AIO) while the Promise form collects its bytes. Returns the
 * lines it would print; a deadline ends it with an error if the kernel never
 * delivers.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KQueue, Port, aio } from '../index.js';
import { EVFILT_PROC, EVFILT_VNODE, EV_CLEAR, NOTE_EXIT, NOTE_WRITE, NOTE_EXTEND, PORT_SOURCE_AIO } from '../sys/index.js';

/**
 * How long the demo waits for the kernel before it reports the kernel at
 * fault: long, since it starts a Node child process, which on a loaded
 * 2-CPU machine took most of the 10 s this was.
 */
const DEADLINE_MS = 30_000;

export async function osDemo(): Promise<string[]> {
  const lines: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'ukern-demo-'));
  const path = join(dir, 'log');
  writeFileSync(path, 'first line\n');
  const signal = AbortSignal.timeout(DEADLINE_MS);
  const t0 = Date.now();
  const at = (): string => `${String(Date.now() - t0).padStart(4)} ms`;
  using kq = new KQueue();
  using port = new Port();
  try {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => process.exit(3), 30)'], { stdio: 'ignore' });
    kq.watch(child, 'proc', { fflags: NOTE_EXIT });
    const file = kq.watch(path, 'vnode', { flags: EV_CLEAR, fflags: NOTE_WRITE | NOTE_EXTEND });
    const appending = setTimeout(() => appendFileSync(path, 'second line\n'), 10);
    const seen = new Set<number>();
    try {
      for await (const ev of kq.events({ signal })) {
        if (ev.filter === EVFILT_PROC) lines.push(`${at()}  child ${ev.ident} exited: wait status 0x${ev.data.toString(16)} (exit code ${ev.data >> 8})`);
        if (ev.filter === EVFILT_VNODE && ev.ident === file) lines.push(`${at()}  ${path.slice(dir.length + 1)} changed: fflags 0x${ev.fflags.toString(16)} (NOTE_WRITE|NOTE_EXTEND)`);
        seen.add(ev.filter);
        if (seen.size === 2) break;
      }
    } catch (e) {
      if (!signal.aborted) throw e; // an aborted wait may end the loop quietly or reject: both are the deadline
    } finally {
      clearTimeout(appending);
    }
    if (seen.size !== 2) {
      const missing = [[EVFILT_PROC, 'child exit (EVFILT_PROC)'], [EVFILT_VNODE, 'file change (EVFILT_VNODE)']].filter(([f]) => !seen.has(f as number)).map(([, n]) => n);
      throw new Error(`os demo: no ${missing.join(', ')} event in ${DEADLINE_MS} ms`);
    }
    const fd = openSync(path, 'r');
    try {
      const buf = aio.buffer(64);
      const late = (what: string) => (e: unknown): never => {
        if (signal.aborted || (e as { code?: unknown }).code === 'ETIME') throw new Error(`os demo: ${what} in ${DEADLINE_MS} ms`, { cause: e });
        throw e;
      };
      const n = await aio.read(fd, buf, 0, { port: port.fd, user: 7, signal }).catch(late('the aio read did not complete'));
      const ev = await port.get({ timeout: DEADLINE_MS }).catch(late('no PORT_SOURCE_AIO event'));
      lines.push(`${at()}  aio read ${n} bytes ("${Buffer.from(buf.subarray(0, n)).toString().trim().replace('\n', ' / ')}"); port event source ${ev.portev_source === PORT_SOURCE_AIO ? 'PORT_SOURCE_AIO' : ev.portev_source}, user ${ev.portev_user}`);
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}
