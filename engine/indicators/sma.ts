import { z } from 'zod';
import type { IndicatorKernel, IndicatorSpec, OhlcvInput } from './types.ts';
import { period } from './params.ts';
import { RollingSum, sumRange } from './window.ts';
import { column } from './column.ts';

/**
 * Simple moving average of the close.
 * Warm-up (as TA-Lib SMA): the first value is at index period-1, the mean of closes 0..period-1.
 * The running sum is re-summed exactly every `period` bars (see RollingSum).
 */
const params = z.strictObject({ period: period(20) });
type Params = z.output<typeof params>;

class SmaKernel implements IndicatorKernel {
  readonly outputs = ['sma'] as const;
  private readonly win: RollingSum;
  private out = NaN;

  constructor(p: Params) {
    this.win = new RollingSum(p.period);
  }

  update(_o: number, _h: number, _l: number, close: number): void {
    this.out = this.win.push(close) ? this.win.sum / this.win.period : NaN;
  }

  value(): number {
    return this.out;
  }

  reset(): void {
    this.win.reset();
    this.out = NaN;
  }
}

/** The hot loop of RollingSum written out over a column (same operations, same order). */
export function smaColumn(src: ArrayLike<number>, p: number): Float64Array {
  const n = src.length;
  // Only the warm-up needs NaN; the loop writes every later slot (a full fill would be a second pass).
  const out = column(n).fill(NaN, 0, Math.min(p - 1, n));
  let sum = 0;
  let w = 0;
  for (let i = 0; i < n; i++) {
    const x = src[i]!;
    if (i < p) sum += x;
    else sum = sum + x - src[i - p]!;
    if (++w === p) {
      w = 0;
      sum = sumRange(src, i - p + 1, i + 1);
    }
    if (i >= p - 1) out[i] = sum / p;
  }
  return out;
}

export const sma: IndicatorSpec<typeof params> = {
  name: 'sma',
  description: 'Simple moving average of the close',
  params,
  outputs: ['sma'],
  inputs: ['close'],
  lookback: (p) => p.period - 1,
  create: (p) => new SmaKernel(p),
  batch: (input: OhlcvInput, p) => [smaColumn(input.close, p.period)],
};
