import type { MarketRegime } from './types.ts';

/**
 * Market regime from closes only, causally: the label of bar t reads closes[0..t] and nothing
 * later, so a backtest (or a scorer) can use it at bar t without look-ahead.
 *
 * Over the last `lookback` log returns:
 *   - volatile   when their standard deviation exceeds `volRatio` × the standard deviation of the
 *                last `longLookback` returns (volatility high *for this market*, not in absolute
 *                terms, so one rule serves BTC and a stablecoin pair alike);
 *   - trend-up / trend-down  when the move over the lookback, in units of its own noise,
 *                z = ln(c_t / c_{t-n}) / (σ_n · √n), is above `trendZ` / below −`trendZ`;
 *   - range      otherwise.
 * Volatility is tested first: a crash is "volatile" before it is "trend-down".
 * Labels are null while fewer than `lookback` returns exist.
 */
export interface RegimeOptions {
  /** Short window, in returns (default 20). */
  readonly lookback?: number;
  /** Reference window for "normal" volatility, in returns (default 5 × lookback). */
  readonly longLookback?: number;
  /** Default 1.5. */
  readonly volRatio?: number;
  /** Default 1.0 (a one-sigma move over the window). */
  readonly trendZ?: number;
}

export const REGIMES: readonly MarketRegime[] = ['trend-up', 'trend-down', 'range', 'volatile'];

export function resolveRegimeOptions(o: RegimeOptions = {}): Required<RegimeOptions> {
  const lookback = o.lookback ?? 20;
  const r = { lookback, longLookback: o.longLookback ?? 5 * lookback, volRatio: o.volRatio ?? 1.5, trendZ: o.trendZ ?? 1 };
  if (!Number.isInteger(r.lookback) || r.lookback < 2) throw new RangeError(`regime lookback must be an integer ≥ 2, got ${r.lookback}`);
  if (!Number.isInteger(r.longLookback) || r.longLookback < r.lookback) throw new RangeError(`regime longLookback must be an integer ≥ lookback, got ${r.longLookback}`);
  if (!(r.volRatio > 0) || !(r.trendZ >= 0)) throw new RangeError('regime volRatio must be > 0 and trendZ ≥ 0');
  return r;
}

function std(sum: number, sumSq: number, n: number): number {
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sumSq / n - mean * mean));
}

/** One label per close (null in warm-up). */
export function detectRegimes(close: ArrayLike<number>, opts: RegimeOptions = {}): (MarketRegime | null)[] {
  const out: (MarketRegime | null)[] = new Array(close.length).fill(null);
  scanRegimes(close, resolveRegimeOptions(opts), 0, out);
  return out;
}

/**
 * The label of the last close only: `detectRegimes(close, opts)[close.length - 1]`, without
 * labelling the bars before it. Still O(n): the running sums carry rounding from the first bar, so
 * a label computed from the last `longLookback` returns alone can differ at a threshold.
 */
export function lastRegimeLabel(close: ArrayLike<number>, opts: RegimeOptions = {}): MarketRegime | null {
  return scanRegimes(close, resolveRegimeOptions(opts), close.length - 1, null);
}

/**
 * The one detector loop (so both entry points do the same float operations in the same order):
 * labels bars t ≥ max(lookback, labelFrom) into `out` when given, and returns the last label made.
 */
function scanRegimes(close: ArrayLike<number>, o: Required<RegimeOptions>, labelFrom: number, out: (MarketRegime | null)[] | null): MarketRegime | null {
  const n = close.length;
  const ret = new Float64Array(n);
  for (let i = 1; i < n; i++) ret[i] = Math.log(close[i]! / close[i - 1]!);
  const from = Math.max(o.lookback, labelFrom);
  let last: MarketRegime | null = null;
  // Window sums recomputed from scratch every bar would be O(n·window); the running sums add
  // and drop the same returns in the same order whatever comes later, so labels stay causal.
  let s = 0, ss = 0, ls = 0, lss = 0;
  for (let t = 1; t < n; t++) {
    const r = ret[t]!;
    s += r; ss += r * r; ls += r; lss += r * r;
    if (t > o.lookback) { const d = ret[t - o.lookback]!; s -= d; ss -= d * d; }
    if (t > o.longLookback) { const d = ret[t - o.longLookback]!; ls -= d; lss -= d * d; }
    if (t < from) continue;
    const sdShort = std(s, ss, o.lookback);
    const sdLong = std(ls, lss, Math.min(t, o.longLookback));
    // Below 2 short windows of history the reference volatility is mostly the short window itself.
    if (t >= 2 * o.lookback && sdShort > o.volRatio * sdLong) last = 'volatile';
    else {
      const move = Math.log(close[t]! / close[t - o.lookback]!);
      const z = sdShort > 0 ? move / (sdShort * Math.sqrt(o.lookback)) : move === 0 ? 0 : Math.sign(move) * Infinity;
      last = z > o.trendZ ? 'trend-up' : z < -o.trendZ ? 'trend-down' : 'range';
    }
    if (out) out[t] = last;
  }
  return last;
}
