/**
 * The inbox of a thread that takes message events with the sys layer's
 * port_getn and never picks their values up (review finding: its bound
 * counted payload bytes, so messages of a few bytes each could pile up by
 * the million, ~2M `null`s for the default 4 MiB arena, each an inbox entry
 * and a value on the JS heap). It now holds at most what the arena could:
 * each entry counts its arena block's bytes (64 at least), so at most
 * msg_arena / 64 entries. Everything here is synchronous, in one thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Port } from '../src/index.js';
import { msg_inbox_size } from '../src/ports/msg-sys.js';
import { msg_arena_size } from '../src/ports/msg-arena.js';
import * as sys from '../src/sys/index.js';
import { assertArenaEmpty } from './msg-helpers.js';

test('tiny messages taken and never picked up: the inbox holds at most msg_arena / 64 of them (oldest dropped); the class still receives', () => {
  const port = new Port();
  const before = msg_inbox_size();
  const cap = msg_arena_size() / 64;
  const total = cap + cap / 2, batch = 1024;
  const nulls = new Array<null>(batch).fill(null);
  for (let sent = 0; sent < total; sent += batch) {
    assert.equal(port.postManySync(nulls), batch);
    assert.equal(sys.port_getn(port.fd, batch, batch, { tv_sec: 1, tv_nsec: 0 }).length, batch);
  }
  const now = msg_inbox_size();
  assert.ok(now.messages - before.messages <= cap, `the inbox holds ${now.messages - before.messages} messages, more than the ${cap} blocks of the arena`);
  assert.ok(now.bytes <= msg_arena_size(), `the inbox counts ${now.bytes} B, more than the arena`);
  port.postSync({ after: 'tiny' });
  assert.deepEqual(port.receiveSync({ timeout: 1000 }), { after: 'tiny' });
  port.close();
  assertArenaEmpty('after the tiny messages');
});
