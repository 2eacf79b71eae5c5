// Signals sent by another process (the test) to this one: argv[2] names the case. Prints "ready"
// once the parent may send, then what arrived.
//   handler     LWP 1 catches SIGUSR2 with a function; idle in its event loop
//   sigwait     an LWP waits in sigwaitinfo for SIGUSR2; LWP 1 idles
//   restored    SIGTERM caught, then back to SIG_DFL: the parent's SIGTERM kills (no listener left)
//   order       LWP 1 catches SIGUSR2 with a function, and a Node listener added after it says what ran before it
import * as sys from 'ukern/sys';

const fx = new URL('../fixtures/signals-pkg.js', import.meta.url);
const which = process.argv[2];
const keep = setInterval(() => {}, 1000);

if (which === 'handler') {
  sys.sigaction(sys.SIGUSR2, { sa_handler: (s, info) => { console.log(`handler ${s} code ${info.si_code}`); clearInterval(keep); } });
  console.log('ready');
} else if (which === 'sigwait') {
  const sab = new SharedArrayBuffer(32);
  const a = new Int32Array(sab);
  const lid = sys.lwp_create({ module: fx, export: 'waitsInfo', arg: { sab, signo: sys.SIGUSR2 } });
  let ready = false;
  const poll = setInterval(() => {
    if (!ready && Atomics.load(a, 0) === 1 && sys.lwp_snapshot().lwps.find((l) => l.lid === lid)?.state === 'SLEEP') {
      ready = true;
      // The LWP's wait reaches LWP 1's router through osbell: give its event loop a turn.
      setTimeout(() => console.log('ready'), 20);
    }
    if (Atomics.load(a, 0) === 2) { console.log(`sigwaitinfo ${a[1]} code ${a[2]}`); clearInterval(keep); clearInterval(poll); sys.lwp_wait(lid); }
  }, 1);
} else if (which === 'order') {
  const ran: string[] = [];
  sys.sigaction(sys.SIGUSR2, { sa_handler: () => { ran.push('handler'); } });
  process.on('SIGUSR2', () => { ran.push('listener'); console.log(`ran ${ran.join(' ')}`); clearInterval(keep); });
  console.log('ready');
} else if (which === 'restored') {
  sys.sigaction(sys.SIGTERM, { sa_handler: () => { console.log('caught'); } });
  sys.sigaction(sys.SIGTERM, { sa_handler: sys.SIG_DFL });
  console.log('ready');
}
