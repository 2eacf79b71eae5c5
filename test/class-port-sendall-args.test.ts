/**
 * Port.sendAll takes Ports: any other element is the class layer's
 * ERR_INVALID_ARG_TYPE, before anything is sent — not a TypeError of the
 * engine's (null, undefined) nor a silent EBADF for a descriptor number or
 * an object that is no Port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Port } from '../src/ukern/port.js';

const type = (e: unknown): boolean => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE';

test('Port.sendAll: an element that is not a Port is ERR_INVALID_ARG_TYPE and nothing is sent', () => {
  using port = new Port();
  for (const bad of [null, undefined, port.fd, {}, { fd: port.fd }]) {
    assert.throws(() => Port.sendAll([port, bad as unknown as Port], 1, 1), type, `element ${String(bad)}`);
    assert.equal(port.pending, 0, `nothing sent for element ${String(bad)}`);
  }
  assert.deepEqual(Port.sendAll([port, port], 1, 1), [null, null]);
  assert.equal(port.pending, 2);
});
