/**
 * The process ends once no LWP but LWP 1 lives, also when the last one
 * ended by lwp_exit() in a callback its start function did not await
 * (fixtures/exit-async-lwp.ts). test/lwp-exit-unawaited.test.ts asserts on it.
 */
import * as sys from '../../src/sys/index.js';

sys.lwp_create({ module: new URL('../fixtures/exit-async-lwp.js', import.meta.url), export: 'exitsFromUnawaitedCallback' }, sys.LWP_DETACHED);
process.on('exit', () => { console.log(`alive at exit: ${sys.lwp_snapshot().lwps.map((l) => l.lid).join(' ')}`); });
