import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedBtcHourly } from '../support/bars.ts';
import { csInProcess } from '../support/cli.ts';

/** `cs report` on a real DuckDB file holding a run, a sweep and a walk-forward made by the CLI. */

const dir = mkdtempSync(join(tmpdir(), 'cs-report-cli-'));
const db = join(dir, 'r.duckdb');
const out = join(dir, 'reports');
const ids = { run: '', sweep: '', walkforward: '' };
const common = ['--strategy', 'sma-cross', '--symbol', 'BTC/USDT', '--timeframe', '1h', '--db', db, '--json'];

async function ok(args: string[]): Promise<Record<string, unknown>> {
  const r = await csInProcess(args);
  if (r.code !== 0) throw new Error(`cs ${args.join(' ')} → ${r.code}: ${r.err}`);
  return JSON.parse(r.out) as Record<string, unknown>;
}

beforeAll(async () => {
  await seedBtcHourly(db, Date.UTC(2024, 2, 1));
  ids.run = String((await ok(['backtest', ...common])).runId);
  ids.sweep = String((await ok(['sweep', ...common, '--grid', 'fast=5:15:5', '--grid', 'slow=30:50:10', '--workers', '0'])).sweepId);
  ids.walkforward = String((await ok(['walkforward', ...common, '--is', '20d', '--oos', '10d', '--grid', 'fast=5:15:10', '--grid', 'slow=30:50:20', '--pbo-blocks', '0'])).id);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cs report', () => {
  it.each(['run', 'sweep', 'walkforward'] as const)('finds what a %s id is and writes its tearsheet', async (kind) => {
    const id = ids[kind];
    const j = await ok(['report', id, '--db', db, '--out-dir', out, '--json']);
    expect(j.kind).toBe(kind);
    expect(j.id).toBe(id);
    const path = String(j.path);
    expect(path.startsWith(out)).toBe(true);
    expect(statSync(path).size).toBe(j.bytes);
    const html = readFileSync(path, 'utf8');
    expect(html).toContain(id);
    expect(html).toMatch(/^<!DOCTYPE html>/);
    // The chart library travels inside the file; no external script or stylesheet.
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    expect(html).toContain('echarts');
  });

  it('writes --out where asked and prints the path', async () => {
    const file = join(dir, 'mine.html');
    const r = await csInProcess(['report', ids.run, '--db', db, '--out', file]);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(`run report: ${file}`);
    expect(readFileSync(file, 'utf8')).toContain('Trades on the price chart');
  });

  it('--montecarlo on a run: fan chart and percentile table, same seed same file', async () => {
    const a = join(dir, 'mc-a.html');
    const b = join(dir, 'mc-b.html');
    const args = ['report', ids.run, '--montecarlo', '--method', 'block', '--paths', '300', '--seed', '4', '--db', db, '--json'];
    const j = await ok([...args, '--out', a]);
    expect(j.kind).toBe('montecarlo');
    await ok([...args, '--out', b]);
    const html = readFileSync(a, 'utf8');
    expect(html).toContain('Percentiles over the paths');
    expect(html).toContain('mc-fan');
    expect(readFileSync(b, 'utf8')).toBe(html);
  });

  const bad: [string, string[], RegExp][] = [
    ['an unknown id', ['report', 'run-nope'], /no run, sweep or walk-forward "run-nope"/],
    ['an id of another kind than --kind', ['report', 'RUN', '--kind', 'sweep'], /no sweep "/],
    ['--montecarlo on a sweep', ['report', 'SWEEP', '--montecarlo'], /--montecarlo needs a run id/],
    ['an unknown heatmap parameter', ['report', 'SWEEP', '--x', 'fats'], /--x: sweep "[^"]+" has no parameter "fats"/],
    ['an unknown metric', ['report', 'SWEEP', '--metric', 'shrpe'], /unknown metric "shrpe"/],
    ['zero paths', ['report', 'RUN', '--montecarlo', '--paths', '0'], /--paths/],
    ['a missing database', ['report', 'RUN', '--db', join(dir, 'none.duckdb')], /no database at/],
  ];
  it.each(bad)('%s exits 2 and writes nothing', async (_what, args, msg) => {
    const target = join(dir, `bad-${Math.random().toString(36).slice(2)}`);
    const resolved = args.map((a) => (a === 'RUN' ? ids.run : a === 'SWEEP' ? ids.sweep : a));
    const r = await csInProcess([...resolved, ...(resolved.includes('--db') ? [] : ['--db', db]), '--out-dir', target]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
    expect(existsSync(target)).toBe(false);
  });

  it('has --help', async () => {
    const r = await csInProcess(['report', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--montecarlo/);
    expect(r.out).toMatch(/--json/);
  });
});
