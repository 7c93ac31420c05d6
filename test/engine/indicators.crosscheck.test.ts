import { describe, expect, it } from 'vitest';
import * as ti from 'technicalindicators';
import { computeIndicator } from '../../engine/indicators/index.ts';
import { DAY_MS } from '../../engine/timeframe.ts';
import { loadBtc1h } from './indicators.support.ts';

/**
 * Cross-check against the `technicalindicators` npm package (an independent implementation) on
 * 34,349 real Binance BTCUSDT 1h bars. Its known differences are accounted for explicitly:
 * it drops the warm-up instead of padding it (so its series starts later: `offset`), rounds RSI
 * to 2 decimals (compared through its unrounded average gain/loss instead), seeds MACD's fast
 * EMA at bar 0 rather than TA-Lib's bar slow-fast (compared after that seed has decayed), starts
 * OBV at 0 one bar later (a constant offset), and never resets VWAP (compared per UTC day).
 */
const bars = loadBtc1h();
const close = Array.from(bars.close);
const high = Array.from(bars.high);
const low = Array.from(bars.low);
const volume = Array.from(bars.volume);
const n = close.length;

/**
 * ours[offset + j] vs theirs[j] for every j with offset + j >= from; |a - b| <= rel * scale,
 * with scale = max(|b|, floor) so quantities near zero (MACD, %K) get an absolute floor.
 */
function compareAligned(
  label: string, ours: Float64Array, theirs: readonly number[], offset: number, rel: number, floor = 0, from = 0, warmup = true,
): number {
  expect(theirs.length, `${label}: lengths`).toBe(ours.length - offset);
  let checked = 0;
  let worst = 0;
  for (let j = 0; j < theirs.length; j++) {
    const i = offset + j;
    if (i < from) continue;
    const a = ours[i]!;
    const b = theirs[j]!;
    const err = Math.abs(a - b) / Math.max(Math.abs(b), floor);
    if (!(err <= rel)) expect.fail(`${label} at bar ${i}: ours ${a}, technicalindicators ${b} (relative error ${err})`);
    if (err > worst) worst = err;
    checked++;
  }
  expect(checked, `${label}: compared nothing`).toBeGreaterThan(30_000);
  // Our warm-up is NaN exactly where theirs has no value.
  if (warmup) for (let i = 0; i < offset; i++) expect(ours[i], `${label} warm-up bar ${i}`).toBeNaN();
  return worst;
}

const input = bars;

describe('cross-check against technicalindicators on BTCUSDT 1h', () => {
  it('has the whole series', () => {
    expect(n).toBe(34_349);
    // Provenance check from ../shared/datasets/README.md: 2024-01-01 00:00 UTC opened at 42283.58.
    const i = bars.ts.indexOf(Date.UTC(2024, 0, 1));
    expect(bars.open[i]).toBe(42283.58);
  });

  it('SMA(50)', () => {
    const ours = computeIndicator('sma', input, { period: 50 }).outputs.sma!;
    compareAligned('sma', ours, ti.SMA.calculate({ period: 50, values: close }), 49, 1e-9);
  });

  it('EMA(20), SMA-seeded in both', () => {
    const ours = computeIndicator('ema', input, { period: 20 }).outputs.ema!;
    compareAligned('ema', ours, ti.EMA.calculate({ period: 20, values: close }), 19, 1e-9);
  });

  it('RSI(14): through its unrounded average gain and loss, and its rounded RSI within 0.005', () => {
    const ours = computeIndicator('rsi', input, { period: 14 }).outputs.rsi!;
    const gain = ti.AverageGain.calculate({ period: 14, values: close });
    const loss = ti.AverageLoss.calculate({ period: 14, values: close });
    const theirs = gain.map((g, j) => 100 * (g / (g + loss[j]!)));
    compareAligned('rsi', ours, theirs, 14, 1e-9);
    const rounded = ti.RSI.calculate({ period: 14, values: close });
    rounded.forEach((r, j) => {
      if (!(Math.abs(ours[14 + j]! - r) <= 0.005 + 1e-9)) expect.fail(`rsi at bar ${14 + j}: ${ours[14 + j]} vs rounded ${r}`);
    });
  });

  it('MACD(12, 26, 9) after the fast-EMA seeds have decayed', () => {
    const out = computeIndicator('macd', input, {}).outputs;
    const theirs = ti.MACD.calculate({
      values: close, fastPeriod: 12, slowPeriod: 26, signalPeriod: 9, SimpleMAOscillator: false, SimpleMASignal: false,
    });
    // (11/13)^400 < 1e-29: seeding no longer shows. MACD is near 0, so errors are scaled by 1e-3
    // of the price level (~20..100 USD) as a floor.
    const floor = 20;
    compareAligned('macd', out.macd!, theirs.map((r) => r.MACD!), 25, 1e-9, floor, 400);
    compareAligned('signal', out.signal!, theirs.map((r) => r.signal ?? NaN), 25, 1e-9, floor, 400);
    compareAligned('histogram', out.histogram!, theirs.map((r) => r.histogram ?? NaN), 25, 1e-9, floor, 400);
    // Both are defined from the same bars: macd at 25, signal at 33.
    expect(out.macd![24]).toBeNaN();
    expect(out.macd![25]).not.toBeNaN();
    expect(out.signal![32]).toBeNaN();
    expect(theirs[32 - 25]!.signal).toBeUndefined();
    expect(out.signal![33]).not.toBeNaN();
    expect(theirs[33 - 25]!.signal).toBeDefined();
  });

  it('Bollinger Bands(20, 2)', () => {
    const out = computeIndicator('bbands', input, { period: 20, stddev: 2 }).outputs;
    const theirs = ti.BollingerBands.calculate({ period: 20, stdDev: 2, values: close });
    compareAligned('upper', out.upper!, theirs.map((r) => r.upper), 19, 1e-9);
    compareAligned('middle', out.middle!, theirs.map((r) => r.middle), 19, 1e-9);
    compareAligned('lower', out.lower!, theirs.map((r) => r.lower), 19, 1e-9);
    // The band half-width itself (a small difference of large numbers) to 1e-7 relative.
    theirs.forEach((r, j) => {
      const i = 19 + j;
      const w = out.upper![i]! - out.middle![i]!;
      const v = r.upper - r.middle;
      if (!(Math.abs(w - v) <= 1e-7 * Math.max(v, 1))) expect.fail(`band width at bar ${i}: ${w} vs ${v}`);
    });
  });

  it('ATR(14): both seed with the mean TR of bars 1..14', () => {
    const ours = computeIndicator('atr', input, { period: 14 }).outputs.atr!;
    compareAligned('atr', ours, ti.ATR.calculate({ period: 14, high, low, close }), 14, 1e-9);
  });

  it('Stochastic(14, 1, 3): fast %K and its 3-bar SMA', () => {
    const out = computeIndicator('stoch', input, { kPeriod: 14, kSmoothing: 1, dPeriod: 3 }).outputs;
    const theirs = ti.Stochastic.calculate({ period: 14, signalPeriod: 3, high, low, close });
    compareAligned('k', out.k!, theirs.map((r) => r.k), 13, 1e-9, 1);
    compareAligned('d', out.d!, theirs.map((r) => r.d ?? NaN), 13, 1e-9, 1, 15);
  });

  it('OBV: equal up to the starting constant (ours, like TA-Lib, is defined from bar 0)', () => {
    const ours = computeIndicator('obv', input).outputs.obv!;
    const theirs = ti.OBV.calculate({ close, volume });
    const shifted = theirs.map((v) => v + volume[0]!);
    const scale = volume.reduce((a, b) => a + b, 0);
    compareAligned('obv', ours, shifted, 1, 1e-12, scale, 0, false);
    expect(ours[0]).toBe(volume[0]);
  });

  it('VWAP: cumulative with sessionMs=0, and per UTC day by default', () => {
    const cumulative = computeIndicator('vwap', input, { sessionMs: 0 }).outputs.vwap!;
    compareAligned('vwap cumulative', cumulative, ti.VWAP.calculate({ high, low, close, volume }), 0, 1e-9);

    const daily = computeIndicator('vwap', input).outputs.vwap!;
    const perDay: number[] = [];
    let start = 0;
    for (let i = 1; i <= n; i++) {
      if (i === n || Math.floor(bars.ts[i]! / DAY_MS) !== Math.floor(bars.ts[start]! / DAY_MS)) {
        perDay.push(...ti.VWAP.calculate({
          high: high.slice(start, i), low: low.slice(start, i), close: close.slice(start, i), volume: volume.slice(start, i),
        }));
        start = i;
      }
    }
    compareAligned('vwap daily', daily, perDay, 0, 1e-9);
    // And it really resets: the first bar of each day is that bar's own typical price.
    const i = bars.ts.indexOf(Date.UTC(2024, 0, 1));
    expect(daily[i]).toBeCloseTo((bars.high[i]! + bars.low[i]! + bars.close[i]!) / 3, 9);
  });
});
