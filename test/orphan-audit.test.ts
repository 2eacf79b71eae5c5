/**
 * The orphan audit (finding 1 of the orphan brief): what each async sleep
 * holds while it sleeps, and whether an LWP that exits with it pending gives
 * it back. Ports and kqueues register an orphan release (orphan-async-waits);
 * the others hold nothing a release must give back:
 * - sigwait_async / sigwaitinfo_async / sigtimedwait_async: the LWP's wait
 *   set and the per-signal waiter counts (set_wait), and a process signal
 *   handed to it; the signals exit hook takes both back (sig_lwp_exited:
 *   ls_unhand, wait_forget), after the sleepers were orphaned.
 * - sigsuspend_async: the temporary mask, dropped with the LWP's entry.
 * - lwp_wait_async: p_nlwpwait, l_nwait, l_waitingfor, a target's
 *   l_waiter; lwp_exit_common takes them back (lwp_drop_waits).
 * - lwp_park_async: nothing but the sleeper (orphan-park: its unpark).
 * - aio_suspend_async, lio_listio_async LIO_WAIT: nothing but the sleeper
 *   (the requests' handles and ids are the call's own arrays).
 * The sleeper itself: lwp_orphan_sleepers frees it.
 *
 * In a fresh process (its own kernel): an LWP starts one of each (and an
 * aio_suspend_async of an empty list, which sleeps) and returns; LWP 1 collects
 * it and checks that every sleeper is back, the signal counts agree with
 * the entries, a signal of the orphaned sigwait's set reaches LWP 1's
 * sigtimedwait, and the LWP the orphaned lwp_wait_async waited for can be
 * waited for (no EDEADLK from a wait left counted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const sysUrl = new URL('../src/sys/index.js', import.meta.url).href;
const kernSysUrl = new URL('../src/kern/sys.js', import.meta.url).href;
const sigUrl = new URL('../src/signals/sig.js', import.meta.url).href;

test('an LWP that exits with sigwait, sigsuspend, lwp_wait, lwp_park and aio_suspend async waits pending leaves nothing held', () => {
  const mod = `import * as sys from ${JSON.stringify(sysUrl)};
import { kmem_snapshot } from ${JSON.stringify(kernSysUrl)};
export function run(arg) {
  const set = sys.sigemptyset(); sys.sigaddset(set, sys.SIGUSR2);
  const none = () => {};
  sys.sigwait_async(set).catch(none);
  sys.sigtimedwait_async(set, null).catch(none);
  sys.sigsuspend_async(set).catch(none);
  sys.lwp_wait_async(arg.z).catch(none);
  sys.lwp_park_async(null, 9).catch(none);
  sys.aio_suspend_async([], null).catch(none); // (no request of the list done: it sleeps)
  new Int32Array(arg.sab)[0] = kmem_snapshot().caches.find((c) => c.cache === 'sleeper').inUse; // these six asleep, and the main thread's lwp_wait_async for this LWP
  return 0;
}
export function parked() { try { sys.lwp_park(null, 5); } catch {} return 0; }
`;
  const src = `
    const sys = await import(${JSON.stringify(sysUrl)});
    const { kmem_snapshot } = await import(${JSON.stringify(kernSysUrl)});
    const { sig_counts_audit } = await import(${JSON.stringify(sigUrl)});
    const inuse = () => kmem_snapshot().caches.find((c) => c.cache === 'sleeper').inUse;
    sys.boot({});
    const set = sys.sigemptyset(); sys.sigaddset(set, sys.SIGUSR2);
    sys.sigprocmask(sys.SIG_BLOCK, set);
    const mod = 'data:text/javascript,' + encodeURIComponent(${JSON.stringify(mod)});
    const z = sys.lwp_create({ module: mod, export: 'parked' });
    while (sys.lwp_snapshot().lwps.find((l) => l.lid === z).state !== 'SLEEP') await new Promise((r) => setTimeout(r, 1)); // (its sleeper taken before the count)
    const base = inuse();
    const sab = new SharedArrayBuffer(4);
    const lid = sys.lwp_create({ module: mod, export: 'run', arg: { z, sab } });
    await sys.lwp_wait_async(lid);
    const out = { asleep: new Int32Array(sab)[0] - base, sleepers: inuse() - base, audit: sig_counts_audit() };
    sys.kill(process.pid, sys.SIGUSR2);
    out.signal = sys.sigtimedwait(set, { tv_sec: 5, tv_nsec: 0 }).si_signo;
    sys.lwp_unpark(z, 5);
    out.waitZ = sys.lwp_wait(z) === z;
    console.log(JSON.stringify(out));
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  // (asleep was 6 while sigtimedwait_async(set, null) failed with EAGAIN at once instead of waiting)
  assert.deepEqual(out, { asleep: 7, sleepers: 0, audit: null, signal: 12, waitZ: true });
});
