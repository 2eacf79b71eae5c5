/**
 * process.exit beside several LWPs blocked in kevent, each waiting in the
 * host on the kernel's epoll set with its kick eventfd in that set
 * (intr/hostwait.ts, intr/kick.ts), ends the process. The exit rings each
 * kick once; a waiter woken first may take the other waiters' kicks in the
 * same epoll_pwait2, and it parks in host_leave (kern/libc.ts) before it
 * can ring them again: the others slept on in the host, and Node's join of
 * their workers hung (3 of 4 runs with two waiters, every run with four).
 * A child process per run (scenarios/intr-exit.ts 'waiters'), with a deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from './helpers.js';

test('process.exit with four LWPs blocked in host waits on the kernel\'s epoll set ends the process, three times', () => {
  for (let i = 0; i < 3; i++) {
    const r = scenario('intr-exit', ['waiters', '4'], 30_000);
    assert.equal(r.signal, null, `run ${i}: killed by ${r.signal} (hung): ${r.stdout} ${r.stderr}`);
    assert.match(r.stdout, /host waiters: 4, direct: (true, in epoll_pwait2: 4|false)/, `run ${i}: ${r.stderr}`);
    assert.equal(r.status, 3, `run ${i}: ${r.stderr}`);
  }
});
