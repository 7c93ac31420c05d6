import { z } from 'zod';
import type { IndicatorKernel, IndicatorSpec, OhlcvInput } from './types.ts';
import { period } from './params.ts';
import { SeededEma } from './window.ts';
import { column } from './column.ts';

/**
 * Exponential moving average of the close, k = 2 / (period + 1).
 * Warm-up (as TA-Lib EMA in its default compatibility mode, and StockCharts): seeded with the SMA
 * of the first `period` closes, so the first value is at index period-1.
 */
const params = z.strictObject({ period: period(20) });
type Params = z.output<typeof params>;

class EmaKernel implements IndicatorKernel {
  readonly outputs = ['ema'] as const;
  private readonly ema: SeededEma;

  constructor(p: Params) {
    this.ema = new SeededEma(p.period);
  }

  update(_o: number, _h: number, _l: number, close: number): void {
    this.ema.push(close);
  }

  value(): number {
    return this.ema.value;
  }

  reset(): void {
    this.ema.reset();
  }
}

export function emaColumn(src: ArrayLike<number>, p: number): Float64Array {
  const n = src.length;
  const out = column(n); // every slot is written below, NaN during warm-up
  const ema = new SeededEma(p);
  for (let i = 0; i < n; i++) out[i] = ema.push(src[i]!);
  return out;
}

export const ema: IndicatorSpec<typeof params> = {
  name: 'ema',
  description: 'Exponential moving average of the close, seeded with an SMA',
  params,
  outputs: ['ema'],
  inputs: ['close'],
  lookback: (p) => p.period - 1,
  create: (p) => new EmaKernel(p),
  batch: (input: OhlcvInput, p) => [emaColumn(input.close, p.period)],
};
