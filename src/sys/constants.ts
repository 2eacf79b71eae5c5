/**
 * Every constant of `ukern/sys` in one module, so that the `ukern` layer can
 * export them too (`import { EVFILT_USER, CLOCK_MONOTONIC } from 'ukern'`).
 * Their values and meanings: docs/sys.md.
 */
export * from '../kqueue/consts.js';
export * from '../ports/consts.js';
export * from '../timers/consts.js';
// All of the LWP constants ukern/sys has (the README promises every one):
// the create flags, lwp_unpark_all's limit and the NetBSD state numbers.
export { LWP_DETACHED, LWP_SUSPENDED, LWP_UNPARK_MAX, LSIDL, LSRUN, LSSLEEP, LSSTOP, LSZOMB, LSONPROC, LSSUSPENDED } from '../lwp/sys.js';
export * from '../signals/consts.js';
export * from '../aio/consts.js';
