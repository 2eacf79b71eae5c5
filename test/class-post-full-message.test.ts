/**
 * The EAGAIN of a post to a full port says once what was full. The port's
 * slot error was made the detail of the message's own EAGAIN, so the
 * message nested itself: "port_post: EAGAIN (port_post: EAGAIN (port has 4
 * of port_max_events 4 slots))".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Port, boot, SysError } from 'ukern';

boot({ port_max_events: 4 });

test('Port.postSync / post on a full port: EAGAIN, its message saying once what was full', async () => {
  const port = new Port();
  try {
    for (let i = 0; i < 4; i++) port.sendSync(i, i);
    const full = (e: unknown): boolean => {
      assert.ok(e instanceof SysError, String(e));
      assert.equal(e.code, 'EAGAIN');
      assert.equal(e.syscall, 'port_post');
      assert.equal(e.message, 'port_post: EAGAIN (port has 4 of port_max_events 4 slots)');
      return true;
    };
    assert.throws(() => port.postSync('x'), full);
    await assert.rejects(port.post('x', { timeout: 0 }), full);
    await assert.rejects(port.post({ a: 1 }, { timeout: 1 }), full);
  } finally {
    port.close();
  }
});
