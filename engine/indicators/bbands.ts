import { z } from 'zod';
import type { IndicatorKernel, IndicatorSpec, OhlcvInput } from './types.ts';
import { period } from './params.ts';
import { nanColumn, sumRange } from './window.ts';

/**
 * Bollinger Bands of the close: middle = SMA(period), upper/lower = middle ± stddev * σ, with σ
 * the POPULATION standard deviation of the same window (divide by period, as TA-Lib BBANDS and
 * StockCharts do). First values at index period-1.
 *
 * σ is kept in O(1) per bar without TA-Lib's sum-of-squares form (mean of x² minus mean², which
 * cancels catastrophically at BTC prices): when x replaces o in the window, the sum of squared
 * deviations M2 changes by exactly (x - o) * (x - mean' + o - mean). Each time the ring wraps,
 * the sum and M2 are recomputed exactly (two passes over the window), so drift stays bounded.
 */
const params = z.strictObject({
  period: period(20, 2),
  stddev: z.number().positive().max(100).default(2),
});
type Params = z.output<typeof params>;

/** Sum of squared deviations of a[from..to) from mean, left to right. */
function m2Range(a: ArrayLike<number>, from: number, to: number, mean: number): number {
  let s = 0;
  for (let j = from; j < to; j++) {
    const d = a[j]! - mean;
    s += d * d;
  }
  return s;
}

class BbandsKernel implements IndicatorKernel {
  readonly outputs = ['upper', 'middle', 'lower'] as const;
  private readonly p: number;
  private readonly k: number;
  private readonly buf: Float64Array;
  private pos = 0;
  private n = 0;
  private sum = 0;
  private m2 = 0;
  private up = NaN;
  private mid = NaN;
  private lo = NaN;

  constructor(p: Params) {
    this.p = p.period;
    this.k = p.stddev;
    this.buf = new Float64Array(p.period);
  }

  update(_o: number, _h: number, _l: number, close: number): void {
    const p = this.p;
    const buf = this.buf;
    if (this.n < p) {
      this.sum += close;
      this.n++;
      buf[this.pos] = close;
      if (++this.pos === p) this.pos = 0;
      if (this.n < p) return;
      this.sum = sumRange(buf, 0, p);
      this.m2 = m2Range(buf, 0, p, this.sum / p);
    } else {
      const old = buf[this.pos]!;
      const mean = this.sum / p;
      this.sum = this.sum + close - old;
      this.m2 += (close - old) * (close - this.sum / p + old - mean);
      buf[this.pos] = close;
      if (++this.pos === p) {
        this.pos = 0;
        this.sum = sumRange(buf, 0, p);
        this.m2 = m2Range(buf, 0, p, this.sum / p);
      }
    }
    const mid = this.sum / p;
    const band = this.k * Math.sqrt(this.m2 > 0 ? this.m2 / p : 0);
    this.mid = mid;
    this.up = mid + band;
    this.lo = mid - band;
  }

  value(i = 0): number {
    return i === 0 ? this.up : i === 1 ? this.mid : i === 2 ? this.lo : NaN;
  }

  reset(): void {
    this.buf.fill(0);
    this.pos = 0;
    this.n = 0;
    this.sum = 0;
    this.m2 = 0;
    this.up = this.mid = this.lo = NaN;
  }
}

function bbandsBatch(input: OhlcvInput, prm: Params): Float64Array[] {
  const src = input.close;
  const p = prm.period;
  const k = prm.stddev;
  const n = src.length;
  const upper = nanColumn(n);
  const middle = nanColumn(n);
  const lower = nanColumn(n);
  let sum = 0;
  let m2 = 0;
  let w = 0;
  for (let i = 0; i < n; i++) {
    const x = src[i]!;
    if (i < p) {
      sum += x;
      if (++w === p) w = 0;
      if (i < p - 1) continue;
      sum = sumRange(src, 0, p);
      m2 = m2Range(src, 0, p, sum / p);
    } else {
      const old = src[i - p]!;
      const mean = sum / p;
      sum = sum + x - old;
      m2 += (x - old) * (x - sum / p + old - mean);
      if (++w === p) {
        w = 0;
        sum = sumRange(src, i - p + 1, i + 1);
        m2 = m2Range(src, i - p + 1, i + 1, sum / p);
      }
    }
    const mid = sum / p;
    const band = k * Math.sqrt(m2 > 0 ? m2 / p : 0);
    middle[i] = mid;
    upper[i] = mid + band;
    lower[i] = mid - band;
  }
  return [upper, middle, lower];
}

export const bbands: IndicatorSpec<typeof params> = {
  name: 'bbands',
  description: 'Bollinger Bands of the close (population standard deviation)',
  params,
  outputs: ['upper', 'middle', 'lower'],
  inputs: ['close'],
  lookback: (p) => p.period - 1,
  create: (p) => new BbandsKernel(p),
  batch: bbandsBatch,
};
