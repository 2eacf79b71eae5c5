/**
 * What an LWP's `start.module` names, as the URL its worker imports: a URL
 * as it is; an absolute path or a `./relative` path (from the current
 * directory, which workers share) as a file URL; anything else is a bare
 * package specifier for import() to resolve. Undefined for a value that is
 * neither a string nor a URL (the caller's argument error).
 */
import { pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';

export function module_href(m: unknown): string | undefined {
  if (m instanceof URL) return m.href;
  if (typeof m !== 'string') return undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(m) && !/^[a-z]:[\\/]/i.test(m)) return m; // already a URL
  if (isAbsolute(m)) return pathToFileURL(m).href;
  if (m.startsWith('./') || m.startsWith('../')) return pathToFileURL(resolve(m)).href;
  return m;
}
