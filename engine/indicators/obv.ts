import { z } from 'zod';
import type { IndicatorKernel, IndicatorSpec, OhlcvInput } from './types.ts';
import { nanColumn } from './window.ts';

/**
 * On-Balance Volume: a running total that adds the bar's volume when the close rises, subtracts
 * it when the close falls and keeps it when the close is unchanged.
 * Start as TA-Lib OBV: the first bar's value is its own volume (no warm-up). Only differences of
 * OBV carry meaning; technicalindicators starts at 0 on the second bar, a constant offset.
 */
const params = z.strictObject({});

class ObvKernel implements IndicatorKernel {
  readonly outputs = ['obv'] as const;
  private prevClose = NaN;
  private obv = NaN;
  private started = false;

  update(_o: number, _h: number, _l: number, close: number, volume: number): void {
    if (!this.started) {
      this.started = true;
      this.obv = volume;
    } else if (close > this.prevClose) {
      this.obv += volume;
    } else if (close < this.prevClose) {
      this.obv -= volume;
    }
    this.prevClose = close;
  }

  value(): number {
    return this.obv;
  }

  reset(): void {
    this.prevClose = NaN;
    this.obv = NaN;
    this.started = false;
  }
}

function obvBatch(input: OhlcvInput): Float64Array[] {
  const { close, volume } = input;
  const n = close.length;
  const out = nanColumn(n);
  if (n === 0) return [out];
  let obv = volume[0]!;
  out[0] = obv;
  for (let i = 1; i < n; i++) {
    const c = close[i]!;
    const prev = close[i - 1]!;
    if (c > prev) obv += volume[i]!;
    else if (c < prev) obv -= volume[i]!;
    out[i] = obv;
  }
  return [out];
}

export const obv: IndicatorSpec<typeof params> = {
  name: 'obv',
  description: 'On-Balance Volume',
  params,
  outputs: ['obv'],
  inputs: ['close', 'volume'],
  lookback: () => 0,
  create: () => new ObvKernel(),
  batch: obvBatch,
};
