/**
 * ref()/unref() when a wait sleeps more than once: an unref'd Port's or
 * KQueue's wait that is woken, finds its event taken by another caller and
 * sleeps again must still not keep the process alive. Its later sleeps
 * take their holds after an await, outside the call that started the
 * wait: they take them in the hold scope that call started in
 * (kern/keepalive.ts hold_scope_current / hold_in, kern/sleeprun.ts);
 * before, they were ref'd and the child below was still alive 5 s later.
 *
 * This file is its own child: run with a mode, it sets the scene and
 * prints what it saw; an unref'd timer ends it with status 2 if the
 * process is still alive after 5 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Port, KQueue } from 'ukern';
import { EVFILT_USER } from 'ukern/sys';
import { childRun } from './helpers.js';

const mode = process.argv[2];

if (mode === undefined) {
  for (const m of ['port', 'kqueue']) {
    test(`${m}: an unref'd wait that sleeps a second time does not keep the process alive`, async () => {
      const r = await childRun(fileURLToPath(import.meta.url), [m], 60_000);
      assert.equal(r.stdout.trim(), 'stolen', r.stderr);
      assert.equal(r.status, 0, `status ${r.status} (2: still alive 5 s later)\n${r.stderr}`);
    });
  }
} else {
  setTimeout(() => { console.log('still alive'); process.exit(2); }, 5000).unref();
  if (mode === 'port') {
    const p = new Port({ ref: false });
    void p.get().then(() => { console.log('got'); });
    // Queued, then taken by a poll before the pending get runs: it wakes, finds nothing and sleeps again.
    setTimeout(() => { p.sendSync(1); p.getSync({ timeout: 0 }); console.log('stolen'); }, 20);
  } else {
    const k = new KQueue({ ref: false });
    k.register(1, EVFILT_USER);
    void k.wait().then(() => { console.log('got'); });
    setTimeout(() => { k.trigger(1); k.delete(1, EVFILT_USER); console.log('stolen'); }, 20);
  }
}
