/**
 * PORT_SOURCE_FD on a descriptor closed behind the kernel's back whose
 * number then names another open of the *same inode* (a FIFO opened again by
 * its path): statx cannot tell the opens apart, so the association's intr
 * source kept its identity, but the host dropped its epoll registration with
 * the old open file. Associating the number again found the old record
 * "valid", kept its interests (no epoll_ctl) and the new open file was never
 * watched: an arrival was never reported. The kqueue side of the same case
 * is test/kevent-os-reopen. Each case waits for the arrival with a deadline (a
 * lost registration fails after 3 s).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, readSync, closeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { with_fifo, fifo_open_r, fifo_open_w, fifo_reopen_at, pipe } from './fixtures/osfd.js';

const { port_create, port_associate, port_get, close, PORT_SOURCE_FD, POLLIN } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const LATER = { tv_sec: 3, tv_nsec: 0 };


/**
 * A getter waits in the host on the port's latest association's descriptor
 * (ports/hostwait.ts), which would see the FIFO's arrival itself: another
 * association, made last, takes that hint so that the arrival must come
 * through the intr thread's epoll, where the registration was lost.
 */
const [pr, pw] = pipe();
function decoy(port: number): void { port_associate(port, PORT_SOURCE_FD, pr, POLLIN, 99); }

function etime(f: () => void): boolean {
  try { f(); return false; } catch (e) { if (e instanceof sys.SysError && e.code === 'ETIME') return true; throw e; }
}

test('FIFO closed behind the kernel and opened again at its number: associating it again (armed record) hears the arrival', () => {
  with_fifo((path) => {
    const r = fifo_open_r(path), w = fifo_open_w(path);
    const port = port_create();
    port_associate(port, PORT_SOURCE_FD, r, POLLIN, 1); // armed: nothing to read
    closeSync(r); // behind the kernel's back: the host drops the epoll registration
    fifo_reopen_at(r, path); // the same number, a new open file of the same inode
    port_associate(port, PORT_SOURCE_FD, r, POLLIN, 2);
    decoy(port);
    assert.ok(etime(() => port_get(port, ZERO)), 'nothing to read yet');
    writeSync(w, 'xy');
    const e = port_get(port, LATER);
    assert.deepEqual([e.portev_object, e.portev_events, e.portev_user], [r, POLLIN, 2]);
    close(port); close(r); close(w);
  });
});

test('FIFO opened again at its number after its event was retrieved (cached record): associating it again hears the arrival', () => {
  with_fifo((path) => {
    const r = fifo_open_r(path), w = fifo_open_w(path);
    const port = port_create();
    writeSync(w, 'a');
    port_associate(port, PORT_SOURCE_FD, r, POLLIN, 1);
    assert.equal(port_get(port, LATER).portev_user, 1); // the association ended; its record is kept (DONE)
    readSync(r, Buffer.alloc(8)); // drained: the FIFO keeps its data while a writer is open
    closeSync(r);
    fifo_reopen_at(r, path);
    port_associate(port, PORT_SOURCE_FD, r, POLLIN, 2);
    decoy(port);
    assert.ok(etime(() => port_get(port, ZERO)), 'nothing to read yet');
    writeSync(w, 'b');
    const e = port_get(port, LATER);
    assert.deepEqual([e.portev_object, e.portev_events, e.portev_user], [r, POLLIN, 2]);
    close(port); close(r); close(w);
  });
});

test.after(() => { close(pr); close(pw); });
