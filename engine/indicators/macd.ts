import { z } from 'zod';
import type { IndicatorKernel, IndicatorSpec, OhlcvInput } from './types.ts';
import { period } from './params.ts';
import { SeededEma, nanColumn } from './window.ts';

/**
 * MACD of the close: macd = EMA(fast) - EMA(slow), signal = EMA(signal) of the macd line,
 * histogram = macd - signal. Every EMA is SMA-seeded (see SeededEma).
 * Warm-up, as TA-Lib MACD: the fast EMA starts at bar slow-fast, so that both EMAs are first
 * defined together at bar slow-1 (the fast one seeded with the mean of closes slow-fast..slow-1,
 * not of closes 0..fast-1 as a stand-alone EMA would be). The macd line starts at slow-1; signal
 * and histogram at slow+signal-2 (bar 33 for 12/26/9), the signal seeded with the mean of the
 * first `signal` macd values. TA-Lib also blanks the macd line until bar 33; we print it from
 * bar slow-1 because it is already fully defined there. The fast-EMA seeding is forgotten
 * geometrically ((1 - 2/(fast+1)) per bar), so libraries that seed it at bar 0
 * (technicalindicators, StockCharts) agree to 1e-9 after a few hundred bars.
 */
const params = z
  .strictObject({ fast: period(12, 2), slow: period(26, 2), signal: period(9, 1) })
  .refine((p) => p.fast < p.slow, { message: 'fast must be smaller than slow', path: ['fast'] });
type Params = z.output<typeof params>;

class MacdKernel implements IndicatorKernel {
  readonly outputs = ['macd', 'signal', 'histogram'] as const;
  private readonly skip: number;
  private readonly fast: SeededEma;
  private readonly slow: SeededEma;
  private readonly signal: SeededEma;
  private n = 0;
  private macd = NaN;
  private hist = NaN;

  constructor(p: Params) {
    this.skip = p.slow - p.fast;
    this.fast = new SeededEma(p.fast);
    this.slow = new SeededEma(p.slow);
    this.signal = new SeededEma(p.signal);
  }

  update(_o: number, _h: number, _l: number, close: number): void {
    const s = this.slow.push(close);
    if (this.n++ < this.skip) return;
    const f = this.fast.push(close);
    if (s !== s) return; // NaN: the slow EMA is still warming up
    this.macd = f - s;
    this.hist = this.macd - this.signal.push(this.macd);
  }

  value(i = 0): number {
    return i === 0 ? this.macd : i === 1 ? this.signal.value : i === 2 ? this.hist : NaN;
  }

  reset(): void {
    this.fast.reset();
    this.slow.reset();
    this.signal.reset();
    this.n = 0;
    this.macd = NaN;
    this.hist = NaN;
  }
}

function macdBatch(input: OhlcvInput, p: Params): Float64Array[] {
  const src = input.close;
  const n = src.length;
  const macd = nanColumn(n);
  const signal = nanColumn(n);
  const hist = nanColumn(n);
  const fast = new SeededEma(p.fast);
  const slow = new SeededEma(p.slow);
  const sig = new SeededEma(p.signal);
  const skip = p.slow - p.fast;
  for (let i = 0; i < n; i++) {
    const x = src[i]!;
    const s = slow.push(x);
    if (i < skip) continue;
    const f = fast.push(x);
    if (s !== s) continue;
    const m = f - s;
    const g = sig.push(m);
    macd[i] = m;
    signal[i] = g;
    hist[i] = m - g;
  }
  return [macd, signal, hist];
}

export const macd: IndicatorSpec<typeof params> = {
  name: 'macd',
  description: 'Moving Average Convergence/Divergence of the close (TA-Lib seeding)',
  params,
  outputs: ['macd', 'signal', 'histogram'],
  inputs: ['close'],
  lookback: (p) => p.slow - 1,
  create: (p) => new MacdKernel(p),
  batch: macdBatch,
};
