import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { InputError } from '../engine/errors.ts';
import type { BarField } from '../datasets/columns.ts';
import type { Params } from './search-space.ts';
import { runParams, summarise, type RunConfig, type RunSummary } from './evaluate.ts';
import { shareMarket, type Market } from './market-data.ts';
import { loadStrategy, type LoadedStrategy } from './strategy-loader.ts';

/**
 * A Piscina pool of worker threads running backtests of one strategy on one market. The market
 * goes to every worker once, as SharedArrayBuffer views (no per-worker copy); a task is then just
 * params + seed, and a result is the run's summary. Each run is a pure function of its task, so
 * the results do not depend on how many workers there are or which one ran what.
 */

export interface PoolWorkerData {
  readonly strategy: string;
  readonly codeHash: string;
  readonly config: RunConfig;
  readonly market: Market;
}

export type PoolTask =
  | { readonly kind: 'run'; readonly params: Params; readonly seed: number; readonly window?: PoolWindow }
  /** Reads one value and sums a column in the worker: proves the worker sees the shared memory. */
  | { readonly kind: 'probe'; readonly series: number; readonly field: BarField; readonly index: number };

export type PoolTaskResult =
  | { readonly kind: 'run'; readonly summary: RunSummary }
  | { readonly kind: 'probe'; readonly value: number; readonly sum: number; readonly shared: boolean; readonly heapUsed: number; readonly peakHeap: number }
  | { readonly kind: 'error'; readonly input: boolean; readonly message: string };

/**
 * Runs on rows [from, to) of each series of the pool's market (a walk-forward window) instead of
 * all of it: zero-copy views in the worker, described by the sub-market's own dataset refs.
 */
export interface PoolWindow {
  readonly rows: readonly (readonly [number, number])[];
  readonly datasets: Market['datasets'];
  readonly datasetHash: string;
}

/** A task's input and its place in the batch (results are returned in task order). */
export interface RunTask {
  readonly key: string;
  readonly params: Params;
  readonly seed: number;
}

export interface RunOutcome {
  readonly task: RunTask;
  readonly summary: RunSummary;
}

/** Runs batches of parameter sets somewhere: worker threads, the current thread, or a queue. */
export interface Executor {
  /** Resolves with one summary per task, in task order; `onResult` sees each as it completes. */
  run(tasks: readonly RunTask[], onResult?: (o: RunOutcome) => void | Promise<void>, signal?: AbortSignal): Promise<RunSummary[]>;
  close(): Promise<void>;
}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

export interface PoolOptions {
  /** Built-in strategy name or file path (each worker loads it). */
  readonly strategy: string;
  readonly config: RunConfig;
  readonly market: Market;
  readonly workers?: number;
}

export class BacktestPool implements Executor {
  private constructor(
    private readonly piscina: Piscina,
    readonly workers: number,
    readonly market: Market,
  ) {}

  static async create(o: PoolOptions): Promise<BacktestPool> {
    const workers = o.workers ?? defaultWorkers();
    if (!Number.isInteger(workers) || workers < 1) throw new InputError(`--workers must be a positive integer, got ${workers}`);
    const loaded = await loadStrategy(o.strategy);
    const market = shareMarket(o.market);
    const workerData: PoolWorkerData = { strategy: o.strategy, codeHash: loaded.codeHash, config: o.config, market };
    const piscina = new Piscina({
      filename: new URL('./pool-worker.js', import.meta.url).href,
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: 60_000,
      workerData,
    });
    return new BacktestPool(piscina, workers, market);
  }

  async runOne(params: Params, seed: number, signal?: AbortSignal, window?: PoolWindow): Promise<RunSummary> {
    const task: PoolTask = { kind: 'run', params, seed, ...(window ? { window } : {}) };
    const r = (await this.piscina.run(task, signal ? { signal } : {})) as PoolTaskResult;
    if (r.kind === 'error') throw r.input ? new InputError(r.message) : new Error(r.message);
    if (r.kind !== 'run') throw new Error('unexpected pool answer');
    return r.summary;
  }

  async probe(series: number, field: BarField, index: number): Promise<Extract<PoolTaskResult, { kind: 'probe' }>> {
    return (await this.piscina.run({ kind: 'probe', series, field, index } satisfies PoolTask)) as Extract<PoolTaskResult, { kind: 'probe' }>;
  }

  run(tasks: readonly RunTask[], onResult?: (o: RunOutcome) => void | Promise<void>, signal?: AbortSignal): Promise<RunSummary[]> {
    // Two tasks per worker keep every thread busy without queueing the whole sweep at once.
    return runAll(tasks, (t) => this.runOne(t.params, t.seed, signal), onResult, signal, 2 * this.workers);
  }

  /**
   * An executor for a part of this pool's market (e.g. a walk-forward window's in-sample bars,
   * built by slicing the same columns): the workers keep their threads and shared data, and each
   * task only says which rows to use. Closing it leaves the pool open.
   */
  on(sub: Market): Executor {
    const rows = sub.series.map((c, j): [number, number] => {
      const full = this.market.series[j];
      if (!full || full.symbol !== c.symbol) throw new Error(`series ${j} (${c.symbol}) is not in the pool's market`);
      if (c.length === 0) return [0, 0];
      let i0 = 0;
      let hi = full.length;
      while (i0 < hi) {
        const mid = (i0 + hi) >>> 1;
        if (full.ts[mid]! < c.ts[0]!) i0 = mid + 1;
        else hi = mid;
      }
      const i1 = i0 + c.length;
      if (i1 > full.length || full.ts[i0] !== c.ts[0] || full.ts[i1 - 1] !== c.ts[c.length - 1] || full.close[i1 - 1] !== c.close[c.length - 1]) {
        throw new Error(`${c.symbol}: the sub-market is not a contiguous slice of the pool's market`);
      }
      return [i0, i1];
    });
    const window: PoolWindow = { rows, datasets: sub.datasets, datasetHash: sub.datasetHash };
    return {
      run: (tasks, onResult, signal) => runAll(tasks, (t) => this.runOne(t.params, t.seed, signal, window), onResult, signal, 2 * this.workers),
      close: async () => undefined,
    };
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}

/** The same contract in the calling thread (workers: 0): for small jobs and for nesting in a worker. */
export class InlineExecutor implements Executor {
  private constructor(
    private readonly loaded: LoadedStrategy,
    private readonly config: RunConfig,
    private readonly market: Market,
  ) {}

  static async create(o: PoolOptions): Promise<InlineExecutor> {
    return new InlineExecutor(await loadStrategy(o.strategy), o.config, o.market);
  }

  run(tasks: readonly RunTask[], onResult?: (o: RunOutcome) => void | Promise<void>, signal?: AbortSignal): Promise<RunSummary[]> {
    return runAll(tasks, async (t) => summarise(runParams(this.loaded, this.config, this.market, t.params, t.seed)), onResult, signal, 1);
  }

  async close(): Promise<void> {}
}

export async function createExecutor(o: PoolOptions): Promise<Executor> {
  return o.workers === 0 ? InlineExecutor.create(o) : BacktestPool.create(o);
}

/**
 * Runs every task (at most `inFlight` at a time; the pool queues the rest), calls `onResult` in
 * completion order and resolves in task order. An abort stops starting tasks and rejects.
 */
export async function runAll(
  tasks: readonly RunTask[],
  exec: (t: RunTask) => Promise<RunSummary>,
  onResult?: (o: RunOutcome) => void | Promise<void>,
  signal?: AbortSignal,
  inFlight = Infinity,
): Promise<RunSummary[]> {
  const out = new Array<RunSummary>(tasks.length);
  let next = 0;
  let failure: unknown;
  const lane = async (): Promise<void> => {
    while (next < tasks.length && failure === undefined) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      const i = next++;
      const task = tasks[i]!;
      try {
        const summary = await exec(task);
        out[i] = summary;
        await onResult?.({ task, summary });
      } catch (err) {
        // An abort surfaces as the caller's reason, not as whatever the pool says about it.
        failure ??= signal?.aborted ? (signal.reason ?? err) : err;
        throw failure;
      }
    }
  };
  const lanes = Math.max(1, Math.min(tasks.length, inFlight));
  const settled = await Promise.allSettled(Array.from({ length: lanes }, lane));
  const bad = settled.find((s) => s.status === 'rejected');
  if (failure !== undefined) throw failure;
  if (bad) throw (bad as PromiseRejectedResult).reason;
  return out;
}
