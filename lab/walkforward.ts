import { z } from 'zod';
import type { ClosedTrade } from '../engine/metrics.ts';
import type { OrderGate } from '../engine/backtest.ts';
import { computeMetrics, type Metrics } from '../engine/metrics.ts';
import { periodsPerYear, timeframeToMs } from '../engine/timeframe.ts';
import { hashValue } from '../engine/hash.ts';
import { InputError, describeIssues } from '../engine/errors.ts';
import { deflatedSharpe, moments, probabilisticSharpe, probabilityOfOverfitting, varianceOf } from '../engine/overfitting.ts';
import { lowerBound, sliceBars } from '../datasets/columns.ts';
import { runLoaded, type backtestRequestSchema } from './backtest.ts';
import type { LoadedStrategy } from './strategy-loader.ts';
import { checkParams, pointKey, withFixed, type Params, type SearchSpace } from './search-space.ts';
import { optimise, type Method } from './optimise.ts';
import { runSweep } from './sweep.ts';
import { BacktestPool } from './pool.ts';
import { equityReturns } from './montecarlo.ts';
import { withAgentRows } from './agents/environment.ts';
import type { Market } from './market-data.ts';

/**
 * Walk-forward analysis: optimise on an in-sample (IS) window, trade the chosen parameters on the
 * out-of-sample (OOS) window that follows, move on, and stitch the OOS pieces into one curve.
 *
 * Windows are in time. Rolling: IS = [t0 + k·step, + is), OOS = [IS end, + oos). Anchored: every IS
 * starts at t0 and grows by `step`. `step` must be ≥ `oos` so OOS windows never overlap (an
 * overlap could not be stitched into one account).
 *
 * What the OOS run may see (the look-ahead rule): it replays the `warmupBars` bars right before
 * the OOS window (by default the whole IS window) and then the OOS bars, never anything after the
 * OOS end. During the warm-up every order is refused by a gate, so indicators are warm at the first
 * OOS bar but no position, fill or fee comes from a pre-OOS decision; the first order that can
 * pass is decided at the close of the first OOS bar. The OOS equity curve starts at the OOS start
 * at the starting cash. The optimiser only ever sees the IS bars. A poisoned-future test changes
 * bars after a window and checks that nothing in or before it moves.
 */

/** Market data in memory: the sweep's, so windows, trials and workers share one shape. */
export type { Market };

/** A validated backtest request (fees, cash, seed…); each trial only changes the params. */
export type RunConfig = z.output<typeof backtestRequestSchema>;

const METRIC_NAMES = ['sharpe', 'sortino', 'calmar', 'totalReturn', 'cagr', 'profitFactor', 'expectancy', 'winRate'] as const;
export type Objective = (typeof METRIC_NAMES)[number];

export const walkForwardOptionsSchema = z
  .object({
    isMs: z.number().int().positive(),
    oosMs: z.number().int().positive(),
    /** Default: the OOS length (back-to-back OOS windows). */
    stepMs: z.number().int().positive().optional(),
    anchored: z.boolean().default(false),
    /** Bars replayed before each OOS window to warm indicators; default: the IS window's bars. */
    warmupBars: z.number().int().min(0).optional(),
    objective: z.enum(METRIC_NAMES).default('sharpe'),
    method: z.enum(['grid', 'random', 'tpe']).default('grid'),
    /** Budget per window for random and tpe. */
    trials: z.number().int().positive().optional(),
    /** CSCV blocks for the PBO over the whole span (0 turns the PBO off). */
    pboBlocks: z.number().int().min(0).default(16),
  })
  .refine((o) => (o.stepMs ?? o.oosMs) >= o.oosMs, { message: 'step must be at least the OOS length (overlapping OOS windows cannot be stitched)', path: ['stepMs'] });

export type WalkForwardOptions = z.input<typeof walkForwardOptionsSchema>;

/** Given the IS bars, the parameters to trade next. The default runs `optimise` inline. */
export interface WindowChoice {
  /** The full parameter set (fixed values included) chosen for the OOS window. */
  readonly params: Params;
  /** Objective value of the chosen params on the IS window. */
  readonly score: number;
  /** Metrics of the chosen params on the IS window. */
  readonly isMetrics: Metrics;
  /** Per-period Sharpe ratio of every trial run on the IS window (for the deflated Sharpe ratio). */
  readonly trialSharpes: Float64Array;
  /** Every trial's point, in the order run. */
  readonly points: readonly Params[];
}

/**
 * `market` is the whole walk-forward's data, of which `isMarket` is a slice: an optimiser may hold
 * something built on it across windows (a worker pool), released by `close`, which `walkForward`
 * calls once it has run every window, also when one fails. A closed optimiser may be called again.
 */
export type WindowOptimiser = ((isMarket: Market, space: SearchSpace, market?: Market) => Promise<WindowChoice>) & {
  close?(): Promise<void>;
};

export interface WalkForwardInput {
  readonly loaded: LoadedStrategy;
  readonly config: RunConfig;
  readonly market: Market;
  readonly space: SearchSpace;
  readonly options: WalkForwardOptions;
  /** Replace the inline optimiser (e.g. by a pooled sweep); same contract. */
  readonly optimiser?: WindowOptimiser;
}

export interface WindowResult {
  readonly index: number;
  readonly isFrom: number;
  readonly isTo: number;
  readonly oosFrom: number;
  readonly oosTo: number;
  readonly params: Params;
  readonly trials: number;
  readonly isScore: number;
  readonly isMetrics: Metrics;
  readonly oosMetrics: Metrics;
  /** OOS annualised return / IS annualised return of the chosen params (NaN when IS ≤ 0). */
  readonly efficiency: number;
  /** Hash of this window's OOS equity and trades: equal hashes, equal OOS results. */
  readonly oosHash: string;
}

export interface ParamStability {
  readonly mean: number;
  readonly std: number;
  /** std / |mean| across windows (NaN for text parameters or a zero mean). */
  readonly cv: number;
  readonly distinct: number;
}

export interface WalkForwardReport {
  readonly id: string;
  readonly strategy: string;
  readonly codeHash: string;
  readonly datasetHash: string;
  readonly timeframe: string;
  readonly symbols: readonly string[];
  readonly options: z.output<typeof walkForwardOptionsSchema>;
  readonly windows: readonly WindowResult[];
  /** The OOS windows chained into one account starting at the configured cash. */
  readonly stitched: { readonly ts: Float64Array; readonly equity: Float64Array };
  readonly oosMetrics: Metrics;
  readonly efficiency: {
    /** Annualised stitched OOS return / mean annualised IS return of the chosen params. */
    readonly returnRatio: number;
    /** Stitched OOS Sharpe / mean IS Sharpe of the chosen params. */
    readonly sharpeRatio: number;
  };
  readonly stability: {
    readonly params: Readonly<Record<string, ParamStability>>;
    /** Share of window transitions where the chosen parameters changed. */
    readonly changeRate: number;
  };
  readonly overfitting: {
    /** PSR of the stitched OOS returns against SR* = 0. */
    readonly psr: number;
    /** DSR of the stitched OOS returns, N = trials per window, V = mean IS variance of trial Sharpe ratios. */
    readonly dsr: number;
    readonly expectedMaxSharpe: number;
    readonly trials: number;
    /** CSCV over the whole span's per-bar returns of every trial point; null when too few rows or points. */
    readonly pbo: number | null;
    readonly pboCombinations: number;
  };
}

interface WindowSpec {
  readonly isFrom: number;
  readonly isTo: number;
  readonly oosFrom: number;
  readonly oosTo: number;
}

export function planWindows(t0: number, tEnd: number, o: z.output<typeof walkForwardOptionsSchema>): WindowSpec[] {
  const step = o.stepMs ?? o.oosMs;
  const out: WindowSpec[] = [];
  for (let k = 0; ; k++) {
    const isFrom = o.anchored ? t0 : t0 + k * step;
    const isTo = o.anchored ? t0 + o.isMs + k * step : isFrom + o.isMs;
    const oosTo = isTo + o.oosMs;
    if (oosTo > tEnd) break;
    out.push({ isFrom, isTo, oosFrom: isTo, oosTo });
  }
  return out;
}

function sliceMarket(m: Market, from: number, to: number): Market {
  const series = m.series.map((s) => sliceBars(s, lowerBound(s.ts, from), lowerBound(s.ts, to)));
  return { ...m, series };
}

function sliceByBars(m: Market, oosFrom: number, to: number, warmup: number): Market {
  const series = m.series.map((s) => {
    const a = lowerBound(s.ts, oosFrom);
    return sliceBars(s, Math.max(0, a - warmup), lowerBound(s.ts, to));
  });
  return { ...m, series };
}

function barCount(m: Market): number {
  return m.series.reduce((n, s) => n + s.length, 0);
}

/** Refuses every order decided before `from` (a bar close at `from` is still warm-up). */
function warmupGate(from: number): OrderGate {
  return {
    check: (_order, view) =>
      view.ts > from ? { ok: true } : { ok: false, breach: { limit: 'walk-forward warm-up', message: `no orders before the OOS window opens at ${new Date(from).toISOString()}` } },
  };
}

function metricValue(m: Metrics, objective: Objective): number {
  const v = m[objective];
  return typeof v === 'number' ? v : NaN;
}

/** The default optimiser: every trial run inline on the IS bars with `optimise` (grid, random or TPE). */
export function inlineOptimiser(loaded: LoadedStrategy, config: RunConfig, o: z.output<typeof walkForwardOptionsSchema>): WindowOptimiser {
  const ppy = periodsPerYear(timeframeToMs(config.timeframe));
  return async (isMarket, space) => {
    const reports = new Map<string, { params: Params; metrics: Metrics }>();
    const points: Params[] = [];
    const result = await optimise({
      space,
      method: o.method as Method,
      ...(o.trials !== undefined ? { trials: o.trials } : {}),
      seed: config.seed,
      isValid: (p) => checkParams(loaded.strategy, withFixed(space, p)).ok,
      evaluate: async (pts) =>
        pts.map((p) => {
          const params = withFixed(space, p);
          const r = runLoaded(loaded, { ...config, params: { ...params } }, isMarket.series, isMarket.datasets);
          reports.set(pointKey(p), { params, metrics: r.metrics });
          points.push(p);
          return metricValue(r.metrics, o.objective);
        }),
    });
    const best = result.best;
    if (!best) throw new InputError('walk-forward: the optimiser ran no trial in a window');
    const chosen = reports.get(pointKey(best.point))!;
    const trialSharpes = Float64Array.from(points, (p) => reports.get(pointKey(p))!.metrics.sharpe / Math.sqrt(ppy));
    return { params: chosen.params, score: best.value, isMetrics: chosen.metrics, trialSharpes, points };
  };
}

/**
 * The same contract on the sweep runner (lab/sweep.ts): trials of each window on a worker pool
 * (`workers` threads; 0 = this thread). The pool is started at the first window, over the whole
 * market, and every window's trials run on it as row ranges of the shared columns: a pool per
 * window would pay the threads' start-up (tsx, zod, the engine, the strategy) once per window.
 */
export function sweepOptimiser(strategyRef: string, config: RunConfig, o: z.output<typeof walkForwardOptionsSchema>, workers: number): WindowOptimiser {
  const ppy = periodsPerYear(timeframeToMs(config.timeframe));
  let pool: { readonly market: Market; readonly ready: Promise<BacktestPool> } | undefined;
  const close = async (): Promise<void> => {
    const p = pool;
    pool = undefined;
    // A pool that failed to start has nothing to release; its error was thrown to the window.
    const started = await p?.ready.catch(() => undefined);
    await started?.close();
  };
  const poolFor = async (market: Market): Promise<BacktestPool> => {
    if (pool && pool.market !== market) await close();
    pool ??= { market, ready: BacktestPool.create({ strategy: strategyRef, config, market, workers }) };
    return pool.ready;
  };
  const optimiser = async (isMarket: Market, space: SearchSpace, market: Market = isMarket): Promise<WindowChoice> => {
    const executor = workers > 0 ? (await poolFor(market)).on(isMarket) : undefined;
    const r = await runSweep({
      strategy: strategyRef,
      config,
      market: isMarket,
      space,
      method: o.method as Method,
      ...(o.trials !== undefined ? { trials: o.trials } : {}),
      seed: config.seed,
      metric: o.objective,
      workers,
      ...(executor ? { executor } : {}),
      top: 1,
    });
    const best = r.best[0];
    if (!best) throw new InputError('walk-forward: the sweep ran no trial in a window');
    const metrics = (row: { metrics: unknown }): Metrics => row.metrics as Metrics;
    return {
      params: best.params as Params,
      score: metricValue(metrics(best), o.objective),
      isMetrics: metrics(best),
      trialSharpes: Float64Array.from(r.runs, (row) => metrics(row).sharpe / Math.sqrt(ppy)),
      points: r.runs.map((row) => row.params as Params),
    };
  };
  return Object.assign(optimiser, { close });
}

export async function walkForward(input: WalkForwardInput): Promise<WalkForwardReport> {
  // The inline trials, the OOS runs and the PBO runs call runLoaded directly: they read the rows from here.
  return withAgentRows(input.market, () => walkForwardIn(input));
}

async function walkForwardIn(input: WalkForwardInput): Promise<WalkForwardReport> {
  const parsed = walkForwardOptionsSchema.safeParse(input.options);
  if (!parsed.success) throw new InputError(`walk-forward: ${describeIssues(parsed.error, '(options)')}`);
  const o = parsed.data;
  const { loaded, config, market, space } = input;
  const ppy = periodsPerYear(timeframeToMs(config.timeframe));
  const live = market.series.filter((s) => s.length > 0);
  if (live.length === 0) throw new InputError('walk-forward: no bars');
  const t0 = Math.min(...live.map((s) => s.ts[0]!));
  const tEnd = Math.max(...live.map((s) => s.ts[s.length - 1]! + s.timeframeMs));
  const plan = planWindows(t0, tEnd, o);
  if (plan.length === 0) {
    const days = (ms: number): string => `${(ms / 86_400_000).toFixed(1)}d`;
    throw new InputError(`walk-forward: the data spans ${days(tEnd - t0)}, too short for one IS (${days(o.isMs)}) + OOS (${days(o.oosMs)}) window`);
  }
  const optimiser = input.optimiser ?? inlineOptimiser(loaded, config, o);

  const windows: WindowResult[] = [];
  const stTs: number[] = [];
  const stEq: number[] = [];
  const isSharpeVars: number[] = [];
  let trialsPerWindow = 0;
  let firstPoints: readonly Params[] = [];
  let account = config.cash;
  const allTrades: ClosedTrade[] = [];
  // The optimiser may hold worker threads across windows: released here, also when a window fails.
  try {
    for (let k = 0; k < plan.length; k++) {
      const w = plan[k]!;
      const isMarket = sliceMarket(market, w.isFrom, w.isTo);
      if (barCount(isMarket) < 2) throw new InputError(`walk-forward window ${k}: fewer than 2 IS bars in [${new Date(w.isFrom).toISOString()}, ${new Date(w.isTo).toISOString()})`);
      const choice = await optimiser(isMarket, space, market);
      if (k === 0) firstPoints = choice.points;
      trialsPerWindow = Math.max(trialsPerWindow, choice.trialSharpes.length);
      isSharpeVars.push(varianceOf(choice.trialSharpes));

      const warmup = o.warmupBars ?? Math.max(...isMarket.series.map((s) => s.length));
      const oosMarket = sliceByBars(market, w.oosFrom, w.oosTo, warmup);
      const run = runLoaded(loaded, { ...config, params: { ...choice.params } }, oosMarket.series, oosMarket.datasets, { gate: warmupGate(w.oosFrom) }).run;
      const i0 = lowerBound(run.curve.ts, w.oosFrom);
      const ts = run.curve.ts.subarray(i0);
      const eq = run.curve.equity.subarray(i0);
      const trades = run.trades.filter((t) => t.entryTs >= w.oosFrom);
      const oosMetrics = computeMetrics({ equity: eq, ts, periodsPerYear: ppy, trades });
      allTrades.push(...trades);
      const efficiency = choice.isMetrics.cagr > 0 ? oosMetrics.cagr / choice.isMetrics.cagr : NaN;
      windows.push({
        index: k,
        ...w,
        params: choice.params,
        trials: choice.trialSharpes.length,
        isScore: choice.score,
        isMetrics: choice.isMetrics,
        oosMetrics,
        efficiency,
        oosHash: hashValue({ ts: Array.from(ts), eq: Array.from(eq), trades }),
      });
      // Chain: this window's curve scaled so it starts where the account stands.
      if (stTs.length === 0) {
        stTs.push(ts[0]!);
        stEq.push(account);
      }
      const start = account;
      for (let i = 1; i < eq.length; i++) {
        stTs.push(ts[i]!);
        stEq.push(start * (eq[i]! / eq[0]!));
      }
      account = stEq[stEq.length - 1]!;
    }
  } finally {
    await optimiser.close?.();
  }

  const stitched = { ts: Float64Array.from(stTs), equity: Float64Array.from(stEq) };
  const oosMetrics = computeMetrics({ equity: stitched.equity, ts: stitched.ts, periodsPerYear: ppy, trades: allTrades });
  const meanIs = (f: (m: Metrics) => number): number => windows.reduce((a, w) => a + f(w.isMetrics), 0) / windows.length;
  const isCagr = meanIs((m) => m.cagr);
  const isSharpe = meanIs((m) => m.sharpe);

  const returns = equityReturns(stitched.equity);
  const mo = moments(returns);
  const sr = mo.std > 0 ? mo.mean / mo.std : NaN;
  const meanVar = isSharpeVars.reduce((a, v) => a + v, 0) / isSharpeVars.length;
  const dsr = deflatedSharpe({ sharpe: sr, n: mo.n, skew: mo.skew, kurtosis: mo.kurtosis, trials: Math.max(1, trialsPerWindow), varianceOfTrialSharpes: meanVar });
  const pbo = spanPbo(loaded, config, market, space, firstPoints, o.pboBlocks);

  const body = {
    strategy: loaded.strategy.name,
    codeHash: loaded.codeHash,
    datasetHash: market.datasetHash,
    timeframe: config.timeframe,
    symbols: market.series.map((s) => s.symbol),
    options: o,
    windows,
    stitched,
    oosMetrics,
    efficiency: { returnRatio: isCagr > 0 ? oosMetrics.cagr / isCagr : NaN, sharpeRatio: isSharpe > 0 ? oosMetrics.sharpe / isSharpe : NaN },
    stability: stabilityOf(windows.map((w) => w.params)),
    overfitting: {
      psr: probabilisticSharpe({ sharpe: sr, n: mo.n, skew: mo.skew, kurtosis: mo.kurtosis }),
      dsr: dsr.dsr,
      expectedMaxSharpe: dsr.expectedMaxSharpe,
      trials: trialsPerWindow,
      pbo: pbo?.pbo ?? null,
      pboCombinations: pbo?.combinations ?? 0,
    },
  };
  const id = `wf-${hashValue({ ...body, config: { ...config, params: {} }, space }).slice(0, 16)}`;
  return { id, ...body };
}

/**
 * PBO of the selection itself: every trial point run over the whole span, its per-bar returns a
 * column of the CSCV matrix. Null when fewer than 2 points or too few bars for the blocks.
 */
function spanPbo(loaded: LoadedStrategy, config: RunConfig, market: Market, space: SearchSpace, points: readonly Params[], blocks: number) {
  if (blocks === 0 || points.length < 2) return undefined;
  const cols = points.map((p) => equityReturns(runLoaded(loaded, { ...config, params: { ...withFixed(space, p) } }, market.series, market.datasets).run.curve.equity));
  const T = Math.min(...cols.map((c) => c.length));
  if (T < 2 * blocks) return undefined;
  return probabilityOfOverfitting(
    cols.map((c) => c.subarray(c.length - T)),
    { blocks },
  );
}

export function stabilityOf(chosen: readonly Params[]): WalkForwardReport['stability'] {
  const names = [...new Set(chosen.flatMap((p) => Object.keys(p)))].sort();
  const params: Record<string, ParamStability> = {};
  for (const name of names) {
    const vals = chosen.map((p) => p[name]);
    const distinct = new Set(vals.map((v) => JSON.stringify(v))).size;
    if (vals.every((v) => typeof v === 'number')) {
      const xs = vals as number[];
      const mean = xs.reduce((a, v) => a + v, 0) / xs.length;
      const std = Math.sqrt(xs.reduce((a, v) => a + (v - mean) ** 2, 0) / xs.length);
      params[name] = { mean, std, cv: mean !== 0 ? std / Math.abs(mean) : NaN, distinct };
    } else {
      params[name] = { mean: NaN, std: NaN, cv: NaN, distinct };
    }
  }
  let changes = 0;
  for (let k = 1; k < chosen.length; k++) if (pointKey(chosen[k]!) !== pointKey(chosen[k - 1]!)) changes++;
  return { params, changeRate: chosen.length > 1 ? changes / (chosen.length - 1) : 0 };
}

/** The JSON a user sees: the report without the bulky curve, times as ISO strings. */
export function walkForwardJson(r: WalkForwardReport): Record<string, unknown> {
  const iso = (t: number): string => new Date(t).toISOString();
  return {
    id: r.id,
    strategy: r.strategy,
    codeHash: r.codeHash,
    datasetHash: r.datasetHash,
    symbols: r.symbols,
    timeframe: r.timeframe,
    options: r.options,
    windows: r.windows.map((w) => ({ ...w, isFrom: iso(w.isFrom), isTo: iso(w.isTo), oosFrom: iso(w.oosFrom), oosTo: iso(w.oosTo) })),
    oosMetrics: r.oosMetrics,
    efficiency: r.efficiency,
    stability: r.stability,
    overfitting: r.overfitting,
    stitched: { points: r.stitched.ts.length, from: iso(r.stitched.ts[0]!), to: iso(r.stitched.ts[r.stitched.ts.length - 1]!), finalEquity: r.stitched.equity[r.stitched.equity.length - 1] },
  };
}
