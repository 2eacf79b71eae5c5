/**
 * EVFILT_PROC's NOTE_FORK, NOTE_EXEC and NOTE_TRACK through the proc
 * connector (src/kqueue/filters/proc-cn.ts), on a real shell that forks and
 * execs when told to (through its stdin, so every event comes after the
 * registration): the notes asked for, EV_CLEAR per report, NOTE_CHILD with
 * the parent's pid and udata on the tracked child, NOTE_TRACKERR when the
 * child is gone before it can be followed (made certain in a child process
 * with the intr thread held), and the connector closed with its last knote.
 * Where the host refuses the connector (no CAP_NET_ADMIN, another pid
 * namespace) the notes are ENOTSUP and these cases are skipped, saying so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as sys from 'ukern/sys';
import { exited } from './fixtures/proc.js';

const {
  EV_SET, kevent, kqueue, close, EVFILT_PROC, EV_ADD, EV_DELETE, EV_CLEAR, EV_ENABLE, EV_EOF, EV_NODATA, EV_ONESHOT,
  NOTE_EXIT, NOTE_FORK, NOTE_EXEC, NOTE_TRACK, NOTE_CHILD,
} = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const sources = () => sys.kstat('intr')['intr.sources']!;

/** A shell that, at each line on its stdin, runs the next step of `script`. */
async function shell(script: string): Promise<ChildProcess> {
  const sh = spawn('/bin/sh', ['-c', script], { stdio: ['pipe', 'ignore', 'ignore'] });
  await new Promise((r) => sh.once('spawn', r));
  return sh;
}
const step = (sh: ChildProcess) => sh.stdin!.write('\n');

/** Events until `done` says enough, with a deadline (the connector is asynchronous). */
function collect(kq: number, done: (evs: sys.kevent_t[]) => boolean): sys.kevent_t[] {
  const evs: sys.kevent_t[] = [];
  const end = Date.now() + 10_000;
  while (!done(evs)) {
    if (Date.now() > end) assert.fail(`not done within 10 s: ${JSON.stringify(evs)}`);
    evs.push(...kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 50e6 }));
  }
  return evs;
}

function connector_ok(): boolean {
  const kq = kqueue();
  const r = kevent(kq, [EV_SET(process.pid, EVFILT_PROC, EV_ADD | sys.EV_RECEIPT, NOTE_FORK, 0, 0)], 1, ZERO)[0]!;
  close(kq);
  return r.data === 0;
}
const skip = connector_ok() ? false : 'the host refuses the proc connector here (NOTE_FORK is ENOTSUP)';

test('NOTE_FORK and NOTE_EXEC of a shell, each reported once (EV_CLEAR), then its exit', { skip }, async () => {
  const sh = await shell('read x; sleep 0.1 & read y; exec /bin/sleep 0.1');
  const kq = kqueue();
  kevent(kq, [EV_SET(sh.pid!, EVFILT_PROC, EV_ADD, NOTE_EXIT | NOTE_FORK | NOTE_EXEC, 0, 9)], 0, ZERO);
  assert.deepEqual(kevent(kq, null, 4, ZERO), []);
  step(sh);
  const f = collect(kq, (e) => e.length > 0);
  assert.deepEqual(f, [{ ident: sh.pid, filter: EVFILT_PROC, flags: EV_ADD | EV_CLEAR, fflags: NOTE_FORK, data: 0, udata: 9 }]);
  step(sh);
  const x = collect(kq, (e) => e.some((v) => (v.flags & EV_EOF) !== 0));
  assert.equal(x.reduce((a, e) => a | e.fflags, 0) >>> 0, (NOTE_EXEC | NOTE_EXIT) >>> 0, JSON.stringify(x));
  assert.equal(x.at(-1)!.data, 0, 'the exec\'d sleep exited 0');
  await exited(sh);
  close(kq);
});

test('NOTE_TRACK: the forked child gets its own knote (NOTE_CHILD, data = the parent, same udata), and reports its exit', { skip }, async () => {
  const sh = await shell('read x; sleep 0.3 & read y');
  const kq = kqueue();
  kevent(kq, [EV_SET(sh.pid!, EVFILT_PROC, EV_ADD, NOTE_EXIT | NOTE_FORK | NOTE_TRACK, 0, 5)], 0, ZERO);
  step(sh);
  const evs = collect(kq, (e) => e.some((v) => v.ident !== sh.pid && (v.flags & EV_EOF) !== 0));
  const parent = evs.filter((e) => e.ident === sh.pid), kid = evs.filter((e) => e.ident !== sh.pid);
  assert.deepEqual(parent.map((e) => e.fflags), [NOTE_FORK]);
  assert.equal(kid.length, 2, JSON.stringify(kid));
  assert.deepEqual(kid[0], { ident: kid[0]!.ident, filter: EVFILT_PROC, flags: EV_ADD | EV_ENABLE | EV_CLEAR, fflags: NOTE_CHILD, data: sh.pid, udata: 5 });
  assert.deepEqual(kid[1], { ident: kid[0]!.ident, filter: EVFILT_PROC, flags: EV_ADD | EV_ENABLE | EV_CLEAR | EV_EOF | EV_NODATA | EV_ONESHOT, fflags: NOTE_EXIT, data: 0, udata: 5 });
  step(sh);
  await exited(sh);
  close(kq);
});

test('NOTE_TRACK of a child already reaped by its parent: NOTE_FORK | NOTE_TRACKERR (intr thread held)', { skip }, () => {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('./fixtures/proc-trackerr.js', import.meta.url))],
    { encoding: 'utf8', timeout: 30_000, env: { ...process.env, UKERN_INTR_HOLD: '1' } });
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.stdout, `events: sh ${((NOTE_FORK | sys.NOTE_TRACKERR) >>> 0).toString(16)}\n`, r.stderr);
});

test('the connector is a source while a knote asks for forks or execs, and goes with the last', { skip }, async () => {
  const src0 = sources();
  const a = await shell('read x'), b = await shell('read x');
  const kq = kqueue();
  kevent(kq, [EV_SET(a.pid!, EVFILT_PROC, EV_ADD, NOTE_FORK, 0, 0), EV_SET(b.pid!, EVFILT_PROC, EV_ADD, NOTE_EXEC, 0, 0)], 0, ZERO);
  assert.equal(sources(), src0 + 3, 'two pidfds and the connector');
  kevent(kq, [EV_SET(a.pid!, EVFILT_PROC, EV_DELETE, 0, 0, 0)], 0, ZERO);
  assert.equal(sources(), src0 + 2);
  kevent(kq, [EV_SET(b.pid!, EVFILT_PROC, EV_ADD, NOTE_EXIT, 0, 1)], 0, ZERO);
  assert.equal(sources(), src0 + 2, 'a change keeps whether the knote tracks (EV_DELETE and EV_ADD to switch)');
  kevent(kq, [EV_SET(b.pid!, EVFILT_PROC, EV_DELETE, 0, 0, 0)], 0, ZERO);
  assert.equal(sources(), src0, 'the last tracked knote closed the connector');
  step(a); step(b);
  await Promise.all([exited(a), exited(b)]);
  close(kq);
});
