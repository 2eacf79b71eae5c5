/**
 * lwp_unpark wakes a park "with the same hint (compared bit-exact; NaN
 * matches NaN)", and a park hint is a user word that keeps -0 (docs/sys.md).
 * The comparison was ===, for which -0 is 0: an unpark with hint -0 woke a
 * park with hint 0 (and the other way round) instead of leaving the unpark
 * pending. LWP review.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { until, within, letLwpsGo } from './helpers.js';

afterEach(() => letLwpsGo(sys));

const sysUrl = import.meta.resolve('ukern/sys'); // (the LWPs' kernel is this thread's module instance)
const body = `import * as sys from ${JSON.stringify(sysUrl)};
export function parked(h) { try { sys.lwp_park(null, h); return 'unparked'; } catch (e) { return e.code; } }
`;
const mod = 'data:text/javascript,' + encodeURIComponent(body);
const info = (lid: number): sys.LwpInfo | undefined => sys.lwp_snapshot().lwps.find((x) => x.lid === lid);

for (const [park, unpark] of [[0, -0], [-0, 0]] as const) {
  test(`a park with hint ${Object.is(park, -0) ? '-0' : '0'} is not woken by an unpark with hint ${Object.is(unpark, -0) ? '-0' : '0'}: the unpark is left pending`, async () => {
    const t = sys.lwp_create({ module: mod, export: 'parked', arg: park });
    await until(() => info(t)?.state === 'SLEEP' && info(t)?.wmesg === 'parked', 10_000, 'the LWP to park');
    sys.lwp_unpark(t, unpark);
    assert.equal(info(t)?.unparkPending, true, 'the unpark with the other zero woke the park');
    assert.equal(info(t)?.state, 'SLEEP');
    sys.lwp_unpark(t, park); // the park's own hint wakes it
    assert.equal(await within(sys.lwp_wait_async(t), 10_000, 'the LWP to end'), t);
    assert.deepEqual(sys.lwp_check(), []);
  });
}
