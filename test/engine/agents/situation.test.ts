import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { detectRegimes, resolveRegimeOptions } from '../../../engine/agents/regime.ts';
import { lastRegime } from '../../../engine/agents/situation.ts';
import type { MarketRegime } from '../../../engine/agents/types.ts';

/**
 * The detector as it was before it learned to label only the last bar (commit 1092dfc), verbatim:
 * an independent reference for both entry points, down to the order of float operations.
 */
function referenceRegimes(close: ArrayLike<number>): (MarketRegime | null)[] {
  const o = resolveRegimeOptions({});
  const std = (sum: number, sumSq: number, n: number): number => {
    const mean = sum / n;
    return Math.sqrt(Math.max(0, sumSq / n - mean * mean));
  };
  const n = close.length;
  const out: (MarketRegime | null)[] = new Array(n).fill(null);
  const ret = new Float64Array(n);
  for (let i = 1; i < n; i++) ret[i] = Math.log(close[i]! / close[i - 1]!);
  let s = 0, ss = 0, ls = 0, lss = 0;
  for (let t = 1; t < n; t++) {
    const r = ret[t]!;
    s += r; ss += r * r; ls += r; lss += r * r;
    if (t > o.lookback) { const d = ret[t - o.lookback]!; s -= d; ss -= d * d; }
    if (t > o.longLookback) { const d = ret[t - o.longLookback]!; ls -= d; lss -= d * d; }
    if (t < o.lookback) continue;
    const sdShort = std(s, ss, o.lookback);
    const sdLong = std(ls, lss, Math.min(t, o.longLookback));
    if (t >= 2 * o.lookback && sdShort > o.volRatio * sdLong) { out[t] = 'volatile'; continue; }
    const move = Math.log(close[t]! / close[t - o.lookback]!);
    const z = sdShort > 0 ? move / (sdShort * Math.sqrt(o.lookback)) : move === 0 ? 0 : Math.sign(move) * Infinity;
    out[t] = z > o.trendZ ? 'trend-up' : z < -o.trendZ ? 'trend-down' : 'range';
  }
  return out;
}

/** Closes from log returns, starting at `start`. */
function fromReturns(start: number, rets: readonly number[]): number[] {
  const out = [start];
  for (const r of rets) out.push(out[out.length - 1]! * Math.exp(r));
  return out;
}

const lengths = fc.oneof(fc.integer({ min: 0, max: 45 }), fc.integer({ min: 0, max: 260 }));
const noise = fc.double({ min: -0.05, max: 0.05, noNaN: true });
/** Flat, trending, noisy, jumpy (rare moves of up to e^±14 whose squares leave rounding behind in the running sums), tiny-noise. */
const closeSeries = fc.oneof(
  fc.tuple(fc.double({ min: 1e-3, max: 1e6, noNaN: true }), lengths).map(([c, n]) => new Array<number>(n).fill(c)),
  fc.tuple(fc.double({ min: -0.01, max: 0.01, noNaN: true }), fc.array(fc.double({ min: -0.002, max: 0.002, noNaN: true }), { maxLength: 260 })).map(([d, e]) => fromReturns(100, e.map((x) => d + x))),
  fc.array(noise, { maxLength: 260 }).map((r) => fromReturns(50, r)),
  fc.array(fc.oneof({ arbitrary: noise, weight: 20 }, { arbitrary: fc.double({ min: -14, max: 14, noNaN: true }), weight: 1 }), { maxLength: 260 }).map((r) => fromReturns(100, r)),
  // A jump long before the last longLookback returns, then near-flat bars: the case where the
  // rounding the jump left in the running sums decides the label.
  fc.tuple(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 130, maxLength: 260 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 3, max: 14, noNaN: true })).map(([k, where, jump]) => {
    const rets = k.map((x) => x * 1e-9);
    rets[Math.floor(where * (rets.length - 110))] = jump;
    return fromReturns(100, rets);
  }),
);

describe('lastRegime', () => {
  it('is the last label of the full causal detector, bit for bit, on flat, trending, noisy, jumpy and short series', () => {
    fc.assert(
      fc.property(closeSeries, (close) => {
        const want = referenceRegimes(close)[close.length - 1] ?? 'range';
        expect(lastRegime(close)).toBe(want);
        expect(lastRegime(Float64Array.from(close))).toBe(want);
        expect(detectRegimes(close)).toEqual(referenceRegimes(close));
      }),
      { numRuns: 400 },
    );
  });

  it('reads the whole window, not only the last longLookback returns: a jump long gone still leaves its rounding in the sums', () => {
    // 50 flat bars, a ×10^6 jump and back, then 148 bars moving by ~1e-9: ln(10^6)² ≈ 191 added
    // and later dropped leaves a residue of a few ulps of 191 (~1e-14) in the sums of squares,
    // far above the ~1e-18 the last bars contribute, so the full detector sees "volatile".
    const close: number[] = new Array<number>(50).fill(100);
    close.push(1e8, 100.3);
    for (let i = 0; i < 148; i++) close.push(100.3 * (1 + 1e-9 * (((i * 7) % 5) - 2)));
    expect(referenceRegimes(close)[199]).toBe('volatile');
    expect(lastRegime(close)).toBe('volatile');
    // The same last 101 closes alone: exact sums, so no volatility at all.
    expect(referenceRegimes(close.slice(99))[100]).toBe('range');
  });

  it('is range while warming up (fewer than 20 returns) and on an empty window', () => {
    expect(lastRegime([])).toBe('range');
    expect(lastRegime(fromReturns(100, new Array<number>(19).fill(0.05)))).toBe('range');
    expect(lastRegime(fromReturns(100, new Array<number>(20).fill(0.05)))).toBe('trend-up');
  });
});
