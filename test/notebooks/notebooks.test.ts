import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notebookEnv, prepareNotebooks } from '../../notebooks/kernel.ts';

/**
 * Every notebook in notebooks/ runs headlessly in Jupyter with the tslab kernel, as CI runs it
 * (`/usr/bin/jupyter nbconvert --to notebook --execute`), and the executed notebook is read back:
 * no error output, nothing on stderr (where tslab reports type errors and exceptions), and the
 * rich outputs each notebook promises are there.
 */
const NOTEBOOKS = join(import.meta.dirname, '..', '..', 'notebooks');
const NAMES = ['01-quickstart', '02-sweep', '03-walkforward', '04-montecarlo'];

const Output = z.discriminatedUnion('output_type', [
  z.object({ output_type: z.literal('stream'), name: z.enum(['stdout', 'stderr']), text: z.union([z.string(), z.array(z.string())]) }),
  z.object({ output_type: z.literal('display_data'), data: z.record(z.string(), z.unknown()), metadata: z.unknown() }),
  z.object({ output_type: z.literal('execute_result'), data: z.record(z.string(), z.unknown()), execution_count: z.number().nullable(), metadata: z.unknown() }),
  z.object({ output_type: z.literal('error'), ename: z.string(), evalue: z.string(), traceback: z.array(z.string()) }),
]);
const Cell = z.discriminatedUnion('cell_type', [
  z.object({ cell_type: z.literal('code'), source: z.union([z.string(), z.array(z.string())]), execution_count: z.number().nullable(), outputs: z.array(Output) }),
  z.object({ cell_type: z.literal('markdown'), source: z.union([z.string(), z.array(z.string())]) }),
  z.object({ cell_type: z.literal('raw'), source: z.union([z.string(), z.array(z.string())]) }),
]);
const Notebook = z.object({
  nbformat: z.literal(4),
  metadata: z.object({ kernelspec: z.object({ name: z.literal('tslab') }) }),
  cells: z.array(Cell),
});
type Nb = z.infer<typeof Notebook>;
type Out = z.infer<typeof Output>;

const text = (t: string | string[] | unknown): string => (Array.isArray(t) ? t.join('') : String(t));
const outputs = (nb: Nb): Out[] => nb.cells.flatMap((c) => (c.cell_type === 'code' ? c.outputs : []));
const htmls = (nb: Nb): string[] => outputs(nb).flatMap((o) => (o.output_type === 'display_data' && o.data['text/html'] !== undefined ? [text(o.data['text/html'])] : []));
const stdout = (nb: Nb): string => outputs(nb).map((o) => (o.output_type === 'stream' && o.name === 'stdout' ? text(o.text) : '')).join('');
/** An SVG that drew something: paths with real coordinates, not an empty frame. */
const drawnSvgs = (nb: Nb): string[] => htmls(nb).filter((h) => h.trimStart().startsWith('<svg') && (h.match(/<path d="M[\d.]+ [\d.]+L/g) ?? []).length >= 3);
const tableRows = (html: string): string[][] =>
  [...html.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) => [...m[1]!.matchAll(/<t[dh]>(.*?)<\/t[dh]>/g)].map((c) => c[1]!));

function nbconvert(name: string, outDir: string): Promise<{ code: number | null; log: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/jupyter', [
      'nbconvert', '--to', 'notebook', '--execute', '--allow-errors', '--ExecutePreprocessor.timeout=240',
      '--ExecutePreprocessor.kernel_name=tslab', '--output-dir', outDir, join(NOTEBOOKS, `${name}.ipynb`),
    ], { cwd: NOTEBOOKS, env: { ...notebookEnv(), PYDEVD_DISABLE_FILE_VALIDATION: '1' } });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, log }));
  });
}

let outDir: string;
const executed = new Map<string, Nb>();
const logs = new Map<string, string>();

beforeAll(async () => {
  prepareNotebooks();
  outDir = mkdtempSync(join(tmpdir(), 'cs-notebooks-'));
  const runs = await Promise.all(NAMES.map((n) => nbconvert(n, outDir)));
  runs.forEach((r, i) => {
    const name = NAMES[i]!;
    logs.set(name, r.log);
    if (r.code === 0) executed.set(name, Notebook.parse(JSON.parse(readFileSync(join(outDir, `${name}.ipynb`), 'utf8'))));
  });
}, 300_000);
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

function run(name: string): Nb {
  const nb = executed.get(name);
  if (!nb) throw new Error(`${name} did not execute:\n${logs.get(name)}`);
  const errors = outputs(nb).flatMap((o) => (o.output_type === 'error' ? [`${o.ename}: ${o.evalue}`] : o.output_type === 'stream' && o.name === 'stderr' ? [text(o.text)] : []));
  // tslab reports a failed cell (type error or exception) on stderr; it leaves execution_count null even on success.
  expect(errors, `${name}: error outputs`).toEqual([]);
  return nb;
}

describe('notebooks, executed headlessly with the tslab kernel', () => {
  it('the committed notebooks are exactly the four, all on the tslab kernel and without outputs', () => {
    expect(readdirSync(NOTEBOOKS).filter((f) => f.endsWith('.ipynb')).sort()).toEqual(NAMES.map((n) => `${n}.ipynb`));
    for (const n of NAMES) {
      const nb = Notebook.parse(JSON.parse(readFileSync(join(NOTEBOOKS, `${n}.ipynb`), 'utf8')));
      for (const c of nb.cells) if (c.cell_type === 'code') expect([n, c.outputs.length, c.execution_count]).toEqual([n, 0, null]);
      // the public API only: no relative imports into the source tree
      const code = nb.cells.map((c) => text(c.source)).join('\n');
      expect(code).toMatch(/from 'cryptosentinel'/);
      expect(code).not.toMatch(/from '\.\.?\//);
    }
  });

  it('01-quickstart: a metrics table beside buy-and-hold, an equity and a drawdown chart, the last trades', () => {
    const nb = run('01-quickstart');
    expect(stdout(nb)).toMatch(/^8784 hourly bars/m); // 2024 is a leap year: 366 × 24
    const metrics = htmls(nb).find((h) => h.includes('class="metrics"'))!;
    const rows = tableRows(metrics);
    expect(rows[0]).toEqual(['metric', 'sma-cross', 'buy &amp; hold']);
    expect(rows.map((r) => r[0])).toContain('Sharpe');
    for (const r of rows.slice(1)) expect(r[1]).toMatch(/^-?\d+(\.\d+)?( %)?$/);
    expect(drawnSvgs(nb)).toHaveLength(2);
    expect(tableRows(htmls(nb).find((h) => h.includes('class="trades"'))!)).toHaveLength(6);
  });

  it('02-sweep: 25 runs, a heatmap with a cell per pair, the best runs, DSR and PBO', () => {
    const nb = run('02-sweep');
    expect(stdout(nb)).toMatch(/: 25 runs/);
    const [heatmap] = drawnSvgs(nb);
    expect(heatmap).toBeDefined();
    // five fast × five slow values as axis labels
    for (const v of ['5', '10', '15', '20', '25', '30', '40', '50', '60', '70']) expect(heatmap).toContain(`>${v}</text>`);
    expect(tableRows(htmls(nb).find((h) => h.includes('class="best"'))!)).toHaveLength(6);
    const of = Object.fromEntries(tableRows(htmls(nb).find((h) => h.includes('class="overfitting"'))!).map(([k, v]) => [k, v]));
    expect(of.trials).toBe('25');
    for (const k of ['DSR', 'PBO']) expect(Number(of[k])).toBeGreaterThanOrEqual(0);
  });

  it('03-walkforward: one row per window with the chosen parameters, and the stitched curve', () => {
    const nb = run('03-walkforward');
    const windows = tableRows(htmls(nb).find((h) => h.includes('class="windows"'))!).slice(1);
    // Jan 1 → Oct 1 2024 is 274 days: IS 90 + k × 30 OOS windows ending by Oct 1 → 6 windows
    expect(windows).toHaveLength(6);
    for (const w of windows) expect(JSON.parse(w[3]!.replaceAll('&quot;', '"'))).toMatchObject({ fast: expect.any(Number), slow: expect.any(Number) });
    expect(drawnSvgs(nb)).toHaveLength(1);
  });

  it('04-montecarlo: ordered percentiles over 500 paths, and the fan', () => {
    const nb = run('04-montecarlo');
    const rows = tableRows(htmls(nb).find((h) => h.includes('class="percentiles"'))!);
    expect(rows.map((r) => r[0])).toEqual(['statistic', 'final return', 'max drawdown', 'Sharpe']);
    for (const r of rows.slice(1)) {
      const [p5, p50, p95] = r.slice(1, 4).map((c) => parseFloat(c));
      expect(p5!).toBeLessThanOrEqual(p50!);
      expect(p50!).toBeLessThanOrEqual(p95!);
    }
    expect(drawnSvgs(nb)).toHaveLength(1);
  });
});
