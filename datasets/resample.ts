import type { BarColumns } from '../engine/types.ts';
import { InputError } from '../engine/errors.ts';
import { DAY_MS, msToTimeframe } from '../engine/timeframe.ts';

/**
 * Candles of a longer timeframe from a shorter one, built the way exchanges build them:
 * bucket = floor(ts / tf) × tf in UTC (weekly buckets start on Monday 00:00 UTC, as Binance's and
 * Coinbase's do), open = first, high = max, low = min, close = last, volume = sum.
 * A bucket without any source bar does not exist (no flat filler candle). The last bucket is dropped
 * when the source ends before the bucket's end (an unfinished candle), unless `includePartial`.
 * Resampling by k then by m equals resampling by k·m always with `includePartial`, and without it
 * whenever the source has no gap at its very end (test/datasets/resample.test.ts).
 * Pure typed-array code.
 */

export interface ResampleOptions {
  /** Keep an unfinished last bucket (e.g. for a live view). */
  readonly includePartial?: boolean;
}

const WEEK_MS = 7 * DAY_MS;
/** 1970-01-05, the first Monday after the epoch (a Thursday). */
const MONDAY_ANCHOR = 4 * DAY_MS;

export function bucketStart(ts: number, tfMs: number): number {
  const anchor = tfMs % WEEK_MS === 0 ? MONDAY_ANCHOR : 0;
  return Math.floor((ts - anchor) / tfMs) * tfMs + anchor;
}

export function resampleBars(cols: BarColumns, targetTimeframeMs: number, opts: ResampleOptions = {}): BarColumns {
  const src = cols.timeframeMs;
  const tf = targetTimeframeMs;
  if (!Number.isInteger(tf) || tf <= 0) throw new InputError(`target timeframe must be a positive whole number of ms, got ${tf}`);
  if (tf < src || tf % src !== 0) {
    throw new InputError(`cannot resample ${msToTimeframe(src)} bars to ${describeTf(tf)}: the target must be a whole multiple of the source timeframe`);
  }
  const n = cols.length;
  const { ts, open, high, low, close, volume } = cols;
  for (let i = 1; i < n; i++) {
    if (!(ts[i]! > ts[i - 1]!)) {
      throw new InputError(`cannot resample: timestamps not strictly increasing at row ${i} (${ts[i - 1]} then ${ts[i]}); run \`cs data validate\``);
    }
  }
  // Upper bound on output size: one bucket per source bar.
  const oTs = new Float64Array(n), oO = new Float64Array(n), oH = new Float64Array(n), oL = new Float64Array(n), oC = new Float64Array(n), oV = new Float64Array(n);
  let m = -1;
  let cur = NaN;
  for (let i = 0; i < n; i++) {
    const b = bucketStart(ts[i]!, tf);
    if (b !== cur) {
      cur = b;
      m++;
      oTs[m] = b;
      oO[m] = open[i]!;
      oH[m] = high[i]!;
      oL[m] = low[i]!;
      oC[m] = close[i]!;
      oV[m] = volume[i]!;
    } else {
      if (high[i]! > oH[m]!) oH[m] = high[i]!;
      if (low[i]! < oL[m]!) oL[m] = low[i]!;
      oC[m] = close[i]!;
      oV[m] = oV[m]! + volume[i]!;
    }
  }
  let len = m + 1;
  if (len > 0 && !opts.includePartial && ts[n - 1]! + src < oTs[len - 1]! + tf) len--;
  return {
    symbol: cols.symbol,
    timeframeMs: tf,
    length: len,
    ts: oTs.slice(0, len),
    open: oO.slice(0, len),
    high: oH.slice(0, len),
    low: oL.slice(0, len),
    close: oC.slice(0, len),
    volume: oV.slice(0, len),
  };
}

function describeTf(ms: number): string {
  try {
    return msToTimeframe(ms);
  } catch {
    return `${ms} ms`;
  }
}
