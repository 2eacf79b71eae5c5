/** Helpers of the structured-message tests: the arena's gauges, and the check that it drained. */
import assert from 'node:assert/strict';
import { stats } from '../src/index.js';
import { msg_largest_free, msg_arena_size } from '../src/ports/msg-arena.js';

/** Bytes of the arena in use and messages queued (kstat gauges). */
export function gauges(): { bytes: number; queued: number } {
  const s = stats('msg');
  return { bytes: s['msg.bytes_in_use']!, queued: s['msg.messages_queued']! };
}
/** The arena holds nothing and has coalesced into one free block. */
export function assertArenaEmpty(what: string): void {
  assert.deepEqual(gauges(), { bytes: 0, queued: 0 }, `${what}: arena not empty`);
  assert.equal(msg_largest_free(), msg_arena_size(), `${what}: the drained arena did not coalesce into one block`);
}
