/**
 * Performance metrics of an equity curve and its round-trip trades. Pure: typed-array loops, no
 * allocation per bar. Every formula and convention is written down in docs/metrics.md; the short
 * version: per-bar simple returns, sample standard deviation (ddof = 1), annualisation by
 * `periodsPerYear` (365-day years for 24/7 markets), elapsed time = number of returns / periodsPerYear.
 */

/** One closed round trip (entry to exit) of a position. */
export interface ClosedTrade {
  readonly symbol: string;
  readonly side: 'long' | 'short';
  readonly entryTs: number;
  readonly exitTs: number;
  readonly entryPrice: number;
  readonly exitPrice: number;
  /** Absolute base quantity of the round trip. */
  readonly qty: number;
  /** Realised profit in quote currency, net of fees. */
  readonly pnl: number;
  readonly fees: number;
  /** pnl as a fraction of the entry notional. */
  readonly returnPct: number;
}

export interface MetricsInput {
  /** Equity per bar, the starting value first. */
  readonly equity: Float64Array;
  /** Close time of each equity point (epoch ms), same length as `equity`. */
  readonly ts?: Float64Array;
  /** Bars per year; for 24/7 markets use `periodsPerYear(timeframeMs)` from engine/timeframe.ts. */
  readonly periodsPerYear: number;
  /** Annual risk-free rate (e.g. 0.04); 0 by default. Also the Sortino target. */
  readonly riskFree?: number;
  /** Omitted means "not known": every trade metric is NaN. An empty list means no trades. */
  readonly trades?: readonly ClosedTrade[];
  /**
   * A fraction in [0, 1], or a per-bar series (position size, notional or a 0/1 flag) whose
   * non-zero share of bars is the exposure.
   */
  readonly exposure?: Float64Array | number;
  /**
   * Traded notional over the whole run, both sides (sum of |qty × price| over fills). When omitted
   * and trades are given, it is taken from the trades: qty × (entryPrice + exitPrice) each.
   */
  readonly tradedNotional?: number;
  /** Buy-and-hold equity over the same bars, for the `benchmark` block. */
  readonly benchmarkEquity?: Float64Array;
}

/** The metrics that depend only on an equity curve (also computed for the benchmark). */
export interface ReturnMetrics {
  readonly totalReturn: number;
  readonly cagr: number;
  readonly volatility: number;
  readonly sharpe: number;
  readonly sortino: number;
  readonly calmar: number;
  /** Worst peak-to-trough fall as a negative fraction (-0.25 is a 25 % drawdown); 0 if none. */
  readonly maxDrawdown: number;
}

export interface Metrics extends ReturnMetrics {
  /** Longest stretch, in bars, from a peak until equity is back at or above it (or the end). */
  readonly maxDrawdownDuration: number;
  /** The same in milliseconds, measured on `ts`; NaN without `ts`. */
  readonly maxDrawdownDurationMs: number;
  readonly winRate: number;
  readonly profitFactor: number;
  readonly expectancy: number;
  readonly exposure: number;
  readonly turnover: number;
  readonly numTrades: number;
  /** Mean exitTs − entryTs of the trades, in ms. */
  readonly avgHoldingTime: number;
  /** Number of per-bar returns (equity points − 1). */
  readonly periods: number;
  readonly periodsPerYear: number;
  readonly riskFree: number;
  readonly benchmark?: ReturnMetrics;
}

/**
 * A standard deviation this small next to the mean is floating-point noise from dividing equal
 * growth steps, not risk; ratios over it would be ~1e15 nonsense, so it counts as zero.
 */
const ZERO_STD_RELATIVE = 1e-12;

/** The return into bar i; undefined (NaN) after a non-positive equity, where nothing compounds. */
function barReturn(equity: Float64Array, i: number): number {
  const prev = equity[i - 1]!;
  return prev > 0 ? equity[i]! / prev - 1 : NaN;
}

/** r[i] = equity[i+1] / equity[i] − 1. Writes into `out` when given (length ≥ n − 1). */
export function returnsFromEquity(equity: Float64Array, out?: Float64Array): Float64Array {
  const n = Math.max(0, equity.length - 1);
  const r = out ?? new Float64Array(n);
  if (r.length < n) throw new RangeError(`returnsFromEquity: out has length ${r.length}, needs ${n}`);
  for (let i = 0; i < n; i++) r[i] = barReturn(equity, i + 1);
  return r;
}

/** dd[i] = equity[i] / max(equity[0..i]) − 1, so 0 at new highs and negative below them. */
export function drawdownSeries(equity: Float64Array, out?: Float64Array): Float64Array {
  const n = equity.length;
  const dd = out ?? new Float64Array(n);
  if (dd.length < n) throw new RangeError(`drawdownSeries: out has length ${dd.length}, needs ${n}`);
  let peak = -Infinity;
  for (let i = 0; i < n; i++) {
    const e = equity[i]!;
    if (e > peak) peak = e;
    dd[i] = e / peak - 1;
  }
  return dd;
}

/** Per-period rate equivalent to an annual rate when compounded `periodsPerYear` times. */
export function perPeriodRate(annualRate: number, periodsPerYear: number): number {
  return annualRate === 0 ? 0 : Math.pow(1 + annualRate, 1 / periodsPerYear) - 1;
}

interface DrawdownStats {
  readonly maxDrawdown: number;
  readonly durationBars: number;
  readonly durationMs: number;
}

function drawdownStats(equity: Float64Array, ts: Float64Array | undefined): DrawdownStats {
  const n = equity.length;
  let peak = equity[0]!;
  let peakIdx = 0;
  let maxDd = 0;
  let longestBars = 0;
  let longestMs = 0;
  for (let i = 1; i < n; i++) {
    const e = equity[i]!;
    if (e >= peak) {
      // Recovered (or a new high): the underwater stretch that began at peakIdx ends here.
      if (i - peakIdx > 1) {
        longestBars = Math.max(longestBars, i - peakIdx);
        if (ts) longestMs = Math.max(longestMs, ts[i]! - ts[peakIdx]!);
      }
      peak = e;
      peakIdx = i;
    } else {
      const dd = e / peak - 1;
      if (dd < maxDd) maxDd = dd;
    }
  }
  if (peakIdx < n - 1) {
    longestBars = Math.max(longestBars, n - 1 - peakIdx);
    if (ts) longestMs = Math.max(longestMs, ts[n - 1]! - ts[peakIdx]!);
  }
  return { maxDrawdown: maxDd, durationBars: longestBars, durationMs: ts ? longestMs : NaN };
}

function returnMetrics(equity: Float64Array, periodsPerYear: number, rfPerPeriod: number, maxDrawdown: number): ReturnMetrics {
  const n = equity.length;
  const periods = n - 1;
  const first = equity[0]!;
  const last = equity[n - 1]!;
  const totalReturn = last / first - 1;
  const years = periods / periodsPerYear;
  const cagr = periods < 1 ? NaN : last <= 0 ? -1 : Math.pow(last / first, 1 / years) - 1;

  // Returns are recomputed in each pass rather than stored (an array per call costs more than the
  // division), and inline: a ruined curve (equity ≤ 0, after which returns are undefined) is found
  // first so the loops need no guard.
  let solvent = true;
  for (let i = 0; i < n - 1; i++) if (!(equity[i]! > 0)) solvent = false;
  let sum = 0;
  for (let i = 1; i < n; i++) sum += equity[i]! / equity[i - 1]! - 1 - rfPerPeriod;
  const mean = periods > 0 && solvent ? sum / periods : NaN;
  let sq = 0;
  let downSq = 0;
  for (let i = 1; i < n; i++) {
    const x = equity[i]! / equity[i - 1]! - 1 - rfPerPeriod;
    const d = x - mean;
    sq += d * d;
    const down = Math.min(x, 0);
    downSq += down * down;
  }
  const std = periods > 1 ? Math.sqrt(sq / (periods - 1)) : NaN;
  const annual = Math.sqrt(periodsPerYear);

  // Volatility is of the raw returns; subtracting a constant rf does not change the deviation.
  const volatility = std * annual;
  const stdIsZero = std <= ZERO_STD_RELATIVE * Math.abs(mean + rfPerPeriod);
  const sharpe = periods < 2 || stdIsZero ? NaN : (mean / std) * annual;
  const downside = periods > 0 && solvent ? Math.sqrt(downSq / periods) : NaN;
  // IEEE division gives the documented edge cases: +Infinity with no period below target and a
  // positive mean, NaN when both are zero (as empyrical does).
  const sortino = periods < 1 ? NaN : (mean / downside) * annual;
  const calmar = maxDrawdown < 0 ? cagr / Math.abs(maxDrawdown) : NaN;
  return { totalReturn, cagr, volatility: stdIsZero ? 0 : volatility, sharpe, sortino, calmar, maxDrawdown };
}

function checkEquity(equity: Float64Array, name: string): void {
  if (equity.length < 1) throw new RangeError(`${name}: needs at least one value (the starting equity)`);
  if (!(equity[0]! > 0)) throw new RangeError(`${name}[0] must be positive, got ${equity[0]}`);
  for (let i = 0; i < equity.length; i++) {
    if (!Number.isFinite(equity[i]!)) throw new RangeError(`${name}[${i}] is not finite (${equity[i]})`);
  }
}

interface TradeStats {
  readonly winRate: number;
  readonly profitFactor: number;
  readonly expectancy: number;
  readonly numTrades: number;
  readonly avgHoldingTime: number;
  readonly notional: number;
}

function tradeStats(trades: readonly ClosedTrade[] | undefined): TradeStats {
  if (!trades) return { winRate: NaN, profitFactor: NaN, expectancy: NaN, numTrades: NaN, avgHoldingTime: NaN, notional: NaN };
  let wins = 0;
  let grossProfit = 0;
  let grossLoss = 0;
  let pnl = 0;
  let held = 0;
  let notional = 0;
  for (const t of trades) {
    if (t.pnl > 0) {
      wins++;
      grossProfit += t.pnl;
    } else if (t.pnl < 0) {
      grossLoss -= t.pnl;
    }
    pnl += t.pnl;
    held += t.exitTs - t.entryTs;
    notional += Math.abs(t.qty) * (Math.abs(t.entryPrice) + Math.abs(t.exitPrice));
  }
  const k = trades.length;
  return {
    winRate: k > 0 ? wins / k : NaN,
    // Infinity when there are profits and no losses; NaN when there is neither (0/0).
    profitFactor: grossLoss > 0 ? grossProfit / grossLoss : grossProfit > 0 ? Infinity : NaN,
    expectancy: k > 0 ? pnl / k : NaN,
    numTrades: k,
    avgHoldingTime: k > 0 ? held / k : NaN,
    notional,
  };
}

function exposureOf(x: Float64Array | number | undefined): number {
  if (x === undefined) return NaN;
  if (typeof x === 'number') {
    if (!(x >= 0 && x <= 1)) throw new RangeError(`exposure must be a fraction in [0, 1], got ${x}`);
    return x;
  }
  if (x.length === 0) return NaN;
  let held = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== 0 && !Number.isNaN(x[i]!)) held++;
  return held / x.length;
}

export function computeMetrics(input: MetricsInput): Metrics {
  const { equity, ts, periodsPerYear } = input;
  if (!(periodsPerYear > 0) || !Number.isFinite(periodsPerYear)) {
    throw new RangeError(`periodsPerYear must be a positive number, got ${periodsPerYear}`);
  }
  const riskFree = input.riskFree ?? 0;
  if (!Number.isFinite(riskFree) || riskFree <= -1) throw new RangeError(`riskFree must be a finite annual rate above -1, got ${riskFree}`);
  checkEquity(equity, 'equity');
  if (ts && ts.length !== equity.length) throw new RangeError(`ts has ${ts.length} values, equity ${equity.length}`);
  const rf = perPeriodRate(riskFree, periodsPerYear);

  const dd = drawdownStats(equity, ts);
  const core = returnMetrics(equity, periodsPerYear, rf, dd.maxDrawdown);
  const trades = tradeStats(input.trades);

  const periods = equity.length - 1;
  const notional = input.tradedNotional ?? trades.notional;
  let avgEquity = 0;
  for (let i = 0; i < equity.length; i++) avgEquity += equity[i]!;
  avgEquity /= equity.length;
  const years = periods / periodsPerYear;
  const turnover = periods > 0 ? notional / avgEquity / years : NaN;

  let benchmark: ReturnMetrics | undefined;
  if (input.benchmarkEquity) {
    checkEquity(input.benchmarkEquity, 'benchmarkEquity');
    const bdd = drawdownStats(input.benchmarkEquity, undefined);
    benchmark = returnMetrics(input.benchmarkEquity, periodsPerYear, rf, bdd.maxDrawdown);
  }

  return {
    ...core,
    maxDrawdownDuration: dd.durationBars,
    maxDrawdownDurationMs: dd.durationMs,
    winRate: trades.winRate,
    profitFactor: trades.profitFactor,
    expectancy: trades.expectancy,
    exposure: exposureOf(input.exposure),
    turnover,
    numTrades: trades.numTrades,
    avgHoldingTime: trades.avgHoldingTime,
    periods,
    periodsPerYear,
    riskFree,
    ...(benchmark ? { benchmark } : {}),
  };
}

/** Type-7 (linear interpolation, numpy's and R's default) quantile of ascending-sorted values. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
