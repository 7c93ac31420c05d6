import { quantileSorted, returnsFromEquity } from '../../engine/metrics.ts';

/**
 * The series the charts draw, derived from an equity curve and nothing else. Pure and
 * deterministic; conventions follow engine/metrics.ts (simple per-bar returns, sample standard
 * deviation, annualisation by √periodsPerYear). Drawdown itself is engine/metrics drawdownSeries.
 */

export interface MonthlyReturn {
  readonly year: number;
  /** 0 = January, as Date.getUTCMonth. */
  readonly month: number;
  /** Compounded return over the month as a fraction. */
  readonly ret: number;
}

/**
 * Calendar-month (UTC) returns: the equity at the month's last point over the equity at the
 * previous month's last point (the first point for the first month). Curve points are stamped with
 * bar CLOSE times, so a point at exactly 00:00 on the 1st closes the previous month's last bar and
 * counts in that month (the month of ts − 1 ms).
 */
export function monthlyReturns(ts: ArrayLike<number>, equity: ArrayLike<number>): MonthlyReturn[] {
  const n = Math.min(ts.length, equity.length);
  const out: MonthlyReturn[] = [];
  if (n < 2) return out;
  const monthOf = (t: number): number => {
    const d = new Date(t - 1);
    return d.getUTCFullYear() * 12 + d.getUTCMonth();
  };
  let base = equity[0]!;
  let cur = monthOf(ts[1]!);
  for (let i = 1; i < n; i++) {
    const m = monthOf(ts[i]!);
    if (m !== cur) {
      const last = equity[i - 1]!;
      out.push({ year: Math.floor(cur / 12), month: cur % 12, ret: last / base - 1 });
      base = last;
      cur = m;
    }
  }
  out.push({ year: Math.floor(cur / 12), month: cur % 12, ret: equity[n - 1]! / base - 1 });
  return out;
}

/** Compounds monthly returns into calendar-year returns (years with any month present). */
export function yearlyReturns(months: readonly MonthlyReturn[]): { year: number; ret: number }[] {
  const by = new Map<number, number>();
  for (const m of months) by.set(m.year, (by.get(m.year) ?? 1) * (1 + m.ret));
  return [...by].sort((a, b) => a[0] - b[0]).map(([year, g]) => ({ year, ret: g - 1 }));
}

/**
 * Annualised Sharpe ratio (risk-free 0) of the last `window` per-bar returns at each curve point:
 * out[i] uses the returns into points i − window + 1 … i, NaN until `window` returns exist or when
 * they do not vary. out has the curve's length, so it shares the curve's timestamps.
 */
export function rollingSharpe(equity: Float64Array, window: number, periodsPerYear: number): Float64Array {
  if (!Number.isInteger(window) || window < 2) throw new RangeError(`rollingSharpe: window must be an integer ≥ 2, got ${window}`);
  const r = returnsFromEquity(equity);
  const out = new Float64Array(equity.length).fill(NaN);
  const annual = Math.sqrt(periodsPerYear);
  // Sums of returns shifted by a recent window's mean: running sums of raw squares lose every
  // digit when the mean dwarfs the spread (a steady climb). The shift is renewed, and the sums
  // recomputed exactly, once per window length, which keeps the cost linear.
  if (r.length < window) return out;
  let shift = 0;
  let s = 0;
  let sq = 0;
  for (let k = window - 1; k < r.length; k++) {
    if ((k - (window - 1)) % window === 0) {
      shift = 0;
      for (let j = k - window + 1; j <= k; j++) shift += r[j]!;
      shift /= window;
      s = 0;
      sq = 0;
      for (let j = k - window + 1; j <= k; j++) {
        const x = r[j]! - shift;
        s += x;
        sq += x * x;
      }
    } else {
      const x = r[k]! - shift;
      const y = r[k - window]! - shift;
      s += x - y;
      sq += x * x - y * y;
    }
    const mean = s / window;
    const v = (sq - s * mean) / (window - 1);
    const mu = mean + shift;
    out[k + 1] = v > 1e-24 * (1 + mu * mu) ? (mu / Math.sqrt(v)) * annual : NaN;
  }
  return out;
}

export interface Histogram {
  /** bins + 1 ascending edges; bin j is [edges[j], edges[j+1]), the last one closed. */
  readonly edges: number[];
  readonly counts: number[];
}

/** Equal-width histogram of the finite values between their min and max. */
export function histogram(values: ArrayLike<number>, bins: number): Histogram {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`histogram: bins must be a positive integer, got ${bins}`);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return { edges: [], counts: [] };
  if (lo === hi) return { edges: [lo, hi], counts: [countFinite(values)] };
  const span = hi - lo;
  const edges = Array.from({ length: bins + 1 }, (_, j) => (j === bins ? hi : lo + (span * j) / bins));
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    // As a share of the span, not over the width: the width of a tiny span underflows to 0.
    const j = Math.floor(((v - lo) / span) * bins);
    counts[j >= 0 && j < bins ? j : j >= bins ? bins - 1 : 0]!++;
  }
  return { edges, counts };
}

function countFinite(values: ArrayLike<number>): number {
  let c = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) c++;
  return c;
}

/** Sturges' rule bounded to [10, 60]: enough bins to see a shape, few enough to read. */
export function defaultBins(n: number): number {
  return Math.max(10, Math.min(60, Math.ceil(Math.log2(Math.max(1, n))) + 1));
}

/**
 * Indices of at most `max` points, evenly spaced, first and last always kept. A chart of a
 * year of minute bars would otherwise carry half a million points into the HTML file; the
 * engine's numbers come from the full series, only the picture is thinned.
 */
export function thinIndices(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  const step = (n - 1) / (max - 1);
  for (let k = 0; k < max; k++) out.push(Math.round(k * step));
  return out;
}

/** A percentile fan: at each checkpoint step, the quantiles of the path values across paths. */
export interface Fan {
  /** Path step of each checkpoint (0 = the start, value 1). */
  readonly steps: number[];
  readonly quantiles: readonly number[];
  /** bands[q][c]: quantile q of the growth of 1 at checkpoint c. */
  readonly bands: number[][];
}

export const FAN_QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95] as const;

/**
 * Collects the growth of 1 along each Monte Carlo path at up to `points` checkpoints (a
 * path's per-step returns are passed to `observe`), then the per-checkpoint quantiles (type 7,
 * numpy's default, as lab/montecarlo's percentile table).
 */
export function fanCollector(steps: number, paths: number, points = 200): { observe: (path: number, returns: ArrayLike<number>, n: number) => void; fan: (quantiles?: readonly number[]) => Fan } {
  const checkpoints = thinIndices(steps + 1, points);
  const c = checkpoints.length;
  const values = new Float64Array(paths * c).fill(NaN);
  const observe = (path: number, returns: ArrayLike<number>, n: number): void => {
    if (path < 0 || path >= paths) return;
    let eq = 1;
    let next = 0;
    const row = path * c;
    for (let k = 0; k <= n && next < c; k++) {
      if (k > 0) eq *= 1 + returns[k - 1]!;
      while (next < c && checkpoints[next] === k) values[row + next++] = eq;
    }
  };
  const fan = (quantiles: readonly number[] = FAN_QUANTILES): Fan => {
    const bands = quantiles.map(() => new Array<number>(c).fill(NaN));
    const col = new Float64Array(paths);
    for (let j = 0; j < c; j++) {
      let m = 0;
      for (let p = 0; p < paths; p++) {
        const v = values[p * c + j]!;
        if (!Number.isNaN(v)) col[m++] = v;
      }
      const sorted = col.subarray(0, m).sort();
      quantiles.forEach((q, qi) => (bands[qi]![j] = quantileSorted(sorted, q)));
    }
    return { steps: checkpoints, quantiles, bands };
  };
  return { observe, fan };
}
