// Default actions of signals, in a process of their own: argv[2] names the case.
//   term        kill(self, SIGTERM) from LWP 1: dies of SIGTERM (exit hooks first: an exit hook prints)
//   term-lwp    an LWP sends SIGTERM to the process while LWP 1 blocks in port_get
//   usr1        SIGUSR1, which Node keeps for its inspector: exit status 128 + 10
//   usr1-lwp    the same from another LWP while LWP 1 idles in its event loop
//   kill        lwp_kill(1, SIGKILL) from another LWP: dies of SIGKILL at once
//   rt-lwp      an LWP sends SIGRTMIN+1 (default: terminate) to the process: exit status 128 + 35
//   stop        SIGTSTP stops the whole process; after the parent's SIGCONT it prints and exits 0
import * as sys from 'ukern/sys';

const fx = new URL('../fixtures/signals-pkg.js', import.meta.url);
const which = process.argv[2];
const port = sys.port_create();
// The kernel's exit hooks run before the process dies of a signal: the port's close is published
// (diagnostics_channel; a write to a pipe is synchronous on Linux, so it is out before the death).
import { subscribe } from 'node:diagnostics_channel';
subscribe('ukern:port:close', () => { console.log('port closed by the exit hooks'); });
subscribe('ukern:signal', (m) => { const d = m as { signo: number; action: string }; console.log(`signal ${d.signo} ${d.action}`); });
process.on('exit', () => { console.log('node exit event'); });

if (which === 'term') {
  console.log('ready');
  sys.kill(process.pid, sys.SIGTERM);
  sys.lwp_self();
  console.log('not reached');
} else if (which === 'term-lwp' || which === 'kill' || which === 'rt-lwp') {
  const signo = which === 'kill' ? sys.SIGKILL : which === 'rt-lwp' ? sys.SIGRTMIN + 1 : sys.SIGTERM;
  sys.lwp_create({ module: fx, export: 'sendsLater', arg: { lid: 0, signo } }, sys.LWP_DETACHED);
  console.log('ready');
  sys.port_get(port, null);
  console.log('not reached');
} else if (which === 'usr1') {
  console.log('ready');
  sys.kill(0, sys.SIGUSR1);
  sys.lwp_self();
  console.log('not reached');
} else if (which === 'usr1-lwp') {
  sys.lwp_create({ module: fx, export: 'sendsLater', arg: { lid: 0, signo: sys.SIGUSR1 } }, sys.LWP_DETACHED);
  console.log('ready');
  setInterval(() => {}, 1000);
} else if (which === 'stop') {
  console.log('ready');
  sys.kill(process.pid, sys.SIGTSTP);
  sys.lwp_self();
  console.log('continued');
  sys.close(port);
}
