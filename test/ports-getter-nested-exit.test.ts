/**
 * A blocking port_get(n) names the port whose thrcnt it raised in its LWP's
 * in-flight record (msg-arena.ts R_GET_PORT), so that the LWP's reaping
 * gives the thrcnt back should the thread end in the middle of the call
 * (take-general.ts take_reap). A signal handler runs inside the sleep of
 * the call it interrupts (kern/sleepwait.ts sq_settle), and may itself be
 * in a port_get (a nested call) when a second signal's handler ends the
 * thread there. getter_hold named the inner call's port only: the outer
 * one's was kept on the JavaScript stack, given back by the outer call's
 * end. After lwp_exit (its LwpExit is held until the handler returns, and
 * both calls unwind) that end still runs; after a process.exit in the
 * handler (the worker ends: it reaps its LWP in its 'exit' listener) it
 * never does, and the outer port stayed pinned (thrcnt 1 for ever): closed,
 * its struct was never released.
 *
 * Cases: the handler of the one call ends the thread in its sleep, or the
 * second handler in a nested call's sleep, on another port or on the same
 * one; by lwp_exit and by process.exit.
 */
import { isMainThread } from 'node:worker_threads';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import * as ports from '../src/ports/sys.js';
import { I32 } from '../src/kern/kmem.js';
import { boot } from '../src/kern/boot.js';
import { fd_get, DTYPE_PORT } from '../src/kern/fdtab.js';
import { close, kmem_snapshot } from '../src/kern/sys.js';
import { P } from '../src/ports/mem.js';
import { until, within } from './helpers.js';

const SELF = new URL(import.meta.url);
if (isMainThread) boot({ port_spin_ns: 0 });
const inUse = (cache: string): number => kmem_snapshot().caches.find((c) => c.cache === cache)!.inUse;
const TEN_S = { tv_sec: 10, tv_nsec: 0 };

type Death = 'lwp_exit' | 'process.exit';
interface Arg { a: number; b: number; nested: boolean; death: Death; sab: SharedArrayBuffer }

/**
 * LWP: blocks in port_get(a); its SIGUSR1 handler (with `nested`) blocks in
 * port_get(b); SIGUSR2's handler, or SIGUSR1's without `nested`, ends the
 * thread. s[1] counts the handlers entered; s[3]: a's thrcnt as the first
 * handler began (1: it runs inside the call).
 */
export function getter(x: Arg): void {
  const s = new Int32Array(x.sab);
  const end = (): void => { if (x.death === 'lwp_exit') sys.lwp_exit(); else process.exit(9); };
  sys.sigaction(sys.SIGUSR1, {
    sa_handler: () => {
      Atomics.add(s, 1, 1);
      Atomics.store(s, 3, I32[fd_get(x.a, DTYPE_PORT, 'test', 'EBADFD') + P.thrcnt]!);
      if (!x.nested) end();
      ports.port_get(x.b, TEN_S);
    },
    sa_flags: 0,
  });
  sys.sigaction(sys.SIGUSR2, { sa_handler: () => { Atomics.add(s, 1, 1); end(); }, sa_flags: 0 });
  Atomics.store(s, 0, 1);
  ports.port_get(x.a, TEN_S); // (unwound by the handler's exit: LwpExit, or the thread's end)
  Atomics.store(s, 2, 1); // not reached when it exits as planned
}

if (isMainThread) {
  for (const death of ['lwp_exit', 'process.exit'] as const) {
    for (const c of ['one call', 'nested, another port', 'nested, the same port'] as const) {
      test(`a getter whose signal handler ends its thread (${death}) in a port_get (${c}): every thrcnt is given back and the closed ports released`, async () => {
        const nested = c !== 'one call';
        const ports0 = inUse('port');
        const a = ports.port_create();
        const b = c === 'nested, the same port' ? a : ports.port_create();
        const ha = fd_get(a, DTYPE_PORT, 'test', 'EBADFD'), hb = fd_get(b, DTYPE_PORT, 'test', 'EBADFD');
        const sab = new SharedArrayBuffer(16), s = new Int32Array(sab);
        const w = sys.lwp_create({ module: SELF, export: 'getter', arg: { a, b, nested, death, sab } satisfies Arg });
        try {
          await until(() => Atomics.load(s, 0) === 1 && I32[ha + P.wqh] !== 0, 10_000, 'the getter asleep in port_get(a)');
          sys.lwp_kill(w, sys.SIGUSR1);
          if (nested) {
            await until(() => Atomics.load(s, 1) === 1 && I32[hb + P.wqh] !== 0, 10_000, 'the handler asleep in port_get(b)');
            sys.lwp_kill(w, sys.SIGUSR2);
          }
        } catch (e) {
          // (A wait that failed: the getter's calls end with an alert, and the LWP with them.)
          ports.port_alert(a, ports.PORT_ALERT_SET, 1, 0);
          if (b !== a) ports.port_alert(b, ports.PORT_ALERT_SET, 1, 0);
          throw e;
        } finally {
          await within(sys.lwp_wait_async(w).catch(() => 0), 10_000, 'the getter reaped');
        }
        assert.equal(Atomics.load(s, 1), nested ? 2 : 1, 'the handlers ran');
        assert.equal(Atomics.load(s, 3), 1, 'the first handler ran inside the call (its thrcnt held)');
        assert.equal(Atomics.load(s, 2), 0, 'the getter ended in its handler');
        await until(() => I32[ha + P.thrcnt] === 0 && I32[hb + P.thrcnt] === 0, 3000, () => `thrcnt given back (a ${I32[ha + P.thrcnt]}, b ${I32[hb + P.thrcnt]})`);
        close(a);
        if (b !== a) close(b);
        assert.equal(inUse('port'), ports0, 'the closed ports\' structs released');
      });
    }
  }
}
