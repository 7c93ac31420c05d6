import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { bucketStart, resampleBars } from '../../datasets/resample.ts';
import { openStore, type Store } from '../../datasets/store.ts';
import { importFile } from '../../datasets/import.ts';
import { InputError } from '../../engine/errors.ts';
import { bars, shared, tempDir } from './support.ts';

const M = 60_000;
const H = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);

describe('resampleBars: hand-worked', () => {
  it('1m → 5m: open first, high max, low min, close last, volume sum; empty buckets absent; partial last dropped', () => {
    const src = bars([
      [T0 + 0 * M, 10, 12, 9, 11, 1],
      [T0 + 1 * M, 11, 15, 10, 14, 2],
      [T0 + 4 * M, 14, 14, 8, 9, 3],
      // 00:05–00:09 has no bar at all
      [T0 + 10 * M, 20, 21, 19, 20, 4],
      [T0 + 14 * M, 20, 22, 18, 21, 5],
      [T0 + 15 * M, 21, 21, 21, 21, 6], // 00:15 bucket ends at 00:16 of data: unfinished
    ]);
    const out = resampleBars(src, 5 * M);
    expect(Array.from(out.ts)).toEqual([T0, T0 + 10 * M]);
    expect(Array.from(out.open)).toEqual([10, 20]);
    expect(Array.from(out.high)).toEqual([15, 22]);
    expect(Array.from(out.low)).toEqual([8, 18]);
    expect(Array.from(out.close)).toEqual([9, 21]);
    expect(Array.from(out.volume)).toEqual([6, 9]);
    expect(out.timeframeMs).toBe(5 * M);
    const withPartial = resampleBars(src, 5 * M, { includePartial: true });
    expect(Array.from(withPartial.ts)).toEqual([T0, T0 + 10 * M, T0 + 15 * M]);
    expect(withPartial.close[2]).toBe(21);
  });

  it('a bucket is complete when its last source bar ends at the bucket end', () => {
    const src = bars(Array.from({ length: 60 }, (_, i) => [T0 + i * M, 1, 1, 1, 1, 1] as const));
    expect(resampleBars(src, H).length).toBe(1);
    expect(resampleBars(bars(Array.from({ length: 59 }, (_, i) => [T0 + i * M, 1, 1, 1, 1, 1] as const)), H).length).toBe(0);
  });

  it('weekly candles open on Monday 00:00 UTC, like Binance\'s', () => {
    const W = 7 * 24 * H;
    const monday = Date.UTC(2024, 0, 1); // 2024-01-01 was a Monday
    expect(bucketStart(monday + 3 * 24 * H, W)).toBe(monday);
    expect(new Date(bucketStart(Date.UTC(2024, 5, 15, 13), W)).getUTCDay()).toBe(1);
    expect(bucketStart(Date.UTC(2024, 0, 1, 13, 37), 24 * H)).toBe(Date.UTC(2024, 0, 1));
  });

  it('rejects a target that is not a multiple of the source, and unsorted input', () => {
    const src = bars([[T0, 1, 1, 1, 1, 1], [T0 + 5 * M, 1, 1, 1, 1, 1]], 5 * M);
    expect(() => resampleBars(src, 7 * M)).toThrow(InputError);
    expect(() => resampleBars(src, M)).toThrow(/whole multiple/);
    expect(() => resampleBars(bars([[T0 + M, 1, 1, 1, 1, 1], [T0, 1, 1, 1, 1, 1]]), 5 * M)).toThrow(/not strictly increasing at row 1/);
  });
});

describe('resampleBars on real data', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Store;
  beforeAll(async () => {
    tmp = tempDir('resample');
    store = await openStore(join(tmp.dir, 'r.duckdb'));
  });
  afterAll(async () => {
    await store.close();
    tmp.cleanup();
  });

  it('Coinbase 2017-12-17 minute bars (LEAN) → 1h: the day\'s high is 19891.99 at 12:00, as Coinbase\'s own hourly file says', async () => {
    const key = { exchange: 'coinbase', symbol: 'BTC/USD', timeframe: '1m' };
    await importFile(store, shared('coinbase-minute/coinbase_minute_btcusd_20171217_trade__20171217_btcusd_minute_trade.csv'), key);
    const { columns } = await store.loadBars(key);
    const hourly = resampleBars(columns, H);
    expect(hourly.length).toBe(24);
    expect(hourly.ts[0]).toBe(Date.UTC(2017, 11, 17));
    const dayHigh = Math.max(...hourly.high);
    expect(dayHigh).toBe(19891.99);
    expect(hourly.ts[hourly.high.indexOf(dayHigh)]).toBe(Date.UTC(2017, 11, 17, 12));
    // Coinbase's hourly file, read as text: "2017-12-17 12-PM,BTCUSD,19847.11,19891.99,...".
    const line = readFileSync(shared('coinbase/Coinbase_BTCUSD_1h.csv'), 'utf8').split(/\r?\n/).find((l) => l.startsWith('2017-12-17 12-PM,'))!;
    expect(Number(line.split(',')[3])).toBe(dayHigh);
    // And → 1d in one step equals → 1h then → 1d.
    const daily = resampleBars(columns, 24 * H);
    const viaHours = resampleBars(hourly, 24 * H);
    expect([daily.open[0], daily.high[0], daily.low[0], daily.close[0]]).toEqual([viaHours.open[0], viaHours.high[0], viaHours.low[0], viaHours.close[0]]);
    expect(daily.open[0]).toBe(19650.02);
  });
});

describe('resampleBars: property', () => {
  const barArb = fc.record({
    o: fc.integer({ min: 1, max: 1000 }),
    up: fc.integer({ min: 0, max: 50 }),
    down: fc.integer({ min: 0, max: 50 }),
    c: fc.integer({ min: 1, max: 1000 }),
    v: fc.integer({ min: 0, max: 10_000 }),
  });
  const series = (steps: [number, { o: number; up: number; down: number; c: number; v: number }][], startMin: number) => {
    let t = T0 + startMin * M;
    return bars(steps.map(([step, b]) => {
      t += step * M;
      return [t, b.o, Math.max(b.o, b.c) + b.up, Math.min(b.o, b.c) - b.down, b.c, b.v] as const;
    }));
  };
  const check = (src: ReturnType<typeof bars>, k: number, m: number, includePartial: boolean) => {
    const twoStep = resampleBars(resampleBars(src, k * M, { includePartial }), k * m * M, { includePartial });
    const direct = resampleBars(src, k * m * M, { includePartial });
    for (const f of ['ts', 'open', 'high', 'low', 'close', 'volume'] as const) expect(Array.from(twoStep[f])).toEqual(Array.from(direct[f]));
  };

  it('by k then by m equals by k·m, with gaps anywhere, keeping every bucket (integer volumes: exact sums)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 5 }), barArb), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        (steps, startMin, k, m) => check(series(steps, startMin), k, m, true),
      ),
      { numRuns: 300, seed: 42 },
    );
  });

  it('by k then by m equals by k·m on contiguous bars when unfinished last candles are dropped', () => {
    // (With a gap at the very end, step one drops the unfinished k-candle and with it the fact that
    // data went on: no rule that looks only at bars can then agree. Exchanges never face it — they
    // know the clock — and live gaps are what `cs data validate` reports.)
    fc.assert(
      fc.property(
        fc.array(barArb, { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        (bs, startMin, k, m) => check(series(bs.map((b) => [1, b]), startMin), k, m, false),
      ),
      { numRuns: 300, seed: 43 },
    );
  });
});
