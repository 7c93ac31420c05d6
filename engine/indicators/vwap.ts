import { z } from 'zod';
import { InputError } from '../errors.ts';
import { DAY_MS } from '../timeframe.ts';
import type { IndicatorKernel, IndicatorSpec, OhlcvInput } from './types.ts';
import { nanColumn } from './window.ts';

/**
 * Session-anchored Volume-Weighted Average Price of the typical price (high + low + close) / 3:
 * sum(tp * volume) / sum(volume) since the session began. A session is the span of `sessionMs`
 * milliseconds counted from the epoch that holds the bar's open time, so the default (one day)
 * resets at 00:00 UTC, as crypto venues and TradingView's "Session" anchor do for 24/7 markets.
 * sessionMs = 0 never resets (a cumulative VWAP over the whole series).
 * No warm-up: defined from the first bar of a session, NaN while the session's volume is 0.
 */
const params = z.strictObject({
  sessionMs: z.number().int().min(0).default(DAY_MS),
});
type Params = z.output<typeof params>;

class VwapKernel implements IndicatorKernel {
  readonly outputs = ['vwap'] as const;
  private readonly sessionMs: number;
  private session = NaN;
  private pv = 0;
  private vol = 0;
  private out = NaN;

  constructor(p: Params) {
    this.sessionMs = p.sessionMs;
  }

  update(_o: number, high: number, low: number, close: number, volume: number, ts: number): void {
    if (this.sessionMs > 0) {
      const s = Math.floor(ts / this.sessionMs);
      if (s !== this.session) {
        this.session = s;
        this.pv = 0;
        this.vol = 0;
      }
    }
    this.pv += ((high + low + close) / 3) * volume;
    this.vol += volume;
    this.out = this.vol > 0 ? this.pv / this.vol : NaN;
  }

  value(): number {
    return this.out;
  }

  reset(): void {
    this.session = NaN;
    this.pv = 0;
    this.vol = 0;
    this.out = NaN;
  }
}

function vwapBatch(input: OhlcvInput, p: Params): Float64Array[] {
  const { high, low, close, volume, ts } = input;
  const n = close.length;
  const out = nanColumn(n);
  const sessionMs = p.sessionMs;
  if (sessionMs > 0 && (ts === undefined || ts.length !== n)) {
    throw new InputError('vwap: bar timestamps (ts) are needed to find sessions; give them or set sessionMs=0');
  }
  let session = NaN;
  let pv = 0;
  let vol = 0;
  for (let i = 0; i < n; i++) {
    if (sessionMs > 0) {
      const s = Math.floor(ts![i]! / sessionMs);
      if (s !== session) {
        session = s;
        pv = 0;
        vol = 0;
      }
    }
    const v = volume[i]!;
    pv += ((high[i]! + low[i]! + close[i]!) / 3) * v;
    vol += v;
    out[i] = vol > 0 ? pv / vol : NaN;
  }
  return [out];
}

export const vwap: IndicatorSpec<typeof params> = {
  name: 'vwap',
  description: 'Volume-weighted average price of (h+l+c)/3, reset every session (UTC day by default)',
  params,
  outputs: ['vwap'],
  inputs: ['high', 'low', 'close', 'volume', 'ts'],
  lookback: () => 0,
  create: (p) => new VwapKernel(p),
  batch: vwapBatch,
};
