/**
 * The booting thread keeps the process alive while LWPs other than LWP 1
 * live, but not after a panic (lwp/spawn.ts lwp0_refresh): LWPs that died in
 * the kernel never exit. A panic made in an LWP that then can never exit
 * (scenarios/panic-keepalive.ts: inside a kernel lock, which its exit needs)
 * must still let the process end, with status 70: its worker reports itself
 * retired even though the LWP's exit failed (lwp/trampoline-main.ts finish).
 * Before, the failed exit was thrown through and the worker said nothing:
 * the booting thread, never told of the panic, held lwp0 for ever and the
 * process hung.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from './helpers.js';

test('a process whose LWP panicked the kernel inside a lock (it can never exit) still ends, with status 70', () => {
  const r = scenario('panic-keepalive', ['lock'], 30_000);
  assert.equal(r.signal, null, `hung:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^main done$/m, r.stderr);
  assert.match(r.stdout, /^panicked EIO$/m, r.stderr);
  assert.equal(r.status, 70, r.stderr);
});

test('a process whose LWP waits suspended to start when the kernel panics still ends, with status 70', () => {
  const r = scenario('panic-keepalive', ['suspended'], 30_000);
  assert.equal(r.signal, null, `hung:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^panicked EIO\nmain done$/m, r.stderr);
  assert.equal(r.status, 70, r.stderr);
});
