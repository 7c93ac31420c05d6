import type { z } from 'zod';
import { InputError, describeIssues } from '../engine/errors.ts';
import { timeframeToMs } from '../engine/timeframe.ts';
import type { Metrics } from '../engine/metrics.ts';
import { backtestRequestSchema, runLoaded, type BacktestReport, type BacktestRequest } from './backtest.ts';
import type { LoadedStrategy } from './strategy-loader.ts';
import type { Market } from './market-data.ts';
import { withAgentRows } from './agents/environment.ts';

/**
 * One parameter set on data already in memory: the unit of work of sweeps, walk-forward windows
 * and Monte Carlo re-runs. The data is loaded once (SharedArrayBuffer-backed, so worker threads
 * read the same memory) and every run only varies params and seed.
 */

/** Everything of a backtest request but the strategy's params and the seed (validated). */
export type RunConfig = z.output<typeof backtestRequestSchema>;

export function parseRunConfig(request: BacktestRequest): RunConfig {
  const r = backtestRequestSchema.safeParse(request);
  if (!r.success) throw new InputError(describeIssues(r.error, 'request'));
  try {
    timeframeToMs(r.data.timeframe);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  return r.data;
}

/** A full backtest of one parameter set: metrics, equity curve (`run.curve`), trades, hashes. */
export function runParams(loaded: LoadedStrategy, config: RunConfig, market: Market, params: Readonly<Record<string, unknown>>, seed = config.seed): BacktestReport {
  // A sweep keeps one metrics row per run, not its audit trail: the run that gets promoted is
  // re-run by `cs backtest`, which journals every decision. Hash-chaining thousands of trial runs'
  // journals would cost more than the runs themselves.
  return withAgentRows(market, () => runLoaded(loaded, { ...config, params: { ...params }, seed, journal: false }, market.series, market.datasets));
}

/** What a sweep keeps of a run (a row in DuckDB, a message between threads or machines). */
export interface RunSummary {
  /** Parameters as the strategy saw them (schema output, defaults filled in). */
  readonly params: unknown;
  readonly seed: number;
  readonly metrics: Metrics;
  readonly resultHash: string;
  /**
   * Simple returns of the equity curve, as float32: a column of the sweep's T×N matrix for
   * CSCV/PBO and the moments for its deflated Sharpe. Per bar up to MAX_RETURN_ROWS bars; a longer
   * run keeps returns compounded over `returnsStep` bars (see curveReturns). Float32 halves the
   * storage of a large sweep; its 7 significant digits do not move a rank or a Sharpe ratio.
   */
  readonly returns: Float32Array;
}

export function summarise(r: BacktestReport): RunSummary {
  return { params: r.params, seed: r.seed, metrics: r.metrics, resultHash: r.resultHash, returns: curveReturns(r.run.curve.equity) };
}

/**
 * At most this many returns per run: 64 KB of float32s, so a 1,000-run sweep on a year of 1-minute
 * bars stores 64 MB instead of 2 GB. CSCV needs rows per block, not per bar, and a coarser clock is
 * as valid for it (the paper's own examples use daily returns).
 */
export const MAX_RETURN_ROWS = 16_384;

/** Bars per stored return for a curve of `points` equity points: 1 unless the run is longer than MAX_RETURN_ROWS bars. */
export function returnsStep(points: number, maxRows = MAX_RETURN_ROWS): number {
  return Math.max(1, Math.ceil((points - 1) / maxRows));
}

/**
 * Returns of the equity curve over `step` bars each (equity[i + step] / equity[i] − 1: compounding
 * exactly), aligned on the last point; the oldest (points − 1) mod step bars are left out.
 */
export function curveReturns(equity: ArrayLike<number>, maxRows = MAX_RETURN_ROWS): Float32Array {
  const step = returnsStep(equity.length, maxRows);
  const rows = Math.max(0, Math.floor((equity.length - 1) / step));
  const first = equity.length - 1 - rows * step;
  const out = new Float32Array(rows);
  for (let i = 0; i < rows; i++) out[i] = equity[first + (i + 1) * step]! / equity[first + i * step]! - 1;
  return out;
}
