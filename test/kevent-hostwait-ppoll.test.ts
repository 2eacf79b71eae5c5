/**
 * The host wait on the kernel's epoll set as a host without epoll_pwait2
 * waits (boot option intr_hostwait_take false: ppoll on the set and the
 * kick eventfd, then epoll_wait to take; intr/hostwait.ts): on this machine
 * every other test takes the other way, so this file keeps that one tested.
 * Exactly one event per write with two such LWPs waiting at once, nothing
 * left over; EVFILT_USER triggers reaching such an LWP through its kick;
 * kstat intr.host_direct stays 0 while intr.host_waits moves.
 */
import { test, afterEach } from 'node:test';
import * as sys from 'ukern/sys';
import { two_readers_exactly_once, triggers_reach_the_waiter } from './fixtures/hostwait-cases.js';
import { letLwpsGo } from './helpers.js';

sys.boot({ intr_hostwait_take: false });

// The cases' LWPs block in kevent (10 s timeouts, rounds of them): what a
// failed test left is woken (EINTR) and collected after it, not found by
// the next test still waiting in the host.
afterEach(() => letLwpsGo(sys));

test('ppoll host waits: two LWPs, one event per write each, nothing lost, doubled or left over (seeded)', async () => {
  await two_readers_exactly_once(200, false);
});

test('ppoll host waits: EVFILT_USER triggers reach the waiting LWP through its kick', async () => {
  await triggers_reach_the_waiter(200, false);
});
