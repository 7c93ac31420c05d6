import { describe, expect, it } from 'vitest';
import { generateBars } from '../../datasets/synth.ts';
import { runLoaded, backtestRequestSchema } from '../../lab/backtest.ts';
import { loadStrategy } from '../../lab/strategy-loader.ts';

/**
 * The run's 1-day VaR/ES is computed from the equity's daily returns. For buy-and-hold with no fee
 * those are the price's day-end-to-day-end returns (after the first day), so the figures can be
 * recomputed here from the bars alone with the textbook formulas.
 */
describe('value at risk in every backtest result', () => {
  it('buy-and-hold: parametric VaR = z·σ − μ and historical VaR = the loss quantile of daily returns', async () => {
    const bars = generateBars({ symbol: 'BTC/USDT', timeframeMs: 3_600_000, from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 6, 1), seed: 3, model: { kind: 'gbm', drift: 0, vol: 0.8 } });
    const req = backtestRequestSchema.parse({ strategy: 'buy-and-hold', symbols: ['BTC/USDT'], timeframe: '1h', takerFeeBps: 0, journal: false });
    const r = runLoaded(await loadStrategy('buy-and-hold'), req, [bars], []);
    // Day-end closes (the bar closing at 00:00 belongs to the day it ends: its close time is the next day's first ms).
    const dayClose = new Map<number, number>();
    for (let i = 0; i < bars.length; i++) dayClose.set(Math.floor((bars.ts[i]! + 3_600_000) / 86_400_000), bars.close[i]!);
    const closes = [...dayClose.values()];
    // The first day's return includes the entry at the first close; start from the second day end.
    const rets: number[] = [];
    for (let i = 2; i < closes.length; i++) rets.push(closes[i]! / closes[i - 1]! - 1);
    const got = r.valueAtRisk!;
    expect(got).not.toBeNull();
    // The engine's daily series also has the first day (entry at the first close); take it from
    // the curve, and check that every later day is exactly the price's return.
    const eq = r.run.curve.equity, ts = r.run.curve.ts;
    const byDay = new Map<number, number>();
    for (let i = 0; i < ts.length; i++) byDay.set(Math.floor(ts[i]! / 86_400_000), eq[i]!);
    const e = [...byDay.values()];
    const er: number[] = [];
    for (let i = 1; i < e.length; i++) er.push(e[i]! / e[i - 1]! - 1);
    // From the second day on, equity returns are exactly the price returns (all in, no fee).
    for (let i = 0; i < rets.length; i++) expect(er[i + 1]!).toBeCloseTo(rets[i]!, 12);
    const n = er.length;
    const mean = er.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(er.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    expect(got.parametric.var95).toBeCloseTo(1.6448536269514722 * sd - mean, 12);
    expect(got.parametric.var99).toBeCloseTo(2.3263478740408408 * sd - mean, 12);
    // Historical VaR95 is a loss between the 5th-percentile neighbours of the sorted returns.
    const sorted = [...er].sort((a, b) => a - b);
    const k = Math.floor(0.05 * n);
    expect(got.historical.var95).toBeGreaterThanOrEqual(-sorted[k + 1]! - 1e-12);
    expect(got.historical.var95).toBeLessThanOrEqual(-sorted[Math.max(0, k - 1)]! + 1e-12);
    expect(got.historical.es95).toBeGreaterThanOrEqual(got.historical.var95);
    // Monte Carlo converges to the parametric figure (10,000 paths: within a few percent).
    expect(Math.abs(got.monteCarlo.var95 / got.parametric.var95 - 1)).toBeLessThan(0.05);
  });
});
