/**
 * start.module (lwp_create) and a module handler's module (sigaction) may be
 * a URL: its text is read from the URL itself, not through the object. An
 * object that only has URL.prototype (or a Proxy of a URL) passed the
 * `instanceof URL` check: its `href` getter could answer a non-string,
 * which went on as the module (lwp_create then reported that start.arg
 * could not be cloned, after making and freeing the LWP), or the engine
 * threw its own TypeError (no code).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { fixtures, within } from './helpers.js';

const typeErr = (e: unknown): boolean => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE' && /module/.test((e as Error).message);

test('lwp_create and sigaction: a module that is no real URL is ERR_INVALID_ARG_TYPE, before anything is made; a real one is read as it is', async () => {
  const created = sys.kstat('lwp')['lwp.created'];
  const fakes: unknown[] = [
    Object.create(URL.prototype, { href: { get: () => ({ toString: () => fixtures.href }) } }),
    Object.create(URL.prototype, { href: { value: Symbol('href') } }),
    Object.create(URL.prototype),
    new Proxy(new URL(fixtures.href), {}),
  ];
  for (const m of fakes) {
    assert.throws(() => sys.lwp_create({ module: m as URL, export: 'returnsAtOnce' }), typeErr);
    assert.throws(() => sys.sigaction(sys.SIGCHLD, { sa_handler: { module: m as URL, export: 'x' } }), typeErr);
  }
  assert.equal(sys.kstat('lwp')['lwp.created'], created, 'an LWP was made for a bad module');
  // A real URL whose href is shadowed by an own getter: the URL's own text is used, the getter never runs.
  const u = new URL(fixtures.href);
  let ran = 0;
  Object.defineProperty(u, 'href', { get: () => { ran++; return 'file:///nope.js'; } });
  const sab = new SharedArrayBuffer(16);
  const lid = sys.lwp_create({ module: u, export: 'selfAndPrivate', arg: { sab, value: 7 } });
  assert.equal(await within(sys.lwp_wait_async(lid), 10000, 'lwp_wait'), lid);
  assert.equal(ran, 0);
  assert.equal(new Float64Array(sab)[0], lid, 'the fixture module ran in the LWP');
  assert.deepEqual(sys.lwp_check(), []);
});
