/**
 * What an LWP's `start.module` names, as the URL its worker imports: a URL
 * as it is; an absolute path or a `./relative` path (from the current
 * directory, which workers share) as a file URL; anything else is a bare
 * package specifier for import() to resolve. Undefined for a value that is
 * neither a string nor a URL (the caller's argument error).
 */
import { pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import { copyin_fault, arg_type } from '../kern/copyin.js';

/** URL's own href getter: a URL's text read from its internal state, never through the object. */
const urlHref = Object.getOwnPropertyDescriptor(URL.prototype, 'href')!.get! as (this: unknown) => unknown;

export function module_href(m: unknown): string | undefined {
  // `instanceof` only looks at the prototype: an object made from
  // URL.prototype (or a Proxy of a URL) passes it. Read through the object,
  // such an `href` could answer anything (a non-string went on as the
  // module, and lwp_create blamed start.arg when it could not be posted),
  // or the engine threw its own TypeError; it names no module.
  if (m instanceof URL) {
    let h: unknown;
    try { h = urlHref.call(m); } catch { return undefined; }
    return typeof h === 'string' ? h : undefined;
  }
  if (typeof m !== 'string') return undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(m) && !/^[a-z]:[\\/]/i.test(m)) return m; // already a URL
  if (isAbsolute(m)) return pathToFileURL(m).href;
  if (m.startsWith('./') || m.startsWith('../')) return pathToFileURL(resolve(m)).href;
  return m;
}

/**
 * module_href of a call's argument `what`, read as copy-in reads: a
 * revoked Proxy (its `instanceof URL` throws) is copyin_fault's (EFAULT, or
 * ERR_INVALID_ARG_VALUE in the class layer: `cls`), a value that is neither
 * a string nor a URL an argument error.
 */
export function copyin_module_href(m: unknown, what: string, syscall: string, cls = false): string {
  let h: string | undefined;
  try { h = module_href(m); } catch (e) { copyin_fault(e, m, what, syscall, cls); }
  return h ?? arg_type(syscall, `${what} must be a string or URL`);
}
