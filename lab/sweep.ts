import { InputError } from '../engine/errors.ts';
import { hashValue, sha256Hex, canonicalJson } from '../engine/hash.ts';
import type { Store } from '../datasets/store.ts';
import { beginSweep, loadSweepRunsWithReturns, METRIC_COLUMNS, saveSweepRuns, type MetricName, type SweepRow } from '../datasets/sweeps.ts';
import { checkParams, pointKey, spaceSize, withFixed, type Params, type SearchSpace } from './search-space.ts';
import { allowedGrid, optimise, DEFAULT_TPE_BATCH, type Method } from './optimise.ts';
import { createExecutor, type Executor, type RunTask } from './pool.ts';
import type { RunConfig, RunSummary } from './evaluate.ts';
import type { Market } from './market-data.ts';
import { loadStrategy } from './strategy-loader.ts';
import { agentRowsHash } from './agents/environment.ts';
import { sweepOverfitting, type SweepOverfitting } from './sweep-overfitting.ts';

/**
 * A sweep: an optimiser proposes parameter sets, an executor (worker threads, the current thread
 * or a Redis queue) runs them on market data held in memory, and every run becomes one row in
 * DuckDB. The sweep id is derived from everything that decides the runs, and each run's key from
 * the sweep id and its parameters, so rerunning an interrupted sweep skips what is stored and
 * reproduces the same proposals (TPE sees the stored scores exactly as it saw them the first time).
 */

/** Metrics where smaller is better; every other metric is maximised. */
export const LOWER_IS_BETTER: ReadonlySet<MetricName> = new Set(['volatility', 'maxDrawdownDuration', 'maxDrawdownDurationMs']);

export function parseMetric(name: string): MetricName {
  if (!(METRIC_COLUMNS as readonly string[]).includes(name)) throw new InputError(`--metric: unknown metric "${name}" (one of: ${METRIC_COLUMNS.join(', ')})`);
  return name as MetricName;
}

/** What executors for a sweep are told: enough for a worker anywhere to reproduce a run. */
export interface SweepContext {
  readonly sweepId: string;
  readonly strategy: string;
  readonly codeHash: string;
  readonly config: RunConfig;
  readonly market: Market;
}

export interface SweepProgress {
  readonly done: number;
  readonly total: number;
  /** Runs taken from the store instead of being run again. */
  readonly resumed: number;
}

export interface SweepOptions {
  /** Built-in strategy name or file path. */
  readonly strategy: string;
  /** Backtest settings shared by every run (its `params` are ignored; `seed` is the run seed). */
  readonly config: RunConfig;
  readonly market: Market;
  readonly space: SearchSpace;
  readonly method: Method;
  readonly trials?: number;
  /** Seed of the optimiser's proposals (random, tpe); the backtests use `config.seed`. */
  readonly seed?: number;
  readonly metric?: MetricName;
  /** Worker threads; 0 runs in the calling thread. Ignored when `executor` is given. */
  readonly workers?: number;
  /** Run somewhere else (a Redis queue), or reuse an executor built on the same market. */
  readonly executor?: Executor | ((ctx: SweepContext) => Promise<Executor>);
  /** Results are stored here, and runs already stored under the sweep id are not repeated. */
  readonly store?: Store;
  readonly sweepId?: string;
  readonly batchSize?: number;
  /** How many best runs the report lists. */
  readonly top?: number;
  /** CSCV blocks S for the PBO in the report (16 by default); reporting only, not part of the sweep id. */
  readonly pboBlocks?: number;
  readonly signal?: AbortSignal;
  onProgress?(p: SweepProgress): void;
}

export interface SweepResult {
  readonly sweepId: string;
  readonly strategy: string;
  readonly codeHash: string;
  readonly datasetHash: string;
  readonly method: Method;
  readonly metric: MetricName;
  /** Parameter sets evaluated by this sweep (run now or earlier): the trial count for a deflated Sharpe. */
  readonly trials: number;
  readonly ran: number;
  readonly resumed: number;
  /** Combinations the strategy's constraints rejected (never run). */
  readonly skippedInvalid: number;
  /** Every run in proposal order. */
  readonly runs: readonly SweepRow[];
  /** The best `top` runs by the metric, best first. */
  readonly best: readonly SweepRow[];
  /** DSR of the best run by Sharpe and PBO by CSCV over every run. */
  readonly overfitting: SweepOverfitting;
}

/** The id of a sweep: a hash of everything that decides which runs it makes and their results. */
export function sweepIdOf(def: unknown): string {
  return `sw-${hashValue(def).slice(0, 16)}`;
}

/** A run's key: the same sweep and parameters always give the same key (queue job id, primary key). */
export function runKeyOf(sweepId: string, point: Params): string {
  return `r-${sha256Hex(`${sweepId}\n${pointKey(point)}`).slice(0, 32)}`;
}

/** A score for the optimiser: larger is better; a non-finite metric (stored as null) ranks last. */
function scoreOf(metrics: Readonly<Record<string, unknown>>, metric: MetricName): number {
  const v = metrics[metric];
  if (typeof v !== 'number' || !Number.isFinite(v)) return NaN;
  return LOWER_IS_BETTER.has(metric) ? -v : v;
}

/** The definition hashed into the sweep id and stored beside it. */
function definitionOf(o: SweepOptions, codeHash: string, metric: MetricName): Record<string, unknown> {
  const { params: _p, strategy: _s, ...config } = o.config;
  return {
    strategy: o.strategy.startsWith('.') || o.strategy.includes('/') ? 'file' : o.strategy,
    codeHash,
    datasetHash: o.market.datasetHash,
    // Agents read sentiment: a sweep with it must not share ids (and stored runs) with one without.
    ...(o.market.sentiment ? { sentimentHash: agentRowsHash(o.market) } : {}),
    config,
    space: o.space,
    method: o.method,
    ...(o.method === 'grid' ? {} : { trials: o.trials, seed: o.seed ?? 1 }),
    ...(o.method === 'tpe' ? { batchSize: o.batchSize ?? DEFAULT_TPE_BATCH, metric } : {}),
  };
}

export async function runSweep(o: SweepOptions): Promise<SweepResult> {
  const metric = o.metric ?? 'sharpe';
  const loaded = await loadStrategy(o.strategy);
  const strategy = loaded.strategy;
  const definition = definitionOf(o, loaded.codeHash, metric);
  const sweepId = o.sweepId ?? sweepIdOf(definition);
  const isValid = (p: Params): boolean => checkParams(strategy, withFixed(o.space, p)).ok;
  // Bad input must change nothing: an empty space is refused before the sweep is recorded.
  const total = o.method === 'grid' ? allowedGrid(o.space, isValid).points.length : Math.min(o.trials ?? 0, spaceSize(o.space));
  if (o.method !== 'grid' && (!o.trials || o.trials < 1)) throw new InputError(`--trials must be a positive integer for --method ${o.method}`);

  const stored = new Map<string, SweepRow>();
  if (o.store) {
    await beginSweep(o.store, { sweepId, strategy: strategy.name, codeHash: loaded.codeHash, datasetHash: o.market.datasetHash, definition });
    // A run stored without its returns (by an older version) is run again so the PBO has every column.
    for (const r of await loadSweepRunsWithReturns(o.store, sweepId)) if (r.returns) stored.set(r.runKey, r);
  }
  const ctx: SweepContext = { sweepId, strategy: o.strategy, codeHash: loaded.codeHash, config: o.config, market: o.market };
  const own = o.executor === undefined || typeof o.executor === 'function';
  const executor: Executor | undefined = typeof o.executor === 'object' ? o.executor : undefined;
  let exec = executor;
  const getExecutor = async (): Promise<Executor> => {
    exec ??= typeof o.executor === 'function' ? await o.executor(ctx) : await createExecutor({ strategy: o.strategy, config: o.config, market: o.market, workers: o.workers ?? 1 });
    return exec;
  };

  const runs: SweepRow[] = [];
  let seq = 0;
  let ran = 0;
  let resumed = 0;
  const pending: SweepRow[] = [];
  let flushing: Promise<unknown> = Promise.resolve();
  let lastFlush = performance.now();
  const flush = async (): Promise<void> => {
    lastFlush = performance.now();
    const rows = pending.splice(0);
    if (o.store && rows.length) {
      const store = o.store;
      flushing = flushing.then(() => saveSweepRuns(store, rows));
    }
    await flushing;
  };
  const toRow = (key: string, s: number, summary: RunSummary): SweepRow => ({
    sweepId,
    runKey: key,
    seq: s,
    params: summary.params,
    seed: summary.seed,
    datasetHash: o.market.datasetHash,
    codeHash: loaded.codeHash,
    resultHash: summary.resultHash,
    metrics: summary.metrics as unknown as Record<string, unknown>,
    returns: summary.returns,
  });

  const evaluate = async (points: readonly Params[]): Promise<number[]> => {
    const rows = new Array<SweepRow>(points.length);
    const tasks: (RunTask & { index: number; seq: number })[] = [];
    points.forEach((p, i) => {
      const key = runKeyOf(sweepId, p);
      const s = seq++;
      const hit = stored.get(key);
      if (hit) {
        rows[i] = hit;
        resumed++;
      } else tasks.push({ key, params: withFixed(o.space, p), seed: o.config.seed, index: i, seq: s });
    });
    if (resumed + ran > 0 || tasks.length < points.length) o.onProgress?.({ done: resumed + ran, total, resumed });
    if (tasks.length) {
      const e = await getExecutor();
      await e.run(
        tasks,
        async ({ task, summary }) => {
          const t = task as (typeof tasks)[number];
          const row = toRow(t.key, t.seq, summary);
          rows[t.index] = row;
          ran++;
          pending.push(row);
          // Batched for speed, but never more than a second's work is lost if the process dies.
          if (pending.length >= 64 || performance.now() - lastFlush > 1000) void flush();
          o.onProgress?.({ done: resumed + ran, total, resumed });
        },
        o.signal,
      );
    }
    runs.push(...rows);
    return rows.map((r) => scoreOf(r.metrics, metric));
  };

  let skippedInvalid: number;
  try {
    const result = await optimise({
      space: o.space,
      method: o.method,
      ...(o.trials !== undefined ? { trials: o.trials } : {}),
      seed: o.seed ?? 1,
      batchSize: o.batchSize ?? DEFAULT_TPE_BATCH,
      isValid,
      evaluate,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    skippedInvalid = result.skippedInvalid;
  } finally {
    // Whatever happened (abort, a failing run), keep every finished run so a rerun resumes.
    await flush();
    if (own && exec) await exec.close();
  }
  const ranked = runs
    .map((r) => ({ r, s: scoreOf(r.metrics, metric) }))
    .sort((a, b) => (b.s === b.s ? b.s : -Infinity) - (a.s === a.s ? a.s : -Infinity) || a.r.seq - b.r.seq);
  return {
    sweepId,
    strategy: strategy.name,
    codeHash: loaded.codeHash,
    datasetHash: o.market.datasetHash,
    method: o.method,
    metric,
    trials: runs.length,
    ran,
    resumed,
    skippedInvalid,
    runs,
    best: ranked.slice(0, o.top ?? 10).map((x) => x.r),
    overfitting: sweepOverfitting(runs, o.pboBlocks !== undefined ? { blocks: o.pboBlocks } : {}),
  };
}

/** The JSON a user, a CI job or the overfitting statistics read. */
export function sweepJson(r: SweepResult): Record<string, unknown> {
  return {
    sweepId: r.sweepId,
    strategy: r.strategy,
    codeHash: r.codeHash,
    datasetHash: r.datasetHash,
    method: r.method,
    metric: r.metric,
    trials: r.trials,
    ran: r.ran,
    resumed: r.resumed,
    skippedInvalid: r.skippedInvalid,
    best: r.best.map((b) => ({ runKey: b.runKey, params: b.params, [r.metric]: b.metrics[r.metric], metrics: b.metrics, resultHash: b.resultHash, seed: b.seed })),
    overfitting: r.overfitting,
  };
}

/** Identity of a set of results independent of order and storage: for comparing local and distributed sweeps. */
export function resultsFingerprint(runs: readonly SweepRow[]): string {
  return hashValue(runs.map((r) => [r.runKey, r.resultHash, canonicalJson(r.params)]).sort());
}
