/**
 * SIGEV_SIGNAL and SIGEV_THREAD for aio requests (and lio_listio lists).
 *
 * SIGEV_SIGNAL: the completion generates sigev_signo for the process with
 * si_code SI_ASYNCIO and si_value sigev_value, through the signals kapi
 * (as timers/signfy.ts does for a timer), under the aio lock, which comes
 * before the signal lock. A real-time signal queues one siginfo per
 * completion; a standard one coalesces while pending, as POSIX says.
 *
 * SIGEV_THREAD: the function is a JS closure of the submitting thread and
 * cannot move, so, as the timers do it, it runs on that thread's event
 * loop. Each submitting thread owns a mailbox word in kernel memory (taken
 * at its first SIGEV_THREAD request, given back when its LWP exits); the
 * completion, in whatever thread makes it, bumps and notifies the word; the
 * owner's loop (Atomics.waitAsync on it) calls the function of each of its
 * requests that is done, once, with sigev_value, outside the kernel. While
 * it has such requests pending, the thread's event loop is kept alive.
 */
import { I32, kregion_create } from '../kern/kmem.js';
import { fail } from '../kern/errno.js';
import { cur } from '../kern/hdr.js';
import { hold } from '../kern/keepalive.js';
import { on_lwp_exit } from '../kern/proc.js';
import { sig_generate } from '../signals/kapi.js';
import { SI_ASYNCIO } from '../signals/consts.js';
import { SIGEV_SIGNAL, SIGEV_THREAD } from '../timers/consts.js';
import { R, aio_set_notifier, aio_lookup, aio_settled, f64r } from './aio.js';
import { aio_notify_register } from './submit.js';

aio_set_notifier(SIGEV_SIGNAL, (h) => {
  sig_generate(0, I32[h + R.signo]!, { code: SI_ASYNCIO, value: f64r(h, R.sigval), pid: process.pid, lid: 0, timer: 0 });
});

/** Mailboxes: (seq, owner lid) pairs. */
const mboxes = kregion_create('aio.mbox', (t) => 2 * (t.maxlwp! + 8));
let myMbox = 0;
const local = new Map<number, { fn: (v: number) => void; value: number }>();
let release: (() => void) | undefined;
let pumping = false;

function mbox_take(): number {
  if (myMbox !== 0) return myMbox;
  const lid = cur.lid || -1;
  for (let w = mboxes.base; w < mboxes.base + mboxes.words; w += 2) {
    if (Atomics.compareExchange(I32, w + 1, 0, lid) === 0) { myMbox = w; return w; }
  }
  return 0;
}
on_lwp_exit((lid) => {
  for (let w = mboxes.base; w < mboxes.base + mboxes.words; w += 2) {
    if (Atomics.load(I32, w + 1) === lid) { Atomics.store(I32, w + 1, 0); if (w === myMbox) myMbox = 0; }
  }
});

aio_set_notifier(SIGEV_THREAD, (h) => {
  const m = I32[h + R.mbox]!;
  if (m === 0) return;
  Atomics.add(I32, m, 1);
  Atomics.notify(I32, m);
});

/** Calls the functions of this thread's requests that are done (each once), outside the kernel. */
function deliver(): void {
  for (const [id, t] of local) {
    const h = aio_lookup(id);
    if (h !== 0 && !aio_settled(h, id)) continue;
    local.delete(id);
    try { t.fn(t.value); } catch (e) { queueMicrotask(() => { throw e; }); }
  }
}

async function pump(): Promise<void> {
  if (pumping) return;
  pumping = true;
  try {
    while (local.size > 0 && myMbox !== 0) {
      const seen = Atomics.load(I32, myMbox);
      deliver();
      if (local.size === 0) break;
      const r = Atomics.waitAsync(I32, myMbox, seen);
      if (r.async) await r.value;
    }
  } finally {
    pumping = false;
    release?.(); release = undefined;
  }
}

aio_notify_register(SIGEV_THREAD, {
  reserve(h, id, c, S) {
    const m = mbox_take();
    if (m === 0) fail('EAGAIN', S, 'no notification mailbox');
    I32[h + R.mbox] = m;
    local.set(id, { fn: c.ev.fn!, value: c.ev.value });
    release ??= hold();
    void pump();
  },
  unreserve(h) { local.delete(I32[h + R.id]!); },
});
