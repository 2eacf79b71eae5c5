/**
 * The README's list of diagnostics_channel names against the kernel's
 * channels (kern/diag.ts: every exported DiagChannel, and the table in its
 * head comment that the README sends readers to for the payloads). The list
 * had lost ukern:timer:overrun and ukern:signal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as diag from '../src/kern/diag.js';

const root = new URL('../../', import.meta.url);
const channels = Object.values(diag)
  .filter((v): v is diag.DiagChannel => typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string')
  .map((d) => d.name).sort();

test('the README names every diagnostics channel of the kernel, and no other', () => {
  assert.ok(channels.length >= 8, `kern/diag.ts exports ${channels.length} channels`);
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const named = [...new Set(readme.match(/`ukern:[a-z:]+`/g)!.map((s) => s.slice(1, -1)))].sort();
  assert.deepEqual(named, channels);
});

test('kern/diag.ts documents the payload of every channel it exports', () => {
  const src = readFileSync(new URL('src/kern/diag.ts', root), 'utf8');
  const head = src.slice(0, src.indexOf('*/'));
  const listed = [...head.matchAll(/^ \*\s+(ukern:[a-z:]+)\s+\{/gm)].map((m) => m[1]!).sort();
  assert.deepEqual(listed, channels);
});
