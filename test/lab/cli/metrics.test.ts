import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../lab/cli/main.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'cs-metrics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function cs(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'cs.js'), 'metrics', ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The same CLI in this process: spawning costs a second or more per run on a shared machine. */
async function csIn(...args: string[]) {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((err += String(c)), true));
  try {
    const code = await main(['node', 'cs', 'metrics', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

async function json(...args: string[]): Promise<Record<string, number | null>> {
  const r = await csIn(...args, '--json');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out).metrics;
}

// Returns +10 %, −10 %, +10 %, +10 % (worked by hand in test/engine/metrics.test.ts): mean 0.05,
// sample std 0.1, downside deviation sqrt(0.1² / 4) = 0.05, total 1.1³ × 0.9 − 1 = 0.1979.
const RETURNS = 'date,return\n2024-01-01,0.1\n2024-01-02,-0.1\n2024-01-03,0.1\n2024-01-04,0.1\n';

describe('cs metrics', () => {
  it('computes every metric of a returns CSV, equity from 1.0, as JSON (spawned)', () => {
    const r = cs('--returns', file('r.csv', RETURNS), '--periods-per-year', '252', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const m = JSON.parse(r.out).metrics as Record<string, number | null>;
    expect(m.totalReturn).toBeCloseTo(0.1979, 12);
    expect(m.volatility).toBeCloseTo(0.1 * Math.sqrt(252), 12);
    expect(m.sharpe).toBeCloseTo(0.5 * Math.sqrt(252), 10);
    expect(m.sortino).toBeCloseTo(Math.sqrt(252), 10);
    expect(m.maxDrawdown).toBeCloseTo(-0.1, 12);
    expect(m.cagr).toBeCloseTo(1.1979 ** (252 / 4) - 1, 6);
    // Peak after 2024-01-01's return, recovered on 2024-01-04: 3 bars, 3 days.
    expect(m.maxDrawdownDuration).toBe(3);
    expect(m.maxDrawdownDurationMs).toBe(3 * 86_400_000);
    expect(m.periods).toBe(4);
    // Not computable from returns alone: non-finite values print as null.
    for (const k of ['winRate', 'profitFactor', 'expectancy', 'exposure', 'turnover', 'numTrades']) expect(m[k]).toBeNull();
  });

  it('skips the empty first row pandas pct_change writes, reads CRLF and epoch-ms dates', async () => {
    const text = 'ts,ret\r\n1704067200000,\r\n1704153600000,0.1\r\n1704240000000,-0.1\r\n1704326400000,0.1\r\n1704412800000,0.1\r\n';
    const m = await json('--returns', file('pct.csv', text), '--periods-per-year', '4');
    expect(m.periods).toBe(4);
    expect(m.totalReturn).toBeCloseTo(0.1979, 12);
    expect(m.sharpe).toBeCloseTo(1, 10); // 0.05 / 0.1 × sqrt(4)
    expect(m.maxDrawdownDurationMs).toBe(3 * 86_400_000);
  });

  it('reads an equity CSV with one unnamed numeric column, and --timeframe for 24/7 bars', async () => {
    const m = await json('--equity', file('e.csv', 'when,x\n2024-01-01,100\n2024-01-02,110\n2024-01-03,99\n2024-01-04,108.9\n2024-01-05,119.79\n'), '--timeframe', '1d');
    expect(m.periodsPerYear).toBe(365);
    expect(m.volatility).toBeCloseTo(0.1 * Math.sqrt(365), 10);
    expect(m.maxDrawdownDurationMs).toBeNull(); // "when" is not a date column name
  });

  it('puts a benchmark beside the series', async () => {
    const bench = file('b.csv', 'return\n0.2\n-0.25\n0.1\n0.0\n');
    const r = await csIn('--returns', file('r2.csv', RETURNS), '--periods-per-year', '4', '--benchmark', bench, '--json');
    const { metrics } = JSON.parse(r.out);
    // 1.2 × 0.75 × 1.1 × 1.0 − 1 = −0.01; worst fall 1.2 → 0.9 = −25 %.
    expect(metrics.benchmark.totalReturn).toBeCloseTo(-0.01, 12);
    expect(metrics.benchmark.maxDrawdown).toBeCloseTo(-0.25, 12);
  });

  it('prints a readable table without --json (spawned)', () => {
    const r = cs('--returns', file('r3.csv', RETURNS), '--periods-per-year', '4');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/sharpe\s+1\.000/);
    expect(r.out).toMatch(/maxDrawdown\s+-10\.00 %/);
    expect(r.out).toMatch(/winRate\s+n\/a/);
  });

  it('has --help (spawned)', () => {
    const r = cs('--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('--periods-per-year');
  });
});

describe('cs metrics on bad input: exit 2, naming the file and line', () => {
  const cases: [string, string, RegExp][] = [
    ['ragged.csv', 'date,return\n2024-01-01,0.1\n2024-01-02,0.1,7\n', /ragged\.csv line 3: .*Columns/],
    ['text.csv', 'date,return\n2024-01-01,0.1\n2024-01-02,abc\n', /text\.csv line 3, column "return": "abc" is not a number/],
    ['gap.csv', 'date,return\n2024-01-01,0.1\n2024-01-02,\n2024-01-03,0.1\n', /gap\.csv line 3, column "return": missing value/],
    ['ruin.csv', 'return\n0.1\n-1.5\n', /ruin\.csv line 3, column "return": return -1\.5/],
    ['dates.csv', 'date,return\n2024-01-02,0.1\n2024-01-01,0.1\n', /dates\.csv line 3, column "date": .*not after/],
    ['baddate.csv', 'date,return\n2024-13-45x,0.1\n', /baddate\.csv line 2, column "date"/],
    ['two.csv', 'a,b\n1,2\n', /two\.csv: several numeric columns \(a, b\)/],
    ['empty.csv', '', /empty\.csv: the file is empty/],
    ['header.csv', 'date,return\n', /header\.csv: no data rows/],
  ];
  it('exits 2 from a spawned process', () => {
    const r = cs('--returns', file('bad.csv', 'date,return\n2024-01-01,x\n'), '--periods-per-year', '365');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.csv line 2, column "return": "x" is not a number/);
  });

  for (const [name, text, message] of cases) {
    it(name, async () => {
      const r = await csIn('--returns', file(name, text), '--periods-per-year', '365');
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.out).toBe('');
    });
  }

  it('a missing file, a missing or bad annualisation, two inputs', async () => {
    const ok = file('ok.csv', RETURNS);
    expect(await csIn('--returns', join(dir, 'nope.csv'), '--periods-per-year', '1')).toMatchObject({ code: 2, err: expect.stringContaining('nope.csv: no such file') });
    expect(await csIn('--returns', ok)).toMatchObject({ code: 2, err: expect.stringContaining('--periods-per-year') });
    expect(await csIn('--returns', ok, '--periods-per-year', '-3')).toMatchObject({ code: 2, err: expect.stringContaining('--periods-per-year') });
    expect(await csIn('--returns', ok, '--timeframe', '3x')).toMatchObject({ code: 2, err: expect.stringContaining('--timeframe') });
    expect((await csIn('--returns', ok, '--equity', ok, '--periods-per-year', '1')).code).toBe(2);
    expect(await csIn('--periods-per-year', '1')).toMatchObject({ code: 2, err: expect.stringContaining('--returns') });
  });
});
