/**
 * A descriptor closed behind the kernel's back whose number then names a new
 * open file of the *same inode* (a FIFO opened again by its path; eventfds
 * and the other anonymous-inode files share one inode too): statx cannot tell
 * the two opens apart, so the source kept its identity, but the host dropped
 * its epoll registration with the old open file. A registration on the new
 * file then found that source "live", saw its epoll mask unchanged and made
 * no epoll_ctl: the new knote was never woken by an arrival. Each case waits
 * for the arrival with a deadline (a lost registration fails after 3 s).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, closeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { with_fifo, fifo_open_r, fifo_open_w, fifo_reopen_at } from './fixtures/osfd.js';

const { EV_SET, kevent, kqueue, close, EVFILT_READ, EV_ADD, EV_CLEAR } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const LATER = { tv_sec: 3, tv_nsec: 0 };
const rd = (fd: number, flags: number, udata = 0) => EV_SET(fd, EVFILT_READ, flags, 0, 0, udata);


test('FIFO closed behind the kernel and opened again at its number: EV_ADD on the same kqueue hears the arrival', () => {
  with_fifo((path) => {
    const r = fifo_open_r(path), w = fifo_open_w(path);
    const kq = kqueue();
    assert.deepEqual(kevent(kq, [rd(r, EV_ADD | EV_CLEAR, 1)], 0, ZERO), []);
    closeSync(r); // behind the kernel's back: the host drops the epoll registration
    fifo_reopen_at(r, path); // the same number, a new open file of the same inode
    assert.deepEqual(kevent(kq, [rd(r, EV_ADD | EV_CLEAR, 2)], 4, ZERO), [], 'nothing to read yet');
    writeSync(w, 'xy');
    const ev = kevent(kq, null, 4, LATER);
    assert.equal(ev.length, 1, 'the arrival on the new open file is reported');
    assert.equal(ev[0]!.data, 2);
    close(kq); close(r); close(w);
  });
});

test('FIFO opened again at its number: a new kqueue registers while the old knote stays; the arrival reaches it', () => {
  with_fifo((path) => {
    const r = fifo_open_r(path), w = fifo_open_w(path);
    const kq1 = kqueue(), kq2 = kqueue();
    assert.deepEqual(kevent(kq1, [rd(r, EV_ADD | EV_CLEAR)], 0, ZERO), []);
    closeSync(r);
    fifo_reopen_at(r, path);
    assert.deepEqual(kevent(kq2, [rd(r, EV_ADD | EV_CLEAR, 7)], 4, ZERO), []);
    writeSync(w, 'abc');
    const ev = kevent(kq2, null, 4, LATER);
    assert.equal(ev.length, 1, 'the new kqueue hears the arrival');
    assert.equal(ev[0]!.udata, 7);
    assert.equal(ev[0]!.data, 3);
    assert.deepEqual(kevent(kq1, null, 4, ZERO), [], 'the old knote, of the closed open file, never reports');
    close(kq1); close(kq2); close(r); close(w);
  });
});
