import type { BarColumns } from '../types.ts';
import type { BarWindow } from './types.ts';

/**
 * The closed bars [from, to) of a column set as a BarWindow: zero-copy subarray views, so the
 * window cannot reach a bar past `to` (a view has no index beyond its end).
 */
export function barWindowOf(c: BarColumns, from: number, to: number): BarWindow {
  const f = Math.max(0, from);
  const t = Math.min(c.length, to);
  return {
    symbol: c.symbol,
    timeframeMs: c.timeframeMs,
    ts: c.ts.subarray(f, t),
    open: c.open.subarray(f, t),
    high: c.high.subarray(f, t),
    low: c.low.subarray(f, t),
    close: c.close.subarray(f, t),
    volume: c.volume.subarray(f, t),
    length: Math.max(0, t - f),
  };
}
