/**
 * KQueue#watch / Port#associate of a dgram.Socket (ukern/ostarget.ts lists
 * it among the targets): the descriptor of its handle, read without the
 * socket's deprecated `_handle` getter, which printed Node's DEP0112
 * DeprecationWarning ("Socket.prototype._handle is deprecated") on the
 * user's stderr at the first watch. Node reads a bound dgram socket itself,
 * so what is watched here is EVFILT_WRITE / POLLOUT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { KQueue, Port, EVFILT_WRITE, POLLOUT } from 'ukern';
import { within } from './helpers.js';

test('watch(dgram socket) and associate(dgram socket): its descriptor, no DeprecationWarning; a closed one is an argument error', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }): void => { warnings.push(`${w.name} ${w.code ?? ''} ${w.message}`); };
  process.on('warning', onWarning);
  const sock = dgram.createSocket('udp4');
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');
  let open = true;
  const kq = new KQueue();
  const port = new Port();
  try {
    const ident = kq.watch(sock, 'write', { udata: 4 });
    assert.ok(Number.isInteger(ident) && ident >= 0 && ident < 1 << 20, `an OS descriptor: ${ident}`);
    const evs = await within(kq.wait({ timeout: 5000 }), 6000, 'EVFILT_WRITE');
    assert.deepEqual(evs.map((e) => [e.ident, e.filter, e.udata]), [[ident, EVFILT_WRITE, 4]]);
    assert.equal(port.associate(sock, POLLOUT, { user: 2 }), ident);
    const pe = await within(port.get({ timeout: 5000 }), 6000, 'POLLOUT');
    assert.deepEqual([pe.portev_object, pe.portev_user, pe.portev_events & POLLOUT], [ident, 2, POLLOUT]);
    kq.unwatch(sock, 'write');
    // Warnings are emitted on the next tick.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings, []);
    sock.close(); open = false;
    assert.throws(() => kq.watch(sock, 'write'), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => port.associate(sock, POLLOUT), { code: 'ERR_INVALID_ARG_VALUE' });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings, []);
  } finally {
    process.off('warning', onWarning);
    kq.close(); port.close();
    if (open) sock.close();
  }
});
