import { z } from 'zod';
import type { IndicatorKernel, IndicatorSpec, OhlcvInput } from './types.ts';
import { period } from './params.ts';
import { column } from './column.ts';

/**
 * Wilder's Relative Strength Index of the close.
 * Warm-up (as TA-Lib RSI and Wilder 1978): the first value is at index `period`; the average gain
 * and loss are seeded with the simple mean of the first `period` close-to-close changes, then
 * smoothed as avg = (avg * (period - 1) + x) / period. RSI = 100 * avgGain / (avgGain + avgLoss),
 * TA-Lib's form of 100 - 100 / (1 + RS).
 * One deliberate difference: when nothing moved over the window (avgGain + avgLoss = 0) TA-Lib
 * prints 0, which reads as "deeply oversold" and would make an RSI<30 rule buy a frozen feed; we
 * print the neutral 50.
 */
const params = z.strictObject({ period: period(14, 2) });
type Params = z.output<typeof params>;

function rsiOf(gain: number, loss: number): number {
  const total = gain + loss;
  return total === 0 ? 50 : 100 * (gain / total);
}

class RsiKernel implements IndicatorKernel {
  readonly outputs = ['rsi'] as const;
  private readonly p: number;
  private n = 0;
  private prev = NaN;
  private gain = 0;
  private loss = 0;
  private out = NaN;

  constructor(p: Params) {
    this.p = p.period;
  }

  update(_o: number, _h: number, _l: number, close: number): void {
    const p = this.p;
    const n = this.n++;
    if (n === 0) {
      this.prev = close;
      return;
    }
    const d = close - this.prev;
    this.prev = close;
    if (n <= p) {
      if (d > 0) this.gain += d;
      else this.loss -= d;
      if (n === p) {
        this.gain /= p;
        this.loss /= p;
        this.out = rsiOf(this.gain, this.loss);
      }
      return;
    }
    this.gain = (this.gain * (p - 1) + (d > 0 ? d : 0)) / p;
    this.loss = (this.loss * (p - 1) + (d < 0 ? -d : 0)) / p;
    this.out = rsiOf(this.gain, this.loss);
  }

  value(): number {
    return this.out;
  }

  reset(): void {
    this.n = 0;
    this.prev = NaN;
    this.gain = 0;
    this.loss = 0;
    this.out = NaN;
  }
}

export function rsiColumn(src: ArrayLike<number>, p: number): Float64Array {
  const n = src.length;
  // Only the warm-up needs NaN; the loop writes every later slot.
  const out = column(n).fill(NaN, 0, Math.min(p, n));
  if (n === 0) return out;
  let gain = 0;
  let loss = 0;
  let prev = src[0]!;
  const seedEnd = Math.min(p, n - 1);
  for (let i = 1; i <= seedEnd; i++) {
    const x = src[i]!;
    const d = x - prev;
    prev = x;
    if (d > 0) gain += d;
    else loss -= d;
  }
  if (n <= p) return out;
  gain /= p;
  loss /= p;
  out[p] = rsiOf(gain, loss);
  for (let i = p + 1; i < n; i++) {
    const x = src[i]!;
    const d = x - prev;
    prev = x;
    gain = (gain * (p - 1) + (d > 0 ? d : 0)) / p;
    loss = (loss * (p - 1) + (d < 0 ? -d : 0)) / p;
    out[i] = rsiOf(gain, loss);
  }
  return out;
}

export const rsi: IndicatorSpec<typeof params> = {
  name: 'rsi',
  description: "Wilder's Relative Strength Index of the close (0..100)",
  params,
  outputs: ['rsi'],
  inputs: ['close'],
  lookback: (p) => p.period,
  create: (p) => new RsiKernel(p),
  batch: (input: OhlcvInput, p) => [rsiColumn(input.close, p.period)],
};
