/**
 * KQueue#watch(child, 'proc') of a ChildProcess that has exited: Node has
 * reaped it (its 'exit' was emitted), so its pid is free and may name
 * another process by now. The class passed child.pid to the kernel all the
 * same: ESRCH while the pid was free, but once the host gave it to a new
 * process the watch registered on that one and reported its exit as the
 * child's. Now an exited ChildProcess is ESRCH without asking the kernel.
 *
 * The reuse is made, not waited for: as root, /proc/sys/kernel/ns_last_pid
 * set to the pid before it makes the next process take that pid (retried
 * when another process of the namespace takes it first; skipped where the
 * file cannot be written).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants as F, writeFileSync } from 'node:fs';
import { KQueue, Port, NOTE_EXIT, EVFILT_PROC, EVFILT_READ, POLLIN } from 'ukern';
import type { Socket } from 'node:net';
import { within } from './helpers.js';

test('watch(exited ChildProcess, "proc") is ESRCH (exited, killed); a running one reports its exit status', async () => {
  const kq = new KQueue();
  try {
    const done = spawn('/bin/sh', ['-c', 'exit 4'], { stdio: 'ignore' });
    await once(done, 'exit');
    assert.throws(() => kq.watch(done, 'proc', { fflags: NOTE_EXIT }), { name: 'SysError', code: 'ESRCH' });
    const killed = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    killed.kill('SIGKILL');
    await once(killed, 'exit');
    assert.equal(killed.signalCode, 'SIGKILL');
    assert.throws(() => kq.watch(killed, 'proc', { fflags: NOTE_EXIT }), { name: 'SysError', code: 'ESRCH' });
    const live = spawn('/bin/sh', ['-c', 'read x; exit 5'], { stdio: ['pipe', 'ignore', 'ignore'] });
    assert.equal(kq.watch(live, 'proc', { fflags: NOTE_EXIT }), live.pid);
    live.stdin!.end('go\n');
    const evs = await within(kq.wait({ timeout: 10_000 }), 11_000, 'NOTE_EXIT');
    assert.deepEqual(evs.map((e) => [e.ident, e.filter, e.data]), [[live.pid, EVFILT_PROC, 5 << 8]]);
  } finally {
    kq.close();
  }
});

test('unwatch(ChildProcess, "proc") after its exit still ends the watch made while it ran, withdrawing its queued event', async () => {
  const kq = new KQueue();
  try {
    const child = spawn('/bin/sh', ['-c', 'exit 2'], { stdio: 'ignore' });
    kq.watch(child, 'proc', { fflags: NOTE_EXIT });
    await once(child, 'exit');
    // The kernel's NOTE_EXIT may still be on its way: wait until it is queued, without taking it.
    const seen = new KQueue();
    try {
      seen.register(kq.fd, EVFILT_READ); // a kqueue is readable while it holds events
      assert.equal((await within(seen.wait({ timeout: 10_000 }), 11_000, 'NOTE_EXIT queued')).length, 1);
    } finally { seen.close(); }
    kq.unwatch(child, 'proc');
    assert.deepEqual(kq.waitSync({ timeout: 0 }), [], 'the exit event went with the watch');
    assert.throws(() => kq.unwatch(child, 'proc'), { code: 'ENOENT' });
  } finally {
    kq.close();
  }
});

test('a ChildProcess for a descriptor kind is ERR_INVALID_ARG_TYPE naming \'proc\' (it is no socket); its stdio streams are watched', async () => {
  const kq = new KQueue();
  const port = new Port();
  const child = spawn('/bin/sh', ['-c', 'read x'], { stdio: ['pipe', 'pipe', 'ignore'] });
  try {
    for (const kind of ['read', 'write', 'except', 'vnode'] as const) {
      assert.throws(() => kq.watch(child, kind), (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARG_TYPE' && /'proc'/.test(e.message) && !/socket has no descriptor/.test(e.message), kind);
    }
    assert.throws(() => port.associate(child as unknown as number, POLLIN), { code: 'ERR_INVALID_ARG_TYPE' });
    const w = kq.watch(child.stdin as unknown as Socket, 'write'); // a net.Socket (typed Writable)
    assert.ok((await within(kq.wait({ timeout: 5000 }), 6000, 'stdin writable')).some((e) => e.ident === w));
  } finally {
    kq.close(); port.close();
    child.stdin!.end('\n');
    await once(child, 'exit');
  }
});

function ns_last_pid_writable(): boolean {
  try { accessSync('/proc/sys/kernel/ns_last_pid', F.W_OK); return process.getuid?.() === 0; } catch { return false; }
}

test('watch(exited ChildProcess, "proc") never watches the process that reuses its pid', { skip: !ns_last_pid_writable() && 'needs a writable /proc/sys/kernel/ns_last_pid (root)' }, async (t) => {
  const gone = spawn('/bin/true', [], { stdio: 'ignore' });
  await once(gone, 'exit');
  const pid = gone.pid!;
  let reuser: ChildProcess | undefined;
  const kq = new KQueue();
  try {
    for (let i = 0; i < 50 && reuser === undefined; i++) {
      writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
      const c = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
      if (c.pid === pid) reuser = c;
      else { c.kill('SIGKILL'); await once(c, 'exit'); }
    }
    if (reuser === undefined) { t.skip('another process kept taking the pid'); return; }
    assert.equal(reuser.pid, gone.pid, 'the pid names another process now');
    let registered = false;
    try {
      kq.watch(gone, 'proc', { fflags: NOTE_EXIT });
      registered = true;
    } catch (e) {
      assert.equal((e as { code?: unknown }).code, 'ESRCH');
    }
    reuser.kill('SIGKILL');
    await once(reuser, 'exit');
    const evs = await kq.wait({ timeout: 0 });
    assert.equal(registered, false, `registered on the process that reused pid ${pid}; its exit reported as the child's: ${JSON.stringify(evs)}`);
    assert.deepEqual(evs, []);
  } finally {
    kq.close();
    if (reuser !== undefined && reuser.exitCode === null && reuser.signalCode === null) reuser.kill('SIGKILL');
  }
});
