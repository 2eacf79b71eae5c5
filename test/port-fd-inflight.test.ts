/**
 * PORT_SOURCE_FD: an event whose retrieval has been decided (the source's
 * delivery callback ran: the one-shot association ended, so port_dissociate
 * answers ENOENT) must reach the getter even when the association is
 * dissociated, associated again, or its record reclaimed before the getter
 * has finished the take. Those calls come from other threads in real use,
 * in the short window between the callback and the getter's settling of the
 * slot; here the window is held open deterministically by a wrapper around
 * the source's delivery callback (in this thread only) that makes the call
 * itself, after the real callback returned: the kernel state it meets is
 * the same as another LWP's call would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync } from 'node:fs';
import * as sys from '../src/ports/sys.js';
import '../src/sys/index.js';
import { close } from '../src/kern/sys.js';
import { SysError } from '../src/kern/errno.js';
import { kstat_snapshot } from '../src/kern/kstat.js';
import { with_deliver_hook } from './fixtures/deliver-hook.js';
import { pipe } from './fixtures/osfd.js';

const { port_create, port_associate, port_dissociate, port_get, PORT_SOURCE_FD, POLLIN } = sys;
const ms = (n: number) => ({ tv_sec: Math.floor(n / 1000), tv_nsec: (n % 1000) * 1e6 });
const ZERO = { tv_sec: 0, tv_nsec: 0 };

function errno(f: () => void): string | null {
  try { f(); return null; } catch (e) { if (e instanceof SysError) return e.code; throw e; }
}

const portsInUse = () => kstat_snapshot('port')['port.ports']!;

test('a dissociate that finds the event retrieved (ENOENT) does not take it from the getter', () => {
  const [r, w] = pipe();
  writeSync(w, 'x');
  const port = port_create();
  const base = portsInUse() - 1;
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 7);
  let code: string | null = 'not called';
  with_deliver_hook(PORT_SOURCE_FD, 'after', () => { code = errno(() => port_dissociate(port, PORT_SOURCE_FD, r)); }, () => {
    const e = port_get(port, ms(500));
    assert.equal(code, 'ENOENT', 'the association had ended with its retrieval');
    assert.deepEqual([e.portev_source, e.portev_object, e.portev_events, e.portev_user], [PORT_SOURCE_FD, r, POLLIN, 7]);
  });
  assert.equal(errno(() => port_get(port, ZERO)), 'ETIME', 'nothing else queued');
  close(port);
  assert.equal(portsInUse(), base, 'the port struct was released: no slot left behind');
  close(r); close(w);
});

test('associating twice while the retrieved event is being delivered: both the old event and the new one arrive', () => {
  const [r, w] = pipe();
  writeSync(w, 'x');
  const port = port_create();
  const base = portsInUse() - 1;
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 1);
  with_deliver_hook(PORT_SOURCE_FD, 'after', () => {
    port_associate(port, PORT_SOURCE_FD, r, POLLIN, 2); // re-arms the ended association: queued again (readable)
    port_associate(port, PORT_SOURCE_FD, r, POLLIN, 3); // replaces that queued event
  }, () => {
    const e = port_get(port, ms(500));
    assert.equal(e.portev_user, 1, 'the retrieved event');
  });
  const e2 = port_get(port, ms(500));
  assert.equal(e2.portev_user, 3, 'the last association\'s event');
  assert.equal(errno(() => port_get(port, ZERO)), 'ETIME', 'the replaced one is not delivered');
  assert.equal(errno(() => port_dissociate(port, PORT_SOURCE_FD, r)), 'ENOENT');
  close(port);
  assert.equal(portsInUse(), base, 'the port struct was released: no slot left behind');
  close(r); close(w);
});

test('closing the associated descriptor while its retrieved event is being delivered: the event still arrives', () => {
  const [r, w] = pipe();
  writeSync(w, 'x');
  const port = port_create();
  const base = portsInUse() - 1;
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 9);
  with_deliver_hook(PORT_SOURCE_FD, 'after', () => { close(r); }, () => {
    const e = port_get(port, ms(500));
    assert.deepEqual([e.portev_object, e.portev_user], [r, 9]);
  });
  close(port);
  assert.equal(portsInUse(), base, 'the port struct was released: no slot left behind');
  close(w);
});
