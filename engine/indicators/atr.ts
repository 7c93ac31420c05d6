import { z } from 'zod';
import type { IndicatorKernel, IndicatorSpec, OhlcvInput } from './types.ts';
import { period } from './params.ts';
import { WilderAverage, nanColumn } from './window.ts';

/**
 * Wilder's Average True Range. TR = max(high - low, |high - prev close|, |low - prev close|).
 * Warm-up as TA-Lib ATR: the first bar has no previous close, so it yields no TR; the first ATR
 * is at index `period`, the simple mean of TR over bars 1..period, then
 * atr = (atr * (period - 1) + TR) / period.
 * StockCharts instead counts high - low of bar 0 as the first TR and prints its first ATR one
 * bar earlier; after that both use the same recursion, and the seeds' difference fades by
 * (1 - 1/period) per bar.
 */
const params = z.strictObject({ period: period(14) });
type Params = z.output<typeof params>;

export function trueRange(high: number, low: number, prevClose: number): number {
  let tr = high - low;
  const up = Math.abs(high - prevClose);
  if (up > tr) tr = up;
  const down = Math.abs(low - prevClose);
  if (down > tr) tr = down;
  return tr;
}

class AtrKernel implements IndicatorKernel {
  readonly outputs = ['atr'] as const;
  private readonly avg: WilderAverage;
  private prevClose = NaN;
  private started = false;

  constructor(p: Params) {
    this.avg = new WilderAverage(p.period);
  }

  update(_o: number, high: number, low: number, close: number): void {
    if (this.started) this.avg.push(trueRange(high, low, this.prevClose));
    this.started = true;
    this.prevClose = close;
  }

  value(): number {
    return this.avg.value;
  }

  reset(): void {
    this.avg.reset();
    this.prevClose = NaN;
    this.started = false;
  }
}

function atrBatch(input: OhlcvInput, p: Params): Float64Array[] {
  const { high, low, close } = input;
  const n = close.length;
  const out = nanColumn(n);
  const avg = new WilderAverage(p.period);
  for (let i = 1; i < n; i++) out[i] = avg.push(trueRange(high[i]!, low[i]!, close[i - 1]!));
  return [out];
}

export const atr: IndicatorSpec<typeof params> = {
  name: 'atr',
  description: "Wilder's Average True Range",
  params,
  outputs: ['atr'],
  inputs: ['high', 'low', 'close'],
  lookback: (p) => p.period,
  create: (p) => new AtrKernel(p),
  batch: atrBatch,
};
