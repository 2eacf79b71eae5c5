/**
 * A second reporter of `npm test` (scripts/test.mjs), after spec: at the
 * end of the run it prints each failure again with its file, its error and
 * the last lines that file's process wrote to stderr and stdout outside the
 * reporter (its exit-guard line, a panic, a seed to replay), so that the
 * tail of a CI log, often all a log keeps, says what failed and why. A file
 * whose process died part-way appears as a failure named after the file:
 * then its output tail is the only account of where it was.
 */
const TAIL = 40;

function text(e) {
  if (e === undefined || e === null) return '';
  const c = e.cause ?? e;
  const s = typeof c === 'object' && c !== null && 'stack' in c && typeof c.stack === 'string' ? c.stack : String(c);
  return s.split('\n').slice(0, 12).join('\n');
}

export default async function* failures(source) {
  /** file -> its last output lines (stderr and stdout the runner passed on). */
  const out = new Map();
  const fails = [];
  for await (const ev of source) {
    const d = ev.data ?? {};
    if (ev.type === 'test:stderr' || ev.type === 'test:stdout') {
      const f = d.file ?? '?';
      const lines = out.get(f) ?? [];
      for (const l of String(d.message ?? '').split('\n')) if (l !== '') lines.push(l);
      if (lines.length > TAIL) lines.splice(0, lines.length - TAIL);
      out.set(f, lines);
    } else if (ev.type === 'test:fail') {
      fails.push({ name: d.name, file: d.file, err: text(d.details?.error) });
    }
  }
  if (fails.length === 0) return;
  let s = `\n=== ${fails.length} failure(s), again (scripts/test-failures.mjs) ===\n`;
  const files = new Set();
  for (const f of fails) {
    s += `\n--- FAILED: ${f.name}\n    file: ${f.file ?? '?'}\n${f.err.replace(/^/gm, '    ')}\n`;
    if (f.file !== undefined) files.add(f.file);
  }
  for (const f of files) {
    const lines = out.get(f);
    if (lines === undefined || lines.length === 0) continue;
    s += `\n--- output of ${f} (last ${lines.length} lines)\n${lines.map((l) => `    ${l}`).join('\n')}\n`;
  }
  yield s;
}
