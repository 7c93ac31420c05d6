import { z } from 'zod';
import type { BarColumns } from '../engine/types.ts';
import { quantileSorted, type ClosedTrade } from '../engine/metrics.ts';
import { createRng, type Rng } from '../engine/rng.ts';
import { DAY_MS, YEAR_DAYS } from '../engine/timeframe.ts';
import { InputError, describeIssues } from '../engine/errors.ts';
import { generateBars } from '../datasets/synth.ts';

/**
 * Monte Carlo robustness of one backtest: how much of its result is the luck of the order of its
 * trades, of the particular return path, or of the exact prices it saw?
 *
 * Methods
 * - `shuffle`: the closed trades' equity returns (pnl / equity at entry) in a random order, compounded.
 *   Compounding commutes, so every path ends at the SAME final return and has the same per-trade
 *   Sharpe ratio; only the drawdown (and so the probability of ruin) depends on the order.
 * - `bootstrap`: per-bar returns of the equity curve resampled with replacement (iid).
 * - `block`: the stationary bootstrap of Politis & Romano (1994): blocks of geometric length with
 *   mean `blockLength`, wrapping around the end, which keeps volatility clustering and autocorrelation.
 * - `noise`: every open/high/low/close multiplied by exp(σ·Z) (independent Z per price; high/low
 *   widened to stay the extremes) and the strategy re-run on the perturbed bars.
 * - `synthetic`: the strategy re-run on geometric Brownian motion paths (datasets/synth.ts) whose
 *   drift and volatility are calibrated to the data's log returns.
 *
 * Everything is seeded: the same inputs and seed give identical output. The resampling methods
 * work in preallocated typed arrays; nothing is allocated per path.
 */

export const MC_METHODS = ['shuffle', 'bootstrap', 'block', 'noise', 'synthetic'] as const;
export type McMethod = (typeof MC_METHODS)[number];

export const mcOptionsSchema = z.object({
  method: z.enum(MC_METHODS),
  paths: z.number().int().min(1).max(10_000_000),
  seed: z.number().int().default(1),
  /** A path is ruined when its drawdown reaches this fraction (0.3 = a 30 % fall from a peak). */
  ruinDrawdown: z.number().gt(0).max(1).default(0.3),
  /** Mean block length (bars) of the stationary bootstrap. */
  blockLength: z.number().min(1).default(24),
  /** Price noise σ (log scale) per price; by default a quarter of the per-bar log-return volatility. */
  noise: z.number().min(0).optional(),
});
export type McOptions = z.input<typeof mcOptionsSchema>;

/**
 * Sees every path's per-step returns as it is made (`returns` is a reused buffer, valid during the
 * call only): how a report draws a fan of the very paths the percentiles came from.
 */
export type PathObserver = (path: number, returns: Float64Array, n: number) => void;

export interface Percentiles {
  readonly p5: number;
  readonly p50: number;
  readonly p95: number;
  readonly mean: number;
}

export interface PathStats {
  readonly finalReturn: number;
  /** Negative fraction (−0.25 = a 25 % drawdown), as engine/metrics reports it. */
  readonly maxDrawdown: number;
  readonly sharpe: number;
}

export interface McResult {
  readonly method: McMethod;
  readonly paths: number;
  readonly seed: number;
  readonly ruinDrawdown: number;
  readonly finalReturn: Percentiles;
  readonly maxDrawdown: Percentiles;
  readonly sharpe: Percentiles;
  /** Share of paths whose drawdown reached `ruinDrawdown` (or whose equity hit zero). */
  readonly probRuin: number;
  /** The same statistics on the original run, for comparison. */
  readonly observed: PathStats;
  /** Method-specific settings actually used (block length, noise σ, calibrated drift and vol). */
  readonly settings: Readonly<Record<string, number>>;
}

function summarise(values: Float64Array): Percentiles {
  // NaN (an undefined Sharpe ratio on a flat path) is sorted last by typed-array sort; leave it out.
  const sorted = values.slice().sort();
  let n = sorted.length;
  while (n > 0 && Number.isNaN(sorted[n - 1]!)) n--;
  const s = sorted.subarray(0, n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i]!;
  return { p5: quantileSorted(s, 0.05), p50: quantileSorted(s, 0.5), p95: quantileSorted(s, 0.95), mean: n > 0 ? sum / n : NaN };
}

/** Final return, max drawdown and annualised Sharpe of compounding `returns` from 1. */
export function statsOfReturns(returns: ArrayLike<number>, length: number, periodsPerYear: number): PathStats {
  let eq = 1;
  let peak = 1;
  let maxDd = 0;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < length; i++) {
    const r = returns[i]!;
    eq *= 1 + r;
    if (eq > peak) peak = eq;
    const dd = eq / peak - 1;
    if (dd < maxDd) maxDd = dd;
    sum += r;
    sq += r * r;
  }
  const mean = sum / length;
  const v = length > 1 ? (sq - sum * mean) / (length - 1) : NaN;
  return { finalReturn: eq - 1, maxDrawdown: eq <= 0 ? -1 : maxDd, sharpe: v > 0 ? (mean / Math.sqrt(v)) * Math.sqrt(periodsPerYear) : NaN };
}

/** Per-bar simple returns of an equity curve. */
export function equityReturns(equity: Float64Array): Float64Array {
  const r = new Float64Array(Math.max(0, equity.length - 1));
  for (let i = 0; i < r.length; i++) r[i] = equity[i + 1]! / equity[i]! - 1;
  return r;
}

/**
 * Each closed trade's return on the whole account: pnl / equity at entry (the last curve point at
 * or before the entry). Trade `returnPct` is per unit of notional and would overstate the account's
 * swings for a strategy that trades a fraction of its equity.
 */
export function tradeEquityReturns(trades: readonly Pick<ClosedTrade, 'entryTs' | 'pnl'>[], curveTs: Float64Array, equity: Float64Array): Float64Array {
  const out = new Float64Array(trades.length);
  trades.forEach((t, k) => {
    let lo = 0;
    let hi = curveTs.length - 1;
    if (curveTs[0]! > t.entryTs) hi = 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (curveTs[mid]! <= t.entryTs) lo = mid;
      else hi = mid - 1;
    }
    out[k] = t.pnl / equity[lo]!;
  });
  return out;
}

interface Collector {
  readonly fr: Float64Array;
  readonly dd: Float64Array;
  readonly sr: Float64Array;
}

function collector(paths: number): Collector {
  return { fr: new Float64Array(paths), dd: new Float64Array(paths), sr: new Float64Array(paths) };
}

function finish(method: McMethod, o: z.output<typeof mcOptionsSchema>, c: Collector, observed: PathStats, settings: Record<string, number>): McResult {
  let ruined = 0;
  for (let i = 0; i < o.paths; i++) if (c.dd[i]! <= -o.ruinDrawdown || c.fr[i]! <= -1) ruined++;
  return {
    method,
    paths: o.paths,
    seed: o.seed,
    ruinDrawdown: o.ruinDrawdown,
    finalReturn: summarise(c.fr),
    maxDrawdown: summarise(c.dd),
    sharpe: summarise(c.sr),
    probRuin: ruined / o.paths,
    observed,
    settings,
  };
}

function parseOptions(opts: McOptions): z.output<typeof mcOptionsSchema> {
  const r = mcOptionsSchema.safeParse(opts);
  if (!r.success) throw new InputError(`monte carlo: ${describeIssues(r.error, '(options)')}`);
  return r.data;
}

/**
 * The inner loop of every resampling method: fill `buf` with one path's returns, then fold it.
 * Written as one function per method (not a callback per draw) so V8 keeps the loops tight.
 */
function foldInto(c: Collector, i: number, buf: Float64Array, n: number, ppy: number): void {
  const st = statsOfReturns(buf, n, ppy);
  c.fr[i] = st.finalReturn;
  c.dd[i] = st.maxDrawdown;
  c.sr[i] = st.sharpe;
}

/**
 * Trade-order shuffle. `tradesPerYear` annualises the per-trade Sharpe ratio (number of trades
 * over the run's length in years).
 */
export function shuffleTrades(tradeReturns: Float64Array, tradesPerYear: number, opts: Omit<McOptions, 'method'>, onPath?: PathObserver): McResult {
  const o = parseOptions({ ...opts, method: 'shuffle' });
  const n = tradeReturns.length;
  if (n < 2) throw new InputError(`trade shuffle needs at least 2 closed trades, the run has ${n}`);
  const rng = createRng(o.seed).fork('shuffle');
  const buf = tradeReturns.slice();
  const c = collector(o.paths);
  // Fisher–Yates from any arrangement gives a uniform permutation, so the buffer is never reset.
  for (let p = 0; p < o.paths; p++) {
    for (let k = n - 1; k > 0; k--) {
      const j = Math.floor(rng.next() * (k + 1));
      const t = buf[k]!;
      buf[k] = buf[j]!;
      buf[j] = t;
    }
    foldInto(c, p, buf, n, tradesPerYear);
    onPath?.(p, buf, n);
  }
  return finish('shuffle', o, c, statsOfReturns(tradeReturns, n, tradesPerYear), {});
}

/** iid bootstrap (`method: 'bootstrap'`) or stationary block bootstrap (`method: 'block'`) of per-bar returns. */
export function bootstrapReturns(returns: Float64Array, periodsPerYear: number, opts: McOptions, onPath?: PathObserver): McResult {
  const o = parseOptions(opts);
  if (o.method !== 'bootstrap' && o.method !== 'block') throw new InputError(`bootstrapReturns: method must be bootstrap or block, got ${o.method}`);
  const n = returns.length;
  if (n < 2) throw new InputError(`bootstrap needs at least 2 returns, got ${n}`);
  const rng = createRng(o.seed).fork(o.method);
  const buf = new Float64Array(n);
  const c = collector(o.paths);
  if (o.method === 'bootstrap') {
    // One 53-bit uniform carries two indices when n² fits well inside 2⁵³ (bias ≤ n²/2⁵³), halving
    // the generator calls, which dominate this loop.
    const pair = n * n <= 2 ** 40;
    const nn = n * n;
    for (let p = 0; p < o.paths; p++) {
      let k = 0;
      if (pair) {
        for (; k + 1 < n; k += 2) {
          const x = Math.floor(rng.next() * nn);
          const a = Math.floor(x / n);
          buf[k] = returns[a]!;
          buf[k + 1] = returns[x - a * n]!;
        }
      }
      for (; k < n; k++) buf[k] = returns[Math.floor(rng.next() * n)]!;
      foldInto(c, p, buf, n, periodsPerYear);
      onPath?.(p, buf, n);
    }
  } else {
    // Each step continues the current block with probability 1 − 1/L, else jumps to a uniform start.
    const pNew = 1 / o.blockLength;
    for (let p = 0; p < o.paths; p++) {
      let idx = Math.floor(rng.next() * n);
      for (let k = 0; k < n; k++) {
        buf[k] = returns[idx]!;
        if (rng.next() < pNew) idx = Math.floor(rng.next() * n);
        else if (++idx === n) idx = 0;
      }
      foldInto(c, p, buf, n, periodsPerYear);
      onPath?.(p, buf, n);
    }
  }
  return finish(o.method, o, c, statsOfReturns(returns, n, periodsPerYear), o.method === 'block' ? { blockLength: o.blockLength } : {});
}

/** What a re-run gives back: the strategy's equity curve on the altered bars. */
export type Rerun = (series: readonly BarColumns[]) => { readonly equity: Float64Array };

function logReturnStats(c: BarColumns): { mean: number; std: number } {
  let sum = 0;
  let sq = 0;
  const n = c.length - 1;
  for (let i = 0; i < n; i++) {
    const r = Math.log(c.close[i + 1]! / c.close[i]!);
    sum += r;
    sq += r * r;
  }
  const mean = sum / n;
  return { mean, std: n > 1 ? Math.sqrt(Math.max(0, (sq - sum * mean) / (n - 1))) : 0 };
}

/** The bars with each price multiplied by exp(σ·Z), high and low kept the extremes. Pure given `rng`. */
export function perturbBars(c: BarColumns, sigma: number, rng: Rng): BarColumns {
  const n = c.length;
  const open = new Float64Array(n);
  const high = new Float64Array(n);
  const low = new Float64Array(n);
  const close = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = c.open[i]! * Math.exp(sigma * rng.normal());
    const h = c.high[i]! * Math.exp(sigma * rng.normal());
    const l = c.low[i]! * Math.exp(sigma * rng.normal());
    const cl = c.close[i]! * Math.exp(sigma * rng.normal());
    open[i] = o;
    close[i] = cl;
    high[i] = Math.max(h, o, cl, l);
    low[i] = Math.min(l, o, cl, h);
  }
  return { symbol: c.symbol, timeframeMs: c.timeframeMs, length: n, ts: c.ts, open, high, low, close, volume: c.volume };
}

/** GBM drift and volatility (annual, as datasets/synth.ts takes them) that reproduce the data's log returns. */
export function calibrateGbm(c: BarColumns): { drift: number; vol: number } {
  if (c.length < 3) throw new InputError(`${c.symbol}: need at least 3 bars to calibrate a synthetic model`);
  const dt = c.timeframeMs / (YEAR_DAYS * DAY_MS);
  const { mean, std } = logReturnStats(c);
  const vol = std / Math.sqrt(dt);
  // synth's drift is arithmetic: the log price moves (μ − σ²/2)·Δ per bar.
  return { drift: mean / dt + (vol * vol) / 2, vol };
}

function medianVolume(c: BarColumns): number {
  const v = c.volume.slice().sort();
  return Math.max(quantileSorted(v, 0.5), 1e-9);
}

/**
 * `noise` or `synthetic`: re-run the strategy on `paths` altered copies of the data. Each re-run is
 * a full backtest, so this costs paths × one backtest.
 */
export function rerunPaths(series: readonly BarColumns[], rerun: Rerun, observedEquity: Float64Array, periodsPerYear: number, opts: McOptions, onPath?: PathObserver): McResult {
  const o = parseOptions(opts);
  if (o.method !== 'noise' && o.method !== 'synthetic') throw new InputError(`rerunPaths: method must be noise or synthetic, got ${o.method}`);
  if (series.length === 0) throw new InputError('no bars to re-run on');
  const master = createRng(o.seed).fork(o.method);
  const c = collector(o.paths);
  const settings: Record<string, number> = {};
  const sigmas = series.map((s) => o.noise ?? logReturnStats(s).std / 4);
  const models = series.map((s) => calibrateGbm(s));
  if (o.method === 'noise') series.forEach((s, j) => (settings[`noise:${s.symbol}`] = sigmas[j]!));
  else
    series.forEach((s, j) => {
      settings[`drift:${s.symbol}`] = models[j]!.drift;
      settings[`vol:${s.symbol}`] = models[j]!.vol;
    });
  for (let p = 0; p < o.paths; p++) {
    const rng = master.fork(p);
    const altered = series.map((s, j) => {
      if (o.method === 'noise') return perturbBars(s, sigmas[j]!, rng);
      const last = s.ts[s.length - 1]!;
      const bars = generateBars({
        symbol: s.symbol,
        timeframeMs: s.timeframeMs,
        from: s.ts[0]!,
        to: last + s.timeframeMs,
        seed: rng.int(2 ** 31),
        startPrice: s.open[0]!,
        model: { kind: 'gbm', drift: models[j]!.drift, vol: models[j]!.vol },
        volume: { base: medianVolume(s), sigma: 0.5, absReturnBeta: 0.3 },
      });
      return bars;
    });
    const { equity } = rerun(altered);
    const r = equityReturns(equity);
    onPath?.(p, r, r.length);
    const st = statsOfReturns(r, r.length, periodsPerYear);
    c.fr[p] = st.finalReturn;
    c.dd[p] = st.maxDrawdown;
    c.sr[p] = st.sharpe;
  }
  const obs = equityReturns(observedEquity);
  return finish(o.method, o, c, statsOfReturns(obs, obs.length, periodsPerYear), settings);
}
