/**
 * EVFILT_PROC with other threads and under load: an LWP blocked in kevent
 * woken by a child's exit, also one that went to sleep before the knote
 * was added (moved to the wait in the host); the race Node's own
 * reaping wins, made certain (the intr thread held, a child process): the
 * status still comes right, from what the host keeps on the pidfd; every
 * status right for children exiting while CPU hogs load both cores; many
 * registrations and exits leave no pidfd or intr source behind. Deadlines
 * everywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as sys from 'ukern/sys';
import { until, within } from './helpers.js';
import { exits, sleeper, exited, hog, open_fds, proc_kernel_ready } from './fixtures/proc.js';

const { EV_SET, kevent, kqueue, close, EVFILT_PROC, EV_ADD, EV_DELETE, NOTE_EXIT } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const kstat = (k: string) => sys.kstat('kqueue')[`kqueue.${k}`]!;
const pr = (pid: number, flags: number) => EV_SET(pid, EVFILT_PROC, flags, NOTE_EXIT, 0, 0);

test('an LWP blocked in kevent is woken by a child\'s exit', async () => {
  const c = sleeper();
  const kq = kqueue();
  kevent(kq, [pr(c.pid!, EV_ADD)], 0, ZERO);
  const sab = new SharedArrayBuffer(20);
  const res = new Int32Array(sab);
  const sleeps0 = kstat('sleeps');
  const intr = (k: string) => sys.kstat('intr')[`intr.${k}`]!;
  const lid = sys.lwp_create({ module: new URL('./fixtures/proc-lwp.js', import.meta.url), export: 'blockInKevent', arg: { kq, sab } });
  await until(() => kstat('sleeps') > sleeps0 && intr('waitid_state') !== 0, 10_000, 'the LWP to sleep in kevent, the intr thread to take up the child');
  const done0 = intr('waitid_done');
  c.kill('SIGTERM');
  await within(sys.lwp_wait_async(lid), 10_000, 'the LWP');
  assert.deepEqual([...res], [1, c.pid, EVFILT_PROC, 15, NOTE_EXIT | 0]);
  // Where the host has io_uring's IORING_OP_WAITID (Linux 6.7+, not refused) the exit was also heard from the wait queue.
  if (intr('waitid_state') === 1) assert.equal(intr('waitid_done') - done0, 1, 'the waitid asked for the child completed once');
  else console.log('io_uring waitid unavailable here: the pidfd alone served');
  await exited(c);
  close(kq);
});

test('an LWP already asleep in kevent when the proc knote is added moves to the host wait and gets the exit', async () => {
  const kq = kqueue();
  const sab = new SharedArrayBuffer(20);
  const res = new Int32Array(sab);
  const intr = (k: string) => sys.kstat('intr')[`intr.${k}`]!;
  const sleeps0 = kstat('sleeps'), rewaits0 = kstat('host_rewaits');
  // No knote yet: the LWP sleeps on its wait word.
  const lid = sys.lwp_create({ module: new URL('./fixtures/proc-lwp.js', import.meta.url), export: 'blockInKevent', arg: { kq, sab } });
  await until(() => kstat('sleeps') > sleeps0, 10_000, 'the LWP to sleep in kevent');
  const waits0 = intr('host_waits');
  const c = sleeper();
  kevent(kq, [pr(c.pid!, EV_ADD)], 0, ZERO);
  // The registration woke it to look again: it now waits in the host on the kernel's epoll set.
  await until(() => intr('host_waits') > waits0 && intr('host_waiters') > 0, 10_000, 'the LWP to wait in the host');
  assert.equal(kstat('host_rewaits') - rewaits0, 1, 'the sleeper was woken once to wait in the host');
  assert.equal(Atomics.load(res, 0), 0, 'nothing returned to it');
  c.kill('SIGTERM');
  await within(sys.lwp_wait_async(lid), 10_000, 'the LWP');
  assert.deepEqual([...res], [1, c.pid, EVFILT_PROC, 15, NOTE_EXIT | 0]);
  await exited(c);
  close(kq);
});

test('Node reaps first (intr thread held): the status comes from the pidfd, not lost', () => {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('./fixtures/proc-reaped.js', import.meta.url))],
    { encoding: 'utf8', timeout: 30_000, env: { ...process.env, UKERN_INTR_HOLD: '1' } });
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.stdout, `node reaped: 42 SIGTERM\nstatuses: ${42 << 8} 15\nfrom pidfs: 2 from waitid: 0 lost: 0\nintr thread started: 0\n`, r.stderr);
});

test('boot({ intr_waitid: 0 }): the pidfd alone serves, with the right status', () => {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('./fixtures/proc-noring.js', import.meta.url))], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.stdout, 'status: 15\nasked: 0 state: 2\n', r.stderr);
});

test('under CPU hogs on every core, every child\'s status is right', async () => {
  const hogs = [hog(), hog()];
  const N = 24;
  const kids = Array.from({ length: N }, (_, i) => exits(i + 1, (i * 7) % 40));
  const kq = kqueue();
  try {
    const w0 = kstat('proc_exit_waitid'), p0 = kstat('proc_exit_pidfs'), r0 = kstat('proc_exit_retry');
    kevent(kq, kids.map((c) => pr(c.pid!, EV_ADD)), 0, ZERO);
    const got = new Map<number, number>();
    const end = Date.now() + 30_000;
    // Half the time this thread blocks in kevent (Node cannot reap meanwhile), half it yields to its loop.
    for (let round = 0; got.size < N && Date.now() < end; round++) {
      for (const e of kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 20e6 })) got.set(e.ident, e.data);
      if (round % 2 === 1) await new Promise((r) => setTimeout(r, 5));
    }
    assert.deepEqual(kids.map((c) => got.get(c.pid!)), kids.map((_, i) => (i + 1) << 8));
    const w = kstat('proc_exit_waitid') - w0, p = kstat('proc_exit_pidfs') - p0;
    console.log(`under load: ${w} statuses by waitid (the kernel first), ${p} from pidfs (Node reaped first), ` +
      `${kstat('proc_exit_retry') - r0} retries`);
    assert.equal(w + p, N, 'each exit recorded once, from one of the two');
    assert.equal(kstat('proc_exit_lost'), 0);
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
    close(kq);
  }
  await Promise.all([...kids, ...hogs].map((c) => exited(c)));
});

test('200 registrations and deletes, 20 exits: no pidfd or intr source left behind', async () => {
  await proc_kernel_ready();
  const src0 = sys.kstat('intr')['intr.sources']!;
  const kids = Array.from({ length: 20 }, () => sleeper());
  const fds0 = open_fds();
  const kq = kqueue();
  for (let i = 0; i < 10; i++) {
    kevent(kq, kids.map((c) => pr(c.pid!, EV_ADD)), 0, ZERO);
    kevent(kq, kids.map((c) => pr(c.pid!, EV_DELETE)), 0, ZERO);
  }
  assert.equal(open_fds(), fds0);
  kevent(kq, kids.map((c) => pr(c.pid!, EV_ADD)), 0, ZERO);
  for (const c of kids) c.kill('SIGKILL');
  let n = 0;
  const end = Date.now() + 20_000;
  while (n < kids.length && Date.now() < end) n += kevent(kq, null, 32, { tv_sec: 1, tv_nsec: 0 }).length;
  assert.equal(n, kids.length);
  assert.equal(open_fds(), fds0, 'each oneshot knote closed its pidfd when reported');
  assert.equal(sys.kstat('intr')['intr.sources'], src0);
  close(kq);
  await Promise.all(kids.map((c) => exited(c)));
});
