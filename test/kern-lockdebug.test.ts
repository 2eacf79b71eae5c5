/**
 * LOCKDEBUG (kern/lockdebug.ts): every lock word has a class, and with the
 * boot option on, an acquisition out of LOCK_ORDER panics on its first
 * occurrence. The panicking cases run in fresh processes (scenarios/lockdebug.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { lock_class_of } from '../src/kern/lockdebug.js';
import { LOCK_ORDER } from '../src/kern/lockorder.js';
import { curproc, P } from '../src/kern/proc.js';
import { L } from '../src/lwp/lwp.js';
import { cur } from '../src/kern/hdr.js';
import { park_bucket_lock } from '../src/lwp/park.js';
import { scenario } from './helpers.js';

test('lock words resolve to their declared classes', () => {
  sys.port_create(); // boots
  assert.equal(lock_class_of(curproc() + P.lock), 'proc');
  assert.equal(lock_class_of(cur.lwp + L.lock), 'lwp');
  assert.equal(lock_class_of(park_bucket_lock(0)), 'parktab');
  assert.equal(lock_class_of(park_bucket_lock(0) + 1), undefined, 'a bucket list head is not a lock');
  assert.equal(lock_class_of(0), undefined);
  for (const c of LOCK_ORDER) assert.equal(typeof c, 'string');
});

test('lockdebug on: acquisitions in LOCK_ORDER pass, a try-enter out of order passes', () => {
  for (const c of ['in-order', 'try']) {
    const r = scenario('lockdebug', [c]);
    assert.equal(r.stdout.trim(), 'survived', `${c}: ${r.stdout} ${r.stderr}`);
  }
});

test('lockdebug on: an inverted order, two locks of one class, an undeclared lock word: a panic naming both locks', () => {
  const inv = scenario('lockdebug', ['inverted']);
  assert.match(inv.stdout, /^threw EIO: .*lock order violation: taking proc lock \(word \d+\) while holding parktab lock \(word \d+\)/m);
  assert.match(inv.stderr, /ukern: panic: lockdebug: lock order violation/);
  const same = scenario('lockdebug', ['same-class']);
  assert.match(same.stdout, /^threw EIO: .*taking parktab lock \(word \d+\) while holding parktab lock/m);
  const und = scenario('lockdebug', ['undeclared']);
  assert.match(und.stdout, /^threw EIO: .*mutex at word \d+ has no lock class/m);
});

test('lockdebug off: the same sequences are not checked', () => {
  for (const c of ['inverted', 'same-class', 'undeclared']) {
    const r = scenario('lockdebug', [c, 'off']);
    assert.equal(r.stdout.trim(), 'survived', `${c}: ${r.stdout} ${r.stderr}`);
  }
});

test('releasing a mutex this thread does not hold panics, with lockdebug (its check) or without (mutex_exit\'s own)', () => {
  const on = scenario('lockdebug', ['exit-not-owner']);
  assert.match(on.stdout, /^threw EIO: .*lockdebug: releasing parktab lock \(word \d+\), which this thread does not hold/m);
  const off = scenario('lockdebug', ['exit-not-owner', 'off']);
  assert.match(off.stdout, /^threw EIO: .*mutex_exit: thread 1 released the kernel mutex at word \d+, which nobody holds/m);
});
