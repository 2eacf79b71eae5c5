/**
 * EVFILT_PROC on real processes (src/kqueue/filters/proc.ts): NOTE_EXIT with
 * the wait status of a child (exit codes, signals), a zombie child found and
 * reported at registration, a non-child (a grandchild, pid 1: data 0),
 * ESRCH for a reaped or unused pid, ENOTSUP for NOTE_FORK / NOTE_EXEC /
 * NOTE_TRACK, and every EV_* flag; the pidfd is closed at detach. Cases
 * after libkqueue's test/proc.c and the seed's filt_proc; every wait has a
 * deadline (kevent's timeout, or the helpers').
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as sys from 'ukern/sys';
import { exits, exits_on_cue, cue, sleeper, exited, block_until_zombie, with_grandchild, open_fds } from './fixtures/proc.js';

const {
  EV_SET, kevent, kqueue, close, EVFILT_PROC, EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_ONESHOT, EV_CLEAR,
  EV_DISPATCH, EV_RECEIPT, EV_ERROR, EV_EOF, EV_NODATA, NOTE_EXIT,
} = sys;
const E = constants.errno;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const SOON = { tv_sec: 10, tv_nsec: 0 };
const EXITED = EV_ADD | EV_CLEAR | EV_ONESHOT | EV_EOF | EV_NODATA;
const pr = (pid: number, flags: number, fflags = NOTE_EXIT, udata = 0) => EV_SET(pid, EVFILT_PROC, flags, fflags, 0, udata);
function change(kq: number, ...c: sys.kevent_t[]): void { assert.deepEqual(kevent(kq, c, 0, ZERO), []); }
const errOf = (kq: number, c: sys.kevent_t) => kevent(kq, [c], 1, ZERO)[0]!;
const sources = () => sys.kstat('intr')['intr.sources']!;

test('NOTE_EXIT: data = the wait status of an exit code; EV_EOF | EV_NODATA | EV_ONESHOT, EV_CLEAR set; then gone', async () => {
  const c = exits(7, 50);
  const kq = kqueue();
  change(kq, pr(c.pid!, EV_ADD, NOTE_EXIT, 42));
  assert.deepEqual(kevent(kq, null, 4, SOON), [{ ident: c.pid, filter: EVFILT_PROC, flags: EXITED, fflags: NOTE_EXIT, data: 7 << 8, udata: 42 }]);
  assert.deepEqual(kevent(kq, null, 4, ZERO), [], 'reported once');
  assert.equal(errOf(kq, pr(c.pid!, EV_DELETE)).data, E.ENOENT, 'the oneshot knote was dropped');
  assert.deepEqual(await exited(c), [7, null], 'Node still reaped it with its status');
  close(kq);
});

test('NOTE_EXIT: exit 0, SIGKILL and SIGTERM give 0, 9 and 15', async () => {
  const a = exits(0, 50), b = sleeper(), d = sleeper();
  const kq = kqueue();
  change(kq, pr(a.pid!, EV_ADD), pr(b.pid!, EV_ADD), pr(d.pid!, EV_ADD));
  b.kill('SIGKILL'); d.kill('SIGTERM');
  const got = new Map<number, number>();
  const end = Date.now() + 10_000;
  while (got.size < 3 && Date.now() < end) for (const e of kevent(kq, null, 4, SOON)) got.set(e.ident, e.data);
  assert.deepEqual([got.get(a.pid!), got.get(b.pid!), got.get(d.pid!)], [0, 9, 15]);
  assert.deepEqual((await Promise.all([exited(a), exited(b), exited(d)])).map((x) => x.join()), ['0,', ',SIGKILL', ',SIGTERM']);
  close(kq);
});

test('a child that exited before registration (a zombie Node has not reaped) reports at once', async () => {
  const c = exits(3);
  block_until_zombie(c.pid!);
  const kq = kqueue();
  assert.deepEqual(kevent(kq, [pr(c.pid!, EV_ADD)], 4, ZERO), [{ ident: c.pid, filter: EVFILT_PROC, flags: EXITED, fflags: NOTE_EXIT, data: 3 << 8, udata: 0 }]);
  assert.deepEqual(await exited(c), [3, null], 'left for Node to reap');
  close(kq);
});

test('ESRCH: a child Node reaped already, an unused pid, pid 0; a negative ident is EINVAL', async () => {
  const c = exits(0);
  await exited(c);
  const kq = kqueue();
  for (const pid of [c.pid!, 0x7ffffff0, 0]) {
    assert.deepEqual(errOf(kq, pr(pid, EV_ADD)), { ident: pid, filter: EVFILT_PROC, flags: EV_ERROR, fflags: 0, data: E.ESRCH, udata: 0 });
    assert.throws(() => kevent(kq, [pr(pid, EV_ADD)], 0, ZERO), { code: 'ESRCH' });
  }
  assert.throws(() => kevent(kq, [pr(-1, EV_ADD)], 0, ZERO), { code: 'EINVAL' });
  close(kq);
});

test('NOTE_FORK, NOTE_EXEC, NOTE_TRACK are ENOTSUP where the host refuses the proc connector (no CAP_NET_ADMIN)', (t) => {
  if (!existsSync('/usr/bin/setpriv')) { t.skip('no setpriv to drop CAP_NET_ADMIN'); return; }
  const r = spawnSync('/usr/bin/setpriv', ['--bounding-set', '-net_admin', '--inh-caps', '-net_admin', process.execPath,
    fileURLToPath(new URL('./fixtures/proc-nocap.js', import.meta.url))], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.signal, null, r.stderr);
  const ns = E.ENOTSUP;
  assert.equal(r.stdout, `errnos: ${ns} ${ns} ${ns} ${ns} 0 sources: 1\n`, r.stderr);
});

test('a process that is not our child: a grandchild reports NOTE_EXIT with data 0; pid 1 never reports', async () => {
  const { child, gpid } = await with_grandchild();
  const kq = kqueue();
  change(kq, pr(gpid, EV_ADD), pr(1, EV_ADD));
  assert.deepEqual(kevent(kq, null, 4, ZERO), []);
  process.kill(gpid, 'SIGKILL');
  assert.deepEqual(kevent(kq, null, 4, SOON), [{ ident: gpid, filter: EVFILT_PROC, flags: EXITED, fflags: NOTE_EXIT, data: 0, udata: 0 }]);
  await exited(child);
  assert.deepEqual(kevent(kq, [pr(1, EV_DELETE)], 4, ZERO), []);
  close(kq);
});

test('without NOTE_EXIT the exit still reports once (fflags 0, EV_EOF), as filt_proc does', async () => {
  const c = exits(1, 20);
  const kq = kqueue();
  change(kq, pr(c.pid!, EV_ADD, 0));
  assert.deepEqual(kevent(kq, null, 4, SOON), [{ ident: c.pid, filter: EVFILT_PROC, flags: EXITED, fflags: 0, data: 1 << 8, udata: 0 }]);
  await exited(c);
  close(kq);
});

test('EV_RECEIPT: an EV_ERROR entry with data 0, no event until the exit', async () => {
  const c = exits_on_cue(2); // alive at registration, or its exit would come back with the receipt
  const kq = kqueue();
  assert.deepEqual(kevent(kq, [pr(c.pid!, EV_ADD | EV_RECEIPT)], 4, ZERO), [{ ident: c.pid, filter: EVFILT_PROC, flags: EV_ERROR, fflags: 0, data: 0, udata: 0 }]);
  await cue(c);
  const ev = kevent(kq, null, 4, SOON);
  assert.equal(ev[0]!.data, 2 << 8);
  await exited(c);
  close(kq);
});

test('EV_DISABLE holds the exit; EV_ENABLE reports it; EV_DISPATCH and EV_ONESHOT report once', async () => {
  const a = exits(4, 20), b = exits(5, 20), d = exits(6, 20);
  const kq = kqueue();
  change(kq, pr(a.pid!, EV_ADD | EV_DISABLE), pr(b.pid!, EV_ADD | EV_DISPATCH), pr(d.pid!, EV_ADD | EV_ONESHOT));
  const got = new Map<number, sys.kevent_t>();
  const end = Date.now() + 10_000;
  while (got.size < 2 && Date.now() < end) for (const e of kevent(kq, null, 4, SOON)) got.set(e.ident, e);
  assert.equal(got.get(b.pid!)!.data, 5 << 8);
  assert.equal(got.get(b.pid!)!.flags, EXITED | EV_DISPATCH);
  assert.equal(got.get(d.pid!)!.data, 6 << 8);
  assert.equal(got.has(a.pid!), false, 'disabled: held');
  await exited(a);
  assert.deepEqual(kevent(kq, null, 4, ZERO), [], 'still held after the exit');
  assert.deepEqual(kevent(kq, [pr(a.pid!, EV_ENABLE)], 4, ZERO), [{ ident: a.pid, filter: EVFILT_PROC, flags: EXITED | EV_DISABLE, fflags: NOTE_EXIT, data: 4 << 8, udata: 0 }]);
  for (const c of [a, b, d]) assert.equal(errOf(kq, pr(c.pid!, EV_DELETE)).data, E.ENOENT, 'each dropped once reported');
  await Promise.all([exited(b), exited(d)]);
  close(kq);
});

test('EV_DELETE before the exit: no event, the pidfd closed; two kqueues on one pid both report', async () => {
  const fds0 = open_fds(), src0 = sources();
  const a = sleeper();
  const kq1 = kqueue(), kq2 = kqueue(), kq3 = kqueue();
  change(kq1, pr(a.pid!, EV_ADD));
  change(kq2, pr(a.pid!, EV_ADD, NOTE_EXIT, 2));
  change(kq3, pr(a.pid!, EV_ADD));
  assert.equal(sources(), src0 + 3);
  change(kq3, pr(a.pid!, EV_DELETE));
  assert.equal(sources(), src0 + 2, 'the deleted knote let its source go');
  a.kill('SIGKILL');
  assert.equal(kevent(kq1, null, 4, SOON)[0]!.data, 9);
  assert.deepEqual(kevent(kq2, null, 4, SOON).map((e) => [e.data, e.udata]), [[9, 2]]);
  await exited(a);
  assert.deepEqual(kevent(kq3, null, 4, ZERO), [], 'the deleted knote saw nothing');
  close(kq1); close(kq2); close(kq3);
  assert.equal(sources(), src0);
  assert.equal(open_fds(), fds0, 'every pidfd closed');
});

test('closing a kqueue with live proc knotes closes their pidfds; the processes live on', async () => {
  const kids = [sleeper(), sleeper(), sleeper()];
  const fds0 = open_fds(), src0 = sources();
  const kq = kqueue();
  change(kq, ...kids.map((c) => pr(c.pid!, EV_ADD)));
  assert.equal(open_fds(), fds0 + kids.length, 'one pidfd each');
  assert.equal(sources(), src0 + kids.length);
  close(kq);
  assert.equal(open_fds(), fds0, 'closed with the kqueue');
  assert.equal(sources(), src0);
  for (const c of kids) assert.equal(c.exitCode, null);
  for (const c of kids) c.kill('SIGKILL');
  await Promise.all(kids.map((c) => exited(c)));
});

test('without host calls (UKERN_NO_FFI=1) EVFILT_PROC is EOPNOTSUPP', () => {
  const sysUrl = import.meta.resolve('ukern/sys');
  const code = `const sys = await import(${JSON.stringify(sysUrl)});
const kq = sys.kqueue();
const r = sys.kevent(kq, [sys.EV_SET(process.pid, sys.EVFILT_PROC, sys.EV_ADD, sys.NOTE_EXIT, 0, 0)], 1, { tv_sec: 0, tv_nsec: 0 });
console.log(r[0].data);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, UKERN_NO_FFI: '1' } });
  assert.equal(r.stdout, `${E.EOPNOTSUPP}\n`, r.stderr);
});

// Issue 15: the intr thread, woken with Node's main thread at a child's exit,
// waited behind it for a CPU; it runs at SCHED_FIFO where the host allows.
test('the intr thread runs at its real-time priority where the host allows it (CAP_SYS_NICE)', async () => {
  const c = sleeper();
  const kq = kqueue();
  try {
    change(kq, pr(c.pid!, EV_ADD));
    await intr_rt_checked();
    c.kill('SIGKILL');
    assert.equal(kevent(kq, null, 1, SOON)[0]!.data, 9);
  } finally {
    c.kill('SIGKILL');
    await exited(c);
    close(kq);
  }
});

/** Waits for the intr thread (with a deadline) and checks its scheduling policy. */
async function intr_rt_checked(): Promise<void> {
  const end = Date.now() + 10_000;
  while (sys.kstat('intr')['intr.tid']! === 0) {
    assert.ok(Date.now() < end, 'the intr thread did not start');
    await new Promise((r) => setTimeout(r, 5));
  }
  const tid = sys.kstat('intr')['intr.tid']!;
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // from field 3 (state) on
  const prio = Number(f[40 - 3]), policy = Number(f[41 - 3]);
  const capEff = BigInt('0x' + /CapEff:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]!);
  if ((capEff & (1n << 23n)) === 0n) {
    assert.equal(sys.kstat('intr')['intr.rt'], 0, 'no CAP_SYS_NICE: an ordinary thread');
  } else {
    assert.equal(policy, 1, 'SCHED_FIFO');
    assert.equal(prio, 1, 'intr_rtprio 1 (the default)');
    assert.equal(sys.kstat('intr')['intr.rt'], 1);
  }
}
