/**
 * The body of one blocking I/O thread (its entries: aiothread.ts from the
 * compiled tree, the bundle's aiothread.cjs over the kernel script). One
 * blocking I/O thread of the fallback engine (threads.ts): a kernel
 * worker that takes queued requests (Atomics.wait on the queue's tail word
 * while it is empty), finds each one's buffer among the messages of the
 * engine's BroadcastChannel, performs the I/O with Node's synchronous fs
 * calls and completes the request through aio_complete, whose notification
 * runs here (port event, knote, signal). It runs no event loop: Atomics.wait
 * is interruptible by worker termination, so process exit never waits for it
 * unless it is inside a host read that has not returned (a pipe nobody
 * writes).
 */
import type { MessagePort } from 'node:worker_threads';
import { fdatasyncSync, fsyncSync, readSync, writeSync } from 'node:fs';
import { worker_threads } from '../kern/host.js';
import { attach_system_thread, type KernelImage } from '../kern/boot.js';
import * as kmem from '../kern/kmem.js';
import { run_sync } from '../kern/sleeprun.js';
import * as intr from '../intr/kapi.js';
import * as aio from './aio.js';
import * as th from './threads.js';
import { aio_fsync_barrier } from './wait.js';
import { kthread_run } from '../lwp/kapi.js';

/** Runs one I/O thread of the threads engine in this worker (attached to `image`); never returns. */
export function aiothread_main(image: KernelImage): never {
  const { parentPort, receiveMessageOnPort, BroadcastChannel } = worker_threads();
  attach_system_thread(image);
  // The FFI (koffi, a native addon) is loaded before this thread says it is
  // up: a worker terminated while it loads one (process exit) aborts the
  // whole process, and until the 'up' message the process waits for it.
  intr.os_fd_open(0);
  const chan = new BroadcastChannel(th.CHANNEL);
  Atomics.add(kmem.I32, th.tq.base + th.T_READY, 1);
  parentPort?.postMessage('up');

  const stash = new Map<number, Uint8Array>();
  /** Moves the channel's messages into the stash, dropping those of requests no longer queued. */
  function drain(): void {
    for (;;) {
      const m = receiveMessageOnPort(chan as unknown as MessagePort);
      if (m === undefined) break;
      const { id, buf } = m.message as { id: number; buf: Uint8Array };
      stash.set(id, buf);
    }
    for (const id of stash.keys()) {
      const h = aio.aio_lookup(id);
      if (h === 0 || Atomics.load(kmem.I32, h + aio.R.state) !== aio.RS_QUEUED) stash.delete(id);
    }
  }

  /** The buffer posted for id (it was posted before the id was queued). */
  function buffer_of(id: number): Uint8Array | undefined {
    for (let i = 0; i < 5000; i++) {
      const m = receiveMessageOnPort(chan as unknown as MessagePort);
      if (m !== undefined) { const v = m.message as { id: number; buf: Uint8Array }; stash.set(v.id, v.buf); }
      const b = stash.get(id);
      if (b !== undefined) { stash.delete(id); return b; }
      if (m === undefined) Atomics.wait(kmem.I32, th.tq.base + th.T_CLAIM, 1, 1); // 1 ms
    }
    return undefined;
  }

  const errOf = (e: unknown): number => {
    const n = (e as { errno?: unknown }).errno;
    return typeof n === 'number' ? -Math.abs(n) : -5;
  };

  /** Whether fd is a pipe, socket or device (statx through the FFI; false without it: st.mode stays 0). */
  function stream(fd: number): boolean {
    intr.st.mode = 0;
    if (!intr.os_fd_open(fd)) return false;
    const t = intr.st.mode & intr.S_IFMT;
    return t !== 0 && t !== intr.S_IFREG && t !== intr.S_IFDIR;
  }

  /**
   * Waits until a pipe or socket is ready for the request (poll without
   * waiting, then naps of up to 1 ms): a read of a pipe nobody writes would
   * otherwise hold this thread for ever, and could not be cancelled. false
   * when aio_cancel asked for the request meanwhile. Regular files, and hosts
   * without the FFI, go straight to the blocking call.
   */
  function ready(h: number, fd: number, op: number, isStream: boolean): boolean {
    if (!isStream) return true;
    const want = op === aio.OP_READ ? intr.POLLIN : intr.POLLOUT;
    for (let nap = 0.02; ; nap = Math.min(1, nap * 2)) {
      // The cancel first: once asked, the descriptor may be closed (close(2)
      // cancels, waits a bounded while, then closes), and its number then
      // polls ready (POLLNVAL, or another file opened under it).
      if ((Atomics.load(kmem.I32, h + aio.R.flags) & aio.RF_CANCELASKED) !== 0) return false;
      if (intr.os_poll(fd, want) !== 0) return true;
      Atomics.wait(kmem.I32, th.tq.base + th.T_CLAIM, 1, nap);
    }
  }

  function perform(h: number, id: number): number {
    const op = kmem.I32[h + aio.R.op]!, fd = kmem.I32[h + aio.R.fd]!;
    try {
      const isStream = stream(fd);
      if ((op === aio.OP_READ || op === aio.OP_WRITE) && !ready(h, fd, op, isStream)) { buffer_of(id); return -aio.ECANCELED_NO; }
      if (op === aio.OP_FSYNC || op === aio.OP_DSYNC) {
        run_sync(aio_fsync_barrier(h, fd));
        if (op === aio.OP_FSYNC) fsyncSync(fd); else fdatasyncSync(fd);
        return 0;
      }
      const buf = buffer_of(id);
      if (buf === undefined) return -5; // EIO: the submitter's message never came
      const n = kmem.I32[h + aio.R.nbytes]!, off = aio.f64r(h, aio.R.offset);
      // A pipe or socket has no offset (pread there is ESPIPE): the stream position, as io_uring does.
      const pos = off < 0 || isStream ? null : off;
      return op === aio.OP_READ ? readSync(fd, buf, 0, n, pos) : writeSync(fd, buf, 0, n, pos);
    } catch (e) {
      return errOf(e);
    }
  }

  const tail = th.tq.base + th.T_TAIL;
  // Test hook (test/kthread-dies): the thread throws at its first request.
  const crash = process.env.UKERN_KTHREAD_CRASH === 'aio';
  // An error out of a round (perform catches the I/O's own) is a kernel
  // bug, with a request perhaps half completed: the intr and clock threads'
  // rule (lwp/kthread.ts kthread_run), a panic naming it, every sleeper EIO.
  kthread_run('aio', () => {
    const t = Atomics.load(kmem.I32, tail);
    const id = th.threads_take();
    if (id === 0) {
      drain();
      Atomics.wait(kmem.I32, tail, t, 1000);
      return;
    }
    if (crash) throw new Error('UKERN_KTHREAD_CRASH: the aio thread throws (test)');
    const h = aio.aio_lookup(id);
    const res = h === 0 ? 0 : perform(h, id);
    aio.aio_complete(id, res);
  });
}
