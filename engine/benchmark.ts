import type { BarColumns } from './types.ts';

/**
 * Buy-and-hold benchmark on the engine's equity-curve clock: the cash split equally across the
 * symbols at each one's first open, no fees, marked at the last close known at each curve time.
 * A curve point before a symbol's first close marks it at its first open.
 */
export function buyAndHoldCurve(series: readonly BarColumns[], curveTs: Float64Array, cash: number): Float64Array {
  const out = new Float64Array(curveTs.length);
  const share = cash / series.length;
  for (const s of series) {
    if (s.length === 0) {
      for (let k = 0; k < out.length; k++) out[k]! += share;
      continue;
    }
    const units = share / s.open[0]!;
    let i = -1;
    let px = s.open[0]!;
    for (let k = 0; k < curveTs.length; k++) {
      const t = curveTs[k]!;
      while (i + 1 < s.length && s.ts[i + 1]! + s.timeframeMs <= t) px = s.close[++i]!;
      out[k]! += units * px;
    }
  }
  return out;
}
