/**
 * ref()/unref() of the class layer (test/refs.test.ts): each mode leaves one
 * wait pending and nothing else that keeps the process alive but an
 * unref'd timer that would end the wait later. A ref'd wait keeps the
 * process alive until then (it prints 'got', after 300 ms); an unref'd one
 * does not (the process ends at once, printing nothing). The unref'd modes'
 * wait would end only after 20 s, within the test's deadline: a process
 * starved of CPU may take more than 300 ms to reach its end, and then
 * printed 'got' with nothing wrong (seen with 24 copies at once on 2 CPUs).
 */
import { Port, KQueue, Timer } from 'ukern';
import { EVFILT_USER } from 'ukern/sys';

const mode = process.argv[2];
const unrefd = mode === 'port-unref' || mode === 'port-option' || mode === 'kq-unref' || mode === 'timer-unref';
const ms = unrefd ? 20_000 : 300;
const later = (f: () => void): void => { setTimeout(f, ms).unref(); };
const got = (): void => { console.log('got'); };

switch (mode) {
  case 'port-default': { const p = new Port(); void p.get().then(got); later(() => p.sendSync(1, 1)); break; }
  case 'port-unref': { const p = new Port(); void p.get().then(got); p.unref(); later(() => p.sendSync(1, 1)); break; }
  case 'port-option': { const p = new Port({ ref: false }); void p.get().then(got); later(() => p.sendSync(1, 1)); break; }
  case 'port-reref': { const p = new Port({ ref: false }); void p.get().then(got); p.ref(); later(() => p.sendSync(1, 1)); break; }
  case 'kq-default': { const k = new KQueue(); k.register(1, EVFILT_USER); void k.wait().then(got); later(() => k.trigger(1)); break; }
  case 'kq-unref': { const k = new KQueue().unref(); k.register(1, EVFILT_USER); void k.wait().then(got); later(() => k.trigger(1)); break; }
  case 'timer-default': { const t = new Timer({ delay: ms }); void t.next().then(got); break; }
  case 'timer-unref': { const t = new Timer({ delay: ms, ref: false }); void t.next().then(got); break; }
  case 'timer-reref': { const t = new Timer({ delay: ms }).unref(); t.ref(); void t.next().then(got); break; }
  default: throw new Error(`unknown mode ${mode}`);
}
