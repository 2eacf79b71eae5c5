// Reproducer: lwp_wait when sleep-queue entries have run out (default limits).
// It must fail with EAGAIN and leave no lock held: afterwards lwp_wait,
// lwp_create and exit still work. Before the fix, EAGAIN was thrown with the
// proc lock held and the next call hung.
import * as sys from 'ukern/sys';

const fixtures = new URL('../fixtures/lwps-pkg.js', import.meta.url);
const sleepers = () => sys.kmem_snapshot().caches.find((c) => c.cache === 'sleeper')!;
const sab = new SharedArrayBuffer(8);
const lid = sys.lwp_create({ module: fixtures, export: 'blockUntil', arg: { sab } });
const base = sleepers().inUse;
const parks: Promise<string>[] = [];
const n = sleepers().capacity - base;
for (let i = 0; i < n; i++) parks.push(sys.lwp_park_async(null, 5).then(() => 'ok', (e: sys.SysError) => e.code));
console.log(`exhausted ${sleepers().inUse === sleepers().capacity}`);
try { sys.lwp_wait(lid); console.log('wait returned'); } catch (e) { console.log(`wait ${(e as sys.SysError).code}`); }
try { await sys.lwp_wait_async(lid); console.log('wait_async returned'); } catch (e) { console.log(`wait_async ${(e as sys.SysError).code}`); }
console.log(`check ${JSON.stringify(sys.lwp_check())}`);
for (let i = 0; i < n; i++) sys.lwp_unpark(1, 5);
const outcomes = await Promise.all(parks);
console.log(`parks ${outcomes.every((o) => o === 'ok')}`);
Atomics.store(new Int32Array(sab), 0, 1);
Atomics.notify(new Int32Array(sab), 0);
console.log(`collected ${sys.lwp_wait(lid) === lid}`);
const l2 = sys.lwp_create({ module: fixtures, export: 'returnsAtOnce' });
console.log(`collected2 ${(await sys.lwp_wait_async(l2)) === l2}`);
console.log(`sleepers back ${sleepers().inUse === base}`);
