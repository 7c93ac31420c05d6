import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeIndicator } from '../../../engine/indicators/index.ts';
import { BTC_1H, loadBtc1h } from '../../engine/indicators.support.ts';
import { readBarsCsv } from '../../../lab/cli/commands/indicator.ts';
import { InputError } from '../../../engine/errors.ts';
import type { OhlcvField } from '../../../engine/indicators/index.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cs(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile('node', ['bin/cs.js', ...args], { cwd: ROOT, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

let dir: string;
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cs-indicator-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cs indicator', () => {
  it('--json prints the series with null during warm-up (hand-worked RSI, period 2)', async () => {
    // closes 10, 11, 10.5, 12 -> seed gain 0.5, loss 0.25 -> 200/3; then gain 1, loss 0.125 -> 100/1.125.
    const csv = file('rsi.csv', 'timestamp,close\n2024-01-01,10\n2024-01-02,11\n2024-01-03,10.5\n2024-01-04,12\n');
    const r = await cs('indicator', 'rsi', '--input', csv, '--param', 'period=2', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['indicator', 'params', 'outputs']);
    expect(out.indicator).toBe('rsi');
    expect(out.params).toEqual({ period: 2 });
    expect(out.outputs.rsi.slice(0, 2)).toEqual([null, null]);
    expect(out.outputs.rsi[2]).toBeCloseTo(200 / 3, 12);
    expect(out.outputs.rsi[3]).toBeCloseTo(100 / 1.125, 12);
  });

  it('reads the real BTCUSDT 1h file exactly as an independent reader does, for every output of macd', async () => {
    const r = await cs('indicator', 'macd', '--input', BTC_1H, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.params).toEqual({ fast: 12, slow: 26, signal: 9 });
    const ref = computeIndicator('macd', loadBtc1h()).outputs;
    for (const name of ['macd', 'signal', 'histogram']) {
      const got: (number | null)[] = out.outputs[name];
      expect(got.length).toBe(34_349);
      got.forEach((v, i) => {
        const want = ref[name]![i]!;
        if (!(Number.isNaN(want) ? v === null : v === want)) expect.fail(`${name}[${i}]: cli ${v} vs ${want}`);
      });
    }
  });

  it('without --json prints a table of the last values with their UTC times', async () => {
    const r = await cs('indicator', 'vwap', '--input', BTC_1H, '--last', '3');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('vwap(sessionMs=86400000) over 34349 bars, last 3:');
    expect(lines[1]).toMatch(/^time \(UTC\)\s+close\s+vwap$/);
    expect(lines).toHaveLength(5);
    expect(lines[4]).toMatch(/^2025-12-02 05:00:00\s+87003\.84\s+\d+\.\d\d$/);
  });

  it('--list names every indicator with its parameters and defaults', async () => {
    const r = await cs('indicator', '--list', '--json');
    expect(r.code, r.stderr).toBe(0);
    const { indicators } = JSON.parse(r.stdout);
    expect(indicators.map((i: { name: string }) => i.name)).toEqual(['sma', 'ema', 'rsi', 'macd', 'bbands', 'atr', 'stoch', 'obv', 'vwap']);
    expect(indicators.find((i: { name: string }) => i.name === 'bbands').params).toEqual({ period: 20, stddev: 2 });
    const text = await cs('indicator', '--list');
    expect(text.stdout).toMatch(/rsi\s+Wilder's Relative Strength Index/);
    expect(text.stdout).toMatch(/params: fast=12, slow=26, signal=9/);
  });

  it('--help exits 0', async () => {
    const r = await cs('indicator', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--param <key=value>/);
  });

  it('bad input exits 2 with a message naming what is wrong', async () => {
    const good = file('good.csv', 'timestamp,close\n2024-01-01,1\n2024-01-02,2\n');
    const cases: [string[], RegExp][] = [
      [['indicator', 'rsx', '--input', good], /unknown indicator "rsx" \(known: sma, ema, rsi/],
      [['indicator', 'rsi', '--input', good, '--param', 'period=1'], /rsi: param period: Too small/],
      [['indicator', 'rsi', '--input', join(dir, 'absent.csv')], /absent\.csv: no such file/],
      [['indicator', 'rsi', '--input', file('nan.csv', 'timestamp,close\n2024-01-01,1\n2024-01-02,x1\n')], /nan\.csv line 3, column "close": "x1" is not a number/],
      [['indicator', 'vwap', '--input', file('nots.csv', 'high,low,close,volume\n2,1,1.5,10\n')], /nots\.csv: vwap: bar timestamps/],
    ];
    // Independent processes: run them side by side.
    const runs = await Promise.all(cases.map(([args]) => cs(...args)));
    for (const [k, [args, message]] of cases.entries()) {
      const r = runs[k]!;
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stdout, args.join(' ')).toBe('');
    }
  });
});

describe('readBarsCsv (in process)', () => {
  const bad: [string, string, readonly OhlcvField[], RegExp][] = [
    ['gap.csv', 'timestamp,close\n2024-01-01,1\n2024-01-02,\n', ['close'], /gap\.csv line 3, column "close": missing value/],
    ['ragged.csv', 'timestamp,close\n2024-01-01,1\n2024-01-02,2,3\n', ['close'], /ragged\.csv line 3/],
    ['nohigh.csv', 'timestamp,close\n2024-01-01,1\n', ['high', 'close'], /nohigh\.csv: no "high" column, which this indicator reads \(header: timestamp, close\)/],
    ['back.csv', 'timestamp,close\n2024-01-02,1\n2024-01-01,2\n', ['close'], /back\.csv line 3, column "timestamp": "2024-01-01" is not after/],
    ['badtime.csv', 'timestamp,close\n2024-01-02,1\nyesterday,2\n', ['close'], /badtime\.csv line 3, column "timestamp".*cannot read "yesterday"/],
    ['dup.csv', 'close,Close\n1,2\n', ['close'], /dup\.csv line 1: column "Close" appears twice/],
    ['empty.csv', '', ['close'], /empty\.csv: the file is empty/],
    ['header.csv', 'timestamp,close\n', ['close'], /header\.csv: no data rows/],
  ];
  for (const [name, text, needs, message] of bad) {
    it(`${name}: InputError ${message}`, async () => {
      await expect(readBarsCsv(file(name, text), needs)).rejects.toThrow(InputError);
      await expect(readBarsCsv(file(name, text), needs)).rejects.toThrow(message);
    });
  }

  it('accepts any column order and case, quoted cells, epoch-ms and ISO times', async () => {
    const csv = file('mixed.csv', 'Volume,"Close",TS,High,Low\n5,"1.5",1704067200000,2,1\n6,2.5,2024-01-01T01:00:00Z,3,2\n');
    const bars = await readBarsCsv(csv, ['high', 'low', 'close', 'volume']);
    expect(Array.from(bars.input.close)).toEqual([1.5, 2.5]);
    expect(Array.from(bars.input.volume)).toEqual([5, 6]);
    expect(Array.from(bars.ts!)).toEqual([Date.UTC(2024, 0, 1, 0), Date.UTC(2024, 0, 1, 1)]);
    expect(bars.input.open[0]).toBeNaN();
  });
});
