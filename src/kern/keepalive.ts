/**
 * What keeps a thread's event loop alive while kernel waits are pending.
 * Atomics.waitAsync does not keep Node's event loop alive; while any ref'd
 * hold is pending in this thread, one ref'd timer does (one timer for all).
 *
 * Holds are ref'd by default, like Node's handles. The class layer's ref()/
 * unref() (Port, KQueue) decides for the waits it starts: it runs the call
 * that starts a wait inside `hold_scope`, which sets whether the holds taken
 * meanwhile start ref'd and hands them back, so that a later unref() or
 * ref() of the object applies to the waits already pending.
 */
let refd = 0;
let timer: ReturnType<typeof setInterval> | undefined;

/** One pending wait's hold on the event loop. */
export interface Hold {
  /** The wait settled: the hold goes (idempotent). */
  release(): void;
  ref(): void;
  unref(): void;
}

function more(): void { if (refd++ === 0) timer = setInterval(noop, 0x7fffffff); }
function less(): void { if (--refd === 0 && timer !== undefined) { clearInterval(timer); timer = undefined; } }
function noop(): void {}

let scope: Hold[] | undefined;
let scopeRef = true;

/** Marks one async wait as pending; call the returned function once when it settles. */
export function hold(): () => void {
  let on = false, done = false;
  const h: Hold = {
    release() { if (done) return; done = true; if (on) { on = false; less(); } },
    ref() { if (!done && !on) { on = true; more(); } },
    unref() { if (!done && on) { on = false; less(); } },
  };
  if (scopeRef) h.ref();
  scope?.push(h);
  return h.release;
}

/** Runs `fn` (which may start async waits); their holds start ref'd or not, and are returned. */
export function hold_scope<T>(ref: boolean, fn: () => T): { value: T; holds: Hold[] } {
  const outer = scope, outerRef = scopeRef;
  const holds: Hold[] = [];
  scope = holds; scopeRef = ref;
  try {
    return { value: fn(), holds };
  } finally {
    scope = outer; scopeRef = outerRef;
  }
}
