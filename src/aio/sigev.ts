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
 * cannot move, so it runs on that thread's event loop, through the thread
 * mailbox (kern/mailbox.ts, shared with the timers: one word, one pump, one
 * keepalive per thread). The request is bound to the submitter's mailbox at
 * submission (r_mbox holds the binding; EAGAIN when every mailbox is taken);
 * the completion, in whatever thread makes it, posts the binding; the
 * owner's pump has this module call the function of each of the thread's
 * requests that is done, once, with sigev_value, outside the kernel. While
 * it has such requests pending, the thread's event loop is kept alive. When
 * the submitter's LWP exits its mailbox is given back with the functions it
 * had pending (they never run, as for a timer); a completion after that
 * finds the mailbox's generation moved on and posts nothing.
 */
import { I32 } from '../kern/kmem.js';
import { fail, user_rethrow } from '../kern/errno.js';
import { mbox_consumer_register, mbox_mine, mbox_post, mbox_watch, mbox_reeval } from '../kern/mailbox.js';
import { sig_generate } from '../signals/kapi.js';
import { SI_ASYNCIO } from '../signals/consts.js';
import { SIGEV_SIGNAL, SIGEV_THREAD } from '../timers/consts.js';
import { R, aio_set_notifier, aio_lookup, aio_settled, f64r } from './aio.js';
import { aio_notify_register } from './submit.js';

aio_set_notifier(SIGEV_SIGNAL, (h) => {
  sig_generate(0, I32[h + R.signo]!, { code: SI_ASYNCIO, value: f64r(h, R.sigval), pid: process.pid, lid: 0, timer: 0 });
});

aio_set_notifier(SIGEV_THREAD, (h) => { mbox_post(I32[h + R.mbox]!); });

/** This thread's SIGEV_THREAD requests not yet called: aio_id -> function and value. */
const local = new Map<number, { fn: (v: number) => void; value: number }>();

mbox_consumer_register('aio', {
  /** Calls the functions of this thread's requests that are done (each once), outside the kernel. */
  deliver(): boolean {
    for (const [id, t] of local) {
      const h = aio_lookup(id);
      if (h !== 0 && !aio_settled(h, id)) continue;
      local.delete(id);
      try { t.fn(t.value); } catch (e) { user_rethrow(e); }
    }
    return local.size > 0;
  },
  live: () => local.size > 0,
  released(_b, own) { if (own) local.clear(); },
});

aio_notify_register(SIGEV_THREAD, {
  reserve(h, id, c, S) {
    const m = mbox_mine();
    if (m === 0) fail('EAGAIN', S, 'no notification mailbox');
    I32[h + R.mbox] = m;
    local.set(id, { fn: c.ev.fn!, value: c.ev.value });
    mbox_watch();
  },
  unreserve(h) { local.delete(I32[h + R.id]!); mbox_reeval(); },
});
