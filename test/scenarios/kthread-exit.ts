/**
 * A program whose only LWP makes lwp0 start a kernel thread (the intr
 * thread) and ends at once: the process must stay until that thread is up
 * (a kernel thread terminated while it loads koffi aborts the whole
 * process: lwp/kthread.ts). Prints, at exit, whether the thread came up and
 * what is still counted as starting; test/package.test.ts asserts on it.
 */
import * as sys from 'ukern/sys';

sys.boot();
process.on('exit', () => {
  console.log(JSON.stringify({
    intrStarted: sys.kstat('intr')['intr.started'],
    starting: sys.kstat('lwp')['lwp.kthreads_starting'],
  }));
});
sys.lwp_wait(sys.lwp_create({ module: new URL('../fixtures/kthread-lwp.js', import.meta.url), export: 'firstSource' }));
