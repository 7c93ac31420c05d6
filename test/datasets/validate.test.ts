import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { validateBars, MAD_TO_SIGMA } from '../../datasets/validate.ts';
import { openStore, type Store } from '../../datasets/store.ts';
import { importFile } from '../../datasets/import.ts';
import type { BarColumns } from '../../engine/types.ts';
import { bars, shared, tempDir } from './support.ts';

const M = 60_000;
const T0 = Date.UTC(2024, 0, 1);

/** 50 clean 1m bars with small alternating moves (no outliers, OHLC consistent). */
function clean(): BarColumns {
  return bars(Array.from({ length: 50 }, (_, i) => {
    const o = 100 + (i % 2 ? 0.1 : 0) + (i % 3) * 0.05;
    const c = 100 + ((i + 1) % 2 ? 0.1 : 0) + ((i + 1) % 3) * 0.05;
    return [T0 + i * M, o, Math.max(o, c) + 0.02, Math.min(o, c) - 0.02, c, 5 + (i % 4)] as const;
  }));
}

function edit(c: BarColumns, f: (m: { ts: Float64Array; open: Float64Array; high: Float64Array; low: Float64Array; close: Float64Array; volume: Float64Array }) => void): BarColumns {
  const copy = { ...c, ts: c.ts.slice(), open: c.open.slice(), high: c.high.slice(), low: c.low.slice(), close: c.close.slice(), volume: c.volume.slice() };
  f(copy);
  return copy;
}

describe('validateBars: each injected defect is found', () => {
  it('clean data passes with nothing to report', () => {
    const r = validateBars(clean());
    expect(r.ok).toBe(true);
    expect(r.errors).toBe(0);
    expect(r.warnings).toBe(0);
    expect(r.rows).toBe(50);
  });

  it('duplicate timestamp → error at the second row', () => {
    const r = validateBars(edit(clean(), (c) => (c.ts[10] = c.ts[9]!)));
    expect(r.ok).toBe(false);
    expect(r.checks.duplicateTimestamps.count).toBe(1);
    expect(r.checks.duplicateTimestamps.examples[0]!.index).toBe(10);
  });

  it('a duplicate that is not a neighbour is found in out-of-order data', () => {
    const r = validateBars(edit(clean(), (c) => {
      c.ts[20] = c.ts[5]!;
    }));
    expect(r.checks.nonMonotonicTimestamps.count).toBe(1);
    expect(r.checks.duplicateTimestamps.count).toBe(1);
    expect(r.checks.duplicateTimestamps.examples[0]!.detail).toMatch(/row 5/);
  });

  it('non-monotonic timestamps → error', () => {
    const r = validateBars(edit(clean(), (c) => {
      [c.ts[30], c.ts[31]] = [c.ts[31]!, c.ts[30]!];
    }));
    expect(r.ok).toBe(false);
    expect(r.checks.nonMonotonicTimestamps.count).toBe(1);
    expect(r.checks.nonMonotonicTimestamps.examples[0]!.index).toBe(31);
  });

  it('gaps → warning with count, missing bars and the largest', () => {
    const c = clean();
    // Drop rows 10 (1 missing) and 20..22 (3 missing).
    const keep = Array.from({ length: c.length }, (_, i) => i).filter((i) => i !== 10 && (i < 20 || i > 22));
    const g = bars(keep.map((i) => [c.ts[i]!, c.open[i]!, c.high[i]!, c.low[i]!, c.close[i]!, c.volume[i]!] as const));
    const r = validateBars(g);
    expect(r.ok).toBe(true);
    expect(r.checks.gaps.level).toBe('warning');
    expect(r.checks.gaps.count).toBe(2);
    expect(r.checks.gaps.missingBars).toBe(4);
    expect(r.checks.gaps.largestMs).toBe(4 * M);
    expect(r.checks.gaps.largestAt!.ts).toBe(T0 + 20 * M);
  });

  it.each([
    ['low above open', (c: Parameters<Parameters<typeof edit>[1]>[0]) => (c.low[7] = c.open[7]! + 0.01), /low .* > min\(open, close\)/],
    ['high below close', (c: Parameters<Parameters<typeof edit>[1]>[0]) => (c.high[7] = c.close[7]! - 0.01), /high .* < max\(open, close\)/],
    ['low above high', (c: Parameters<Parameters<typeof edit>[1]>[0]) => { c.low[7] = 200; c.high[7] = 150; }, /low 200 > high 150/],
  ])('OHLC inconsistency (%s) → error', (_n, f, detail) => {
    const r = validateBars(edit(clean(), f));
    expect(r.ok).toBe(false);
    expect(r.checks.ohlcInconsistent.count).toBe(1);
    expect(r.checks.ohlcInconsistent.examples[0]!.detail).toMatch(detail);
  });

  it('non-positive price → error', () => {
    const r = validateBars(edit(clean(), (c) => (c.low[3] = 0)));
    expect(r.ok).toBe(false);
    expect(r.checks.nonPositivePrices.count).toBe(1);
    expect(r.checks.nonPositivePrices.examples[0]!.index).toBe(3);
  });

  it('negative volume → error', () => {
    const r = validateBars(edit(clean(), (c) => (c.volume[4] = -1)));
    expect(r.ok).toBe(false);
    expect(r.checks.negativeVolume.count).toBe(1);
  });

  it('non-finite values → error', () => {
    const r = validateBars(edit(clean(), (c) => (c.close[6] = NaN)));
    expect(r.ok).toBe(false);
    expect(r.checks.nonFinite.count).toBe(1);
    expect(r.checks.nonFinite.examples[0]!.detail).toBe('close=NaN');
  });

  it('outlier return → warning, using k robust (MAD) sigmas, worked by hand', () => {
    // Closes alternate 100, 101 → log returns ±ln(1.01); one close of 130 then back.
    const closes: number[] = Array.from({ length: 41 }, (_, i) => (i % 2 ? 101 : 100));
    closes[20] = 130;
    const c = bars(closes.map((x, i) => [T0 + i * M, x, x, x, x, 1] as const));
    const r = validateBars(c, { k: 10 });
    const up = Math.log(1.01);
    // 40 returns: 19 × (+up), 19 × (−up), and ln(130/101), ln(101/130) at rows 20 and 21. So the
    // median is 0, every other deviation is up, MAD = up and sigma = 1.4826·ln(1.01) ≈ 0.01475.
    // The same numbers, recomputed from the series:
    const rets = closes.slice(1).map((x, i) => Math.log(x / closes[i]!));
    const sorted = [...rets].sort((a, b) => a - b);
    const median = (sorted[19]! + sorted[20]!) / 2;
    const devs = rets.map((x) => Math.abs(x - median)).sort((a, b) => a - b);
    const sigma = MAD_TO_SIGMA * ((devs[19]! + devs[20]!) / 2);
    expect(r.checks.outlierReturns.median).toBeCloseTo(median, 15);
    expect(r.checks.outlierReturns.sigma).toBeCloseTo(sigma, 15);
    expect(sigma).toBeCloseTo(MAD_TO_SIGMA * up, 12);
    // |ln(130/101)| ≈ 0.2524 ≈ 17 sigmas: both jumps (there and back) are flagged at k = 10, not at k = 20.
    expect(r.checks.outlierReturns.count).toBe(2);
    expect(r.checks.outlierReturns.examples.map((e) => e.index)).toEqual([20, 21]);
    expect(r.ok).toBe(true);
    expect(validateBars(c, { k: 20 }).checks.outlierReturns.count).toBe(0);
  });
});

describe('validateBars on real data', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Store;
  beforeAll(async () => {
    tmp = tempDir('validate');
    store = await openStore(join(tmp.dir, 'v.duckdb'));
  });
  afterAll(async () => {
    await store.close();
    tmp.cleanup();
  });

  it('Binance BTCUSDT 1h: the 2023-03-24 13:00 trading halt is the one gap; no errors', async () => {
    const key = { exchange: 'binance', symbol: 'BTC/USDT', timeframe: '1h' };
    await importFile(store, shared('binance-spot/BTCUSDT_1h.csv'), key);
    const { columns } = await store.loadBars(key);
    const r = validateBars(columns);
    expect(r.ok).toBe(true);
    expect(r.checks.gaps.count).toBe(1);
    expect(r.checks.gaps.missingBars).toBe(1);
    expect(r.checks.gaps.largestMs).toBe(2 * 3_600_000);
    expect(r.checks.gaps.examples[0]!.time).toBe('2023-03-24T13:00:00.000Z');
  });
});
