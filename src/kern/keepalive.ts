/**
 * Atomics.waitAsync does not keep Node's event loop alive. While any async
 * kernel wait is pending in this thread, one ref'd timer does.
 */
let pending = 0;
let timer: ReturnType<typeof setInterval> | undefined;

/** Marks one async wait as pending; call the returned function once when it settles. */
export function hold(): () => void {
  if (pending++ === 0) timer = setInterval(noop, 0x7fffffff);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--pending === 0 && timer !== undefined) { clearInterval(timer); timer = undefined; }
  };
}
function noop(): void {}
