/**
 * The bench runner (`npm run bench`). Runs every build/bench/*.bench.js in its
 * own child process (`node <file>`), one after another so that no two benches
 * share the 2 vCPUs, streams their output, collects the `@@FIGURES <json>`
 * line each prints (bench/lib.ts flush()), then prints one summary table and
 * writes build/bench-results.json.
 *
 *   node build/bench/run.js [substr ...]   only files whose name contains one of them
 *   BENCH_REPS=1 node build/bench/run.js   quick run (each bench reads it via lib.reps())
 *   BENCH_TIMEOUT_S=900                    per-file limit (default 600 s)
 *
 * A child that exits non-zero, is killed, or prints no figures is reported;
 * the others still run, and the runner exits 1 at the end.
 */
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { fmt, type Figure } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
// build/bench/run.js -> build/
const resultsPath = join(here, '..', 'bench-results.json');
const MARK = '@@FIGURES ';

interface FileRun {
  file: string;
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  error?: string;
  figures: Figure[];
}

function isFigure(x: unknown): x is Figure {
  if (typeof x !== 'object' || x === null) return false;
  const f = x as Record<string, unknown>;
  return typeof f.name === 'string' && typeof f.value === 'number' && typeof f.unit === 'string';
}

/** Parses a `@@FIGURES` payload; JSON turns NaN/Infinity into null, so value may be null there. */
function parseFigures(json: string): Figure[] {
  const v: unknown = JSON.parse(json);
  if (!Array.isArray(v)) throw new Error('@@FIGURES payload is not an array');
  return v.map((x: unknown) => {
    if (typeof x === 'object' && x !== null && (x as { value?: unknown }).value === null) x = { ...x, value: NaN };
    if (!isFigure(x)) throw new Error(`@@FIGURES entry is not a figure: ${JSON.stringify(x)}`);
    return x;
  });
}

function runOne(file: string, timeoutS: number): Promise<FileRun> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let figures: Figure[] = [];
    let sawFigures = false;
    let parseError: string | undefined;
    let buf = '';
    const onLine = (line: string): void => {
      if (line.startsWith(MARK)) {
        sawFigures = true;
        try { figures = parseFigures(line.slice(MARK.length)); } catch (e) { parseError = String(e); }
        return; // the summary shows them; the raw JSON line is noise on the console
      }
      process.stdout.write(line + '\n');
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutS * 1000);
    const finish = (exitCode: number | null, signal: string | null, spawnError?: string): void => {
      clearTimeout(timer);
      if (buf.length > 0) { onLine(buf); buf = ''; }
      let error = spawnError;
      if (error === undefined && timedOut) error = `killed after ${timeoutS} s (BENCH_TIMEOUT_S)`;
      else if (error === undefined && exitCode !== 0) error = signal !== null ? `killed by ${signal}` : `exit code ${exitCode}`;
      else if (error === undefined && parseError !== undefined) error = parseError;
      else if (error === undefined && !sawFigures) error = 'printed no @@FIGURES line (missing flush()?)';
      resolve({ file, ok: error === undefined, exitCode, signal, durationMs: performance.now() - t0, error, figures });
    };
    child.on('error', (e) => finish(null, null, `spawn failed: ${e.message}`));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

function ratioOf(f: Figure): number | undefined {
  return f.peerValue !== undefined && f.peerValue !== 0 && Number.isFinite(f.peerValue) ? f.value / f.peerValue : undefined;
}

/** Plain-text table, columns padded to their widest cell. */
function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(header), w.map((n) => '-'.repeat(n)).join('  ').trimEnd(), ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  const all = readdirSync(here).filter((f) => f.endsWith('.bench.js')).sort();
  const files = all.filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
  if (files.length === 0) {
    console.error(`bench: no build/bench/*.bench.js matches ${JSON.stringify(filters)} (have: ${all.join(', ') || 'none'})`);
    return 1;
  }
  const timeoutS = Number(process.env.BENCH_TIMEOUT_S) > 0 ? Number(process.env.BENCH_TIMEOUT_S) : 600;
  console.log(`bench: ${files.length} file(s), node ${process.version}, ${cpus().length} cpus, BENCH_REPS=${process.env.BENCH_REPS ?? '(default)'}`);

  const runs: FileRun[] = [];
  for (const f of files) {
    console.log(`\n=== ${f}`);
    const r = await runOne(join(here, f), timeoutS);
    console.log(`=== ${f}: ${r.ok ? 'ok' : 'FAILED: ' + r.error} (${(r.durationMs / 1000).toFixed(1)} s)`);
    runs.push(r);
  }

  const rows: string[][] = [];
  for (const r of runs) {
    const file = basename(r.file, '.bench.js');
    for (const f of r.figures) {
      const ratio = ratioOf(f);
      rows.push([
        file, f.name, `${fmt(f.value)} ${f.unit}`,
        f.peer !== undefined ? `${f.peer}${f.peerValue !== undefined ? ': ' + fmt(f.peerValue) : ''}` : '',
        ratio !== undefined ? ratio.toFixed(3) + 'x' : '',
        f.goal ?? '',
        f.met === undefined ? '' : f.met ? 'MET' : 'NOT MET',
      ]);
    }
    if (!r.ok) rows.push([file, `FAILED: ${r.error}`, '', '', '', '', '']);
  }
  console.log('\n' + table(['file', 'name', 'value', 'peer', 'ratio', 'goal', ''], rows));

  const withGoal = runs.flatMap((r) => r.figures).filter((f) => f.met !== undefined);
  const met = withGoal.filter((f) => f.met === true).length;
  const failed = runs.filter((r) => !r.ok);
  console.log(`\ngoals: ${met}/${withGoal.length} met; files: ${runs.length - failed.length}/${runs.length} ok`);

  writeFileSync(resultsPath, JSON.stringify({
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    benchReps: process.env.BENCH_REPS ?? null,
    filters,
    files: runs.map((r) => ({ ...r, file: relative(join(here, '..', '..'), r.file) })),
  }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n');
  console.log(`results: ${relative(process.cwd(), resultsPath) || resultsPath}`);
  if (failed.length > 0) console.error(`bench: ${failed.length} file(s) failed: ${failed.map((r) => basename(r.file)).join(', ')}`);
  return failed.length > 0 ? 1 : 0;
}

process.exitCode = await main();
