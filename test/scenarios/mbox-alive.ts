// The thread mailbox's keepalive (test/kern-mailbox.test.ts): nothing but a
// SIGEV_THREAD timer (one-shot, 200 ms) and a SIGEV_THREAD aio read of a
// pipe keep this process alive; the timer's function has an unref'd
// setTimeout write the pipe 100 ms later (only the read holds the process
// meanwhile), the read's function prints 'done'. Beside them runs an unref'd periodic
// SIGEV_THREAD timer, armed for ever, that must not hold the process: it has
// to exit by itself once the read is delivered (the test gives it a deadline).
// The threads engine: io_uring's completion of a pipe read is not heard
// here while no thread waits in the kernel (the eventfd stays silent).
import { writeSync } from 'node:fs';
import * as sys from '../../src/sys/index.js';
import { thread_notify_ref } from '../../src/sys/ext.js';
import { pipe } from '../fixtures/osfd.js';

process.env.UKERN_AIO_ENGINE = 'threads'; // read at the first aio call, below
const [r, w] = pipe();
const tick = (): void => {};
const periodic = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_THREAD, sigev_notify_function: tick });
thread_notify_ref(tick, false);
sys.timer_settime(periodic, 0, { it_value: { tv_sec: 0, tv_nsec: 20e6 }, it_interval: { tv_sec: 0, tv_nsec: 20e6 } });
const once = sys.timer_create(sys.CLOCK_MONOTONIC, {
  sigev_notify: sys.SIGEV_THREAD, sigev_value: 1,
  sigev_notify_function: (v) => { console.log(`timer ${v}`); setTimeout(() => writeSync(w, Buffer.alloc(4, 1)), 100).unref(); },
});
sys.timer_settime(once, 0, { it_value: { tv_sec: 0, tv_nsec: 200e6 }, it_interval: { tv_sec: 0, tv_nsec: 0 } });
sys.aio_read({
  aio_fildes: r, aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(4)), aio_nbytes: 4,
  aio_sigevent: { sigev_notify: sys.SIGEV_THREAD, sigev_value: 2, sigev_notify_function: (v) => { console.log(`aio ${v}`); console.log('done'); } },
});
