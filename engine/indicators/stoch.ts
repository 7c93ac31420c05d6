import { z } from 'zod';
import type { IndicatorKernel, IndicatorSpec, OhlcvInput } from './types.ts';
import { period } from './params.ts';
import { RollingMax, RollingSum, nanColumn } from './window.ts';

/**
 * Stochastic oscillator. Raw %K = 100 * (close - lowest low) / (highest high - lowest low) over
 * `kPeriod` bars; k = SMA(kSmoothing) of raw %K (kSmoothing = 1 gives the "fast" stochastic);
 * d = SMA(dPeriod) of k. Defaults 14/3/3 are the usual "slow stochastic" (TA-Lib STOCH with
 * SMA for both smoothings, fastK=14, slowK=3, slowD=3).
 * Warm-up as TA-Lib: k is first defined at index kPeriod-1 + kSmoothing-1, d dPeriod-1 bars later.
 * One deliberate difference: when the window has no range (highest = lowest) TA-Lib prints 0;
 * we print the neutral 50, as for a flat RSI.
 */
const params = z.strictObject({ kPeriod: period(14), kSmoothing: period(3), dPeriod: period(3) });
type Params = z.output<typeof params>;

/** Shared state of kernel and batch so both run the very same operations. */
class StochState {
  private readonly highs: RollingMax;
  private readonly negLows: RollingMax;
  private readonly kSum: RollingSum;
  private readonly dSum: RollingSum;
  private readonly kPeriod: number;
  private n = 0;
  k = NaN;
  d = NaN;

  constructor(p: Params) {
    this.kPeriod = p.kPeriod;
    this.highs = new RollingMax(p.kPeriod);
    this.negLows = new RollingMax(p.kPeriod);
    this.kSum = new RollingSum(p.kSmoothing);
    this.dSum = new RollingSum(p.dPeriod);
  }

  push(high: number, low: number, close: number): void {
    const hh = this.highs.push(high);
    const ll = -this.negLows.push(-low);
    if (++this.n < this.kPeriod) return;
    const range = hh - ll;
    const raw = range > 0 ? (100 * (close - ll)) / range : 50;
    if (!this.kSum.push(raw)) return;
    this.k = this.kSum.sum / this.kSum.period;
    if (this.dSum.push(this.k)) this.d = this.dSum.sum / this.dSum.period;
  }

  reset(): void {
    this.highs.reset();
    this.negLows.reset();
    this.kSum.reset();
    this.dSum.reset();
    this.n = 0;
    this.k = NaN;
    this.d = NaN;
  }
}

class StochKernel implements IndicatorKernel {
  readonly outputs = ['k', 'd'] as const;
  private readonly s: StochState;

  constructor(p: Params) {
    this.s = new StochState(p);
  }

  update(_o: number, high: number, low: number, close: number): void {
    this.s.push(high, low, close);
  }

  value(i = 0): number {
    return i === 0 ? this.s.k : i === 1 ? this.s.d : NaN;
  }

  reset(): void {
    this.s.reset();
  }
}

function stochBatch(input: OhlcvInput, p: Params): Float64Array[] {
  const { high, low, close } = input;
  const n = close.length;
  const k = nanColumn(n);
  const d = nanColumn(n);
  const s = new StochState(p);
  for (let i = 0; i < n; i++) {
    s.push(high[i]!, low[i]!, close[i]!);
    k[i] = s.k;
    d[i] = s.d;
  }
  return [k, d];
}

export const stoch: IndicatorSpec<typeof params> = {
  name: 'stoch',
  description: 'Stochastic oscillator %K (smoothed) and %D',
  params,
  outputs: ['k', 'd'],
  inputs: ['high', 'low', 'close'],
  lookback: (p) => p.kPeriod - 1 + p.kSmoothing - 1,
  create: (p) => new StochKernel(p),
  batch: stochBatch,
};
