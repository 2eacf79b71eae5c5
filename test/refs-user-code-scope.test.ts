/**
 * User code the kernel runs inside a class-layer wait's call (a signal
 * handler taken at the call's entry, a diagnostics_channel subscriber of an
 * event the call published) runs outside that wait's hold scope: the waits
 * it starts keep the process alive as their own objects say, not as the
 * object whose call it ran in. Inside an unref'd Port's get(), a ref'd
 * Timer's next() started by such code did not keep the process alive (the
 * mailbox pump's hold, taken in the scope, was unref'd with the Port), and
 * the child below ended without printing 'got'.
 *
 * This file is its own child: run with a mode, it sets the scene; the
 * Timer prints 'got' after 300 ms, and an unref'd timer ends the process
 * with status 2 if it is still alive 10 s later.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import dc from 'node:diagnostics_channel';
import { Port, Timer } from 'ukern';
import * as sys from 'ukern/sys';
import { childRun } from './helpers.js';

const mode = process.argv[2];

if (mode === undefined) {
  for (const m of ['handler', 'subscriber']) {
    test(`${m}: a ref'd wait started inside an unref'd Port's get() keeps the process alive`, async () => {
      const r = await childRun(fileURLToPath(import.meta.url), [m], 60_000);
      assert.equal(r.status, 0, `status ${r.status} (2: still alive 10 s later)\n${r.stderr}`);
      assert.equal(r.stdout.trim(), 'got', r.stderr);
    });
  }
} else {
  setTimeout(() => { console.log('still alive'); process.exit(2); }, 10_000).unref();
  // The clock thread up first: its start keeps the process alive for a while (kstarting).
  const warm = new Timer({ delay: 1 });
  await warm.next();
  warm.close();
  const start = (): void => { void new Timer({ delay: 300 }).next().then(() => { console.log('got'); }); };
  const p = new Port({ ref: false });
  if (mode === 'handler') {
    // Pending for LWP 1 at get()'s kernel entry, where its handler runs.
    sys.sigaction(sys.SIGUSR2, { sa_handler: start, sa_mask: sys.sigemptyset(), sa_flags: 0 });
    sys.lwp_kill(1, sys.SIGUSR2);
    void p.get();
  } else {
    // An event taken with overruns: get() publishes ukern:timer:overrun as it takes it.
    dc.subscribe('ukern:timer:overrun', start);
    const tid = sys.timer_create(sys.CLOCK_MANUAL, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: p.fd, portnfy_user: 1 } });
    sys.timer_settime(tid, 0, { it_interval: { tv_sec: 0, tv_nsec: 1000 }, it_value: { tv_sec: 0, tv_nsec: 1000 } });
    sys.clock_advance(sys.CLOCK_MANUAL, { tv_sec: 0, tv_nsec: 3500 });
    void p.get();
  }
}
