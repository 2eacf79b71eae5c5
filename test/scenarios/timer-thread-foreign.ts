// A SIGEV_THREAD timer of this (main) thread that an LWP deletes, disarms
// or arms (argv[2]: remove, disarm, arm; test/timers-thread-foreign.test.ts).
// The timer is the only thing that may keep this process alive once the
// LWP is collected: deleted or disarmed there, the process must exit by
// itself (it stayed up for ever); armed there (300 ms), it must stay up
// until the function ran.
import * as sys from '../../src/sys/index.js';

const mode = process.argv[2]!;
const tid = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_THREAD, sigev_notify_function: () => console.log('fired') });
if (mode !== 'arm') sys.timer_settime(tid, 0, { it_value: { tv_sec: 3600, tv_nsec: 0 }, it_interval: { tv_sec: 0, tv_nsec: 0 } });
const lid = sys.lwp_create({ module: new URL('../fixtures/timer-foreign.js', import.meta.url), export: mode, arg: { tid } });
void sys.lwp_wait_async(lid).then(() => console.log('collected'));
process.on('exit', () => console.log('exit'));
