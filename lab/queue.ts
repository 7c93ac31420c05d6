import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { ConnectionOptions, Job, Queue, QueueEvents } from 'bullmq';
import { z } from 'zod';
import { InputError } from '../engine/errors.ts';
import { timeframeToMs } from '../engine/timeframe.ts';
import { hashValue } from '../engine/hash.ts';
import type { SentimentRows } from '../datasets/sentiment.ts';
import { barColumns, datasetHash as hashDataset, readArrowCache, writeArrowCache, type BarKey } from '../datasets/columns.ts';
import { openStore } from '../datasets/store.ts';
import type { DatasetRef } from './backtest.ts';
import type { RunConfig, RunSummary } from './evaluate.ts';
import { combinedHash, type Market } from './market-data.ts';
import { BacktestPool, runAll, type Executor, type RunOutcome, type RunTask } from './pool.ts';
import type { SweepContext } from './sweep.ts';

/**
 * Distributed sweeps on BullMQ. The sweep process enqueues one job per parameter set, with the
 * run key as job id (BullMQ ignores an add whose id exists, so enqueueing twice never duplicates);
 * `cs worker` processes anywhere take jobs, load the market themselves and return the run's
 * summary as the job's return value; the sweep process collects the return values and is the only
 * writer of the DuckDB file. A worker that dies mid-job stops renewing its lock, the stalled-job
 * check of any other worker puts the job back, and it runs again; the primary key in DuckDB keeps
 * a result from being stored twice.
 *
 * The market travels as Arrow IPC files named by dataset hash (a directory the workers can read:
 * local disk, or a shared mount), or, failing that, from the worker's own copy of the database;
 * either way the worker checks the content hash before it runs anything.
 */

export const DEFAULT_QUEUE_NAME = 'cs-sweep';

const redisUrlSchema = z
  .string()
  .refine((u) => {
    try {
      return ['redis:', 'rediss:'].includes(new URL(u).protocol);
    } catch {
      return false;
    }
  }, 'must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379');

export function parseRedisUrl(url: string, flag = '--queue'): ConnectionOptions {
  const r = redisUrlSchema.safeParse(url);
  if (!r.success) throw new InputError(`${flag} "${url}": ${r.error.issues[0]!.message}`);
  const u = new URL(url);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ workers block on Redis; ioredis must not give up on those commands.
    maxRetriesPerRequest: null,
  };
}

/** Where one series of the market can be found, and what it must hash to. */
export interface DataRef {
  readonly key: BarKey;
  readonly file: string;
  readonly datasetHash: string;
  readonly rows: number;
  readonly from: number;
  readonly to: number;
}

export interface JobContext {
  readonly sweepId: string;
  /** Built-in name or absolute path (the same path must hold the same code on every worker). */
  readonly strategy: string;
  readonly codeHash: string;
  readonly config: RunConfig;
  readonly data: readonly DataRef[];
  readonly datasets: readonly DatasetRef[];
  readonly datasetHash: string;
  /** The agents' sentiment rows (market.sentiment) as a JSON file beside the bars, and their hash. */
  readonly sentiment?: { readonly file: string; readonly hash: string };
}

/**
 * A run's summary as a job's return value (JSON in Redis): the float32 returns as base64 of their
 * little-endian bytes, a third of the size of a JSON number array and exact.
 */
export type WireSummary = Omit<RunSummary, 'returns'> & { readonly returns: string };

export function toWire(s: RunSummary): WireSummary {
  return { ...s, returns: Buffer.from(s.returns.buffer, s.returns.byteOffset, s.returns.byteLength).toString('base64') };
}

export function returnsFromBase64(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length % 4 !== 0) throw new Error(`returns of ${bytes.length} bytes are not float32s`);
  // A copy into a fresh buffer: Buffer pools are not 4-byte aligned.
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export interface SweepJobData {
  readonly ctx: JobContext;
  readonly params: Readonly<Record<string, unknown>>;
  readonly seed: number;
}

/** Writes each series once to `dir/<dataset hash>.arrow` (skipped when it is already there). */
export async function publishMarket(market: Market, dir: string): Promise<DataRef[]> {
  mkdirSync(dir, { recursive: true });
  const refs: DataRef[] = [];
  for (let i = 0; i < market.series.length; i++) {
    const c = market.series[i]!;
    const d = market.datasets[i]!;
    const key: BarKey = { exchange: d.exchange, symbol: d.symbol, timeframe: d.timeframe };
    const file = resolve(join(dir, `${d.datasetHash.slice(0, 32)}.arrow`));
    if (!existsSync(file) || !readArrowCache(file, { key, version: d.datasetHash }, false)) {
      await writeArrowCache(file, c, { key, version: d.datasetHash, hash: d.datasetHash });
    }
    refs.push({ key, file, datasetHash: d.datasetHash, rows: c.length, from: c.ts[0]!, to: c.ts[c.length - 1]! + 1 });
  }
  return refs;
}

/**
 * Sentiment rows go to `dir/sentiment-<hash>.json` once (not into every job: a job carries only the
 * file and the hash), so a worker's agents read what `cs backtest` reads.
 */
function publishSentiment(rows: SentimentRows, dir: string): { file: string; hash: string } {
  mkdirSync(dir, { recursive: true });
  const hash = hashValue(rows);
  const file = resolve(join(dir, `sentiment-${hash.slice(0, 32)}.json`));
  if (!existsSync(file)) writeFileSync(file, JSON.stringify(rows));
  return { file, hash };
}

function readSentiment(ref: { file: string; hash: string }): SentimentRows {
  let rows: SentimentRows;
  try {
    rows = JSON.parse(readFileSync(ref.file, 'utf8')) as SentimentRows;
  } catch (err) {
    throw new Error(`the sweep's sentiment rows are not readable here: ${ref.file} (${(err as NodeJS.ErrnoException).code ?? String(err)}; share that directory)`);
  }
  const got = hashValue(rows);
  if (got !== ref.hash) throw new Error(`sentiment rows in ${ref.file} differ from the sweep's (hash ${got.slice(0, 12)} ≠ ${ref.hash.slice(0, 12)})`);
  return rows;
}

/** The sweep directory beside a database: `<db dir>/.cs-cache/sweep-data`. */
export function defaultDataDir(dbPath: string): string {
  return join(dirname(resolve(dbPath)), '.cs-cache', 'sweep-data');
}

export interface QueueExecutorOptions {
  readonly url: string;
  readonly dataDir: string;
  readonly queueName?: string;
}

/** BullMQ (and its Redis client) load only when a queue is used, not at every `cs` start. */
const bullmq = () => import('bullmq');

/** An executor for `runSweep` that sends the runs to `cs worker` processes through Redis. */
export function queueExecutor(o: QueueExecutorOptions): (ctx: SweepContext) => Promise<Executor> {
  // Checked now, before the sweep records anything.
  const connection = parseRedisUrl(o.url);
  return async (ctx) => {
    const data = await publishMarket(ctx.market, o.dataDir);
    const strategy = /[/\\]|\.(m?[jt]s)$/.test(ctx.strategy) ? resolve(ctx.strategy) : ctx.strategy;
    const sentiment = ctx.market.sentiment ? publishSentiment(ctx.market.sentiment, o.dataDir) : undefined;
    const jobCtx: JobContext = { sweepId: ctx.sweepId, strategy, codeHash: ctx.codeHash, config: ctx.config, data, datasets: ctx.market.datasets, datasetHash: ctx.market.datasetHash, ...(sentiment ? { sentiment } : {}) };
    const name = o.queueName ?? DEFAULT_QUEUE_NAME;
    const { Queue, QueueEvents } = await bullmq();
    const queue = new Queue<SweepJobData, WireSummary>(name, { connection });
    const events = new QueueEvents(name, { connection });
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    return new QueueExecutor(queue, events, jobCtx);
  };
}

class QueueExecutor implements Executor {
  constructor(
    private readonly queue: Queue<SweepJobData, WireSummary>,
    private readonly events: QueueEvents,
    private readonly ctx: JobContext,
  ) {}

  async run(tasks: readonly RunTask[], onResult?: (o: RunOutcome) => void | Promise<void>, signal?: AbortSignal): Promise<RunSummary[]> {
    const jobs = await this.queue.addBulk(
      tasks.map((t) => ({
        name: 'run',
        data: { ctx: this.ctx, params: t.params, seed: t.seed },
        // A run is deterministic: an error would repeat, so only stalls (a dead worker) retry.
        opts: { jobId: t.key, attempts: 1, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 24 * 3600 } },
      })),
    );
    const byKey = new Map(jobs.map((j) => [j.id!, j]));
    return runAll(
      tasks,
      async (t) => {
        const job = byKey.get(t.key)!;
        try {
          return normalise(await job.waitUntilFinished(this.events));
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          throw msg.startsWith('InputError: ') ? new InputError(msg.slice(12)) : new Error(`run ${t.key} failed on a worker: ${msg}`);
        }
      },
      onResult,
      signal,
    );
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.queue.close();
  }
}

/** Return values come back through JSON: non-finite metrics arrive as null; make them NaN again. */
function normalise(s: WireSummary): RunSummary {
  const metrics = { ...(s.metrics as unknown as Record<string, unknown>) };
  for (const [k, v] of Object.entries(metrics)) if (v === null) metrics[k] = NaN;
  return { ...s, metrics: metrics as unknown as RunSummary['metrics'], returns: returnsFromBase64(s.returns) };
}

export interface QueueWorkerOptions {
  readonly url: string;
  /** Jobs run at once (one worker thread each). */
  readonly concurrency?: number;
  readonly queueName?: string;
  /** Fallback when a data file is not readable here: this machine's copy of the database. */
  readonly db?: string;
  /** How long a job's lock lasts without renewal: a dead worker's job is retried after about this long. */
  readonly lockMs?: number;
  /** How often this worker looks for stalled jobs (of any worker). */
  readonly stalledMs?: number;
  readonly log?: (line: string) => void;
}

export interface RunningWorker {
  readonly name: string;
  /** Stops taking jobs, lets the running ones finish, releases the threads. */
  close(): Promise<void>;
}

/** `cs worker`: takes sweep jobs until closed. */
export async function startQueueWorker(o: QueueWorkerOptions): Promise<RunningWorker> {
  const connection = parseRedisUrl(o.url);
  const concurrency = o.concurrency ?? 1;
  const log = o.log ?? (() => undefined);
  const name = `cs-worker@${hostname()}:${process.pid}`;
  // One pool per sweep (market + strategy); the last one is kept for the next job of that sweep.
  let current: { sweepId: string; pool: Promise<BacktestPool> } | undefined;
  const poolFor = (ctx: JobContext): Promise<BacktestPool> => {
    if (current?.sweepId === ctx.sweepId) return current.pool;
    const old = current;
    const pool = (async () => {
      if (old) await (await old.pool.catch(() => undefined))?.close();
      const market = await loadJobMarket(ctx, o.db);
      return BacktestPool.create({ strategy: ctx.strategy, config: ctx.config, market, workers: concurrency });
    })();
    current = { sweepId: ctx.sweepId, pool };
    pool.catch(() => {
      if (current?.pool === pool) current = undefined;
    });
    return pool;
  };
  const { Worker } = await bullmq();
  const worker = new Worker<SweepJobData, WireSummary>(
    o.queueName ?? DEFAULT_QUEUE_NAME,
    async (job: Job<SweepJobData, WireSummary>) => {
      log(`job ${job.id} started (attempt ${job.attemptsStarted}, stalled ${job.stalledCounter}) params ${JSON.stringify(job.data.params)}`);
      const pool = await poolFor(job.data.ctx);
      try {
        const summary = await pool.runOne(job.data.params as RunTask['params'], job.data.seed);
        log(`job ${job.id} done ${summary.resultHash.slice(0, 12)}`);
        return toWire(summary);
      } catch (err) {
        if (err instanceof InputError) throw new Error(`InputError: ${err.message}`);
        throw err;
      }
    },
    {
      connection,
      concurrency,
      name,
      lockDuration: o.lockMs ?? 30_000,
      stalledInterval: o.stalledMs ?? 30_000,
      // Several workers may die under one job before it completes; each stall earns a retry.
      maxStalledCount: 5,
    },
  );
  worker.on('failed', (job, err) => log(`job ${job?.id} failed: ${err.message}`));
  worker.on('error', (err) => log(`worker error: ${err.message}`));
  await worker.waitUntilReady();
  log(`${name} waiting for jobs on ${o.queueName ?? DEFAULT_QUEUE_NAME} (concurrency ${concurrency})`);
  return {
    name,
    close: async () => {
      await worker.close();
      await (await current?.pool.catch(() => undefined))?.close();
    },
  };
}

/** The job's market from its data files (or this machine's database), checked against the hashes. */
async function loadJobMarket(ctx: JobContext, db: string | undefined): Promise<Market> {
  const series = [];
  for (const ref of ctx.data) {
    const tfMs = timeframeToMs(ref.key.timeframe);
    const cached = readArrowCache(ref.file, { key: ref.key, version: ref.datasetHash }, true);
    let cols = cached ? barColumns(ref.key.symbol, tfMs, cached.columns) : undefined;
    if (!cols && db) {
      const store = await openStore(db, { readOnly: true });
      try {
        cols = (await store.loadBars(ref.key, { from: ref.from, to: ref.to }, { shared: true })).columns;
      } finally {
        await store.close();
      }
    }
    if (!cols) throw new Error(`data for ${ref.key.symbol} ${ref.key.timeframe} is not readable here: ${ref.file} (share that directory, or give --db with a copy of the data)`);
    const got = hashDataset(ref.key, cols);
    if (got !== ref.datasetHash) throw new Error(`data for ${ref.key.symbol} differs from the sweep's (hash ${got.slice(0, 12)} ≠ ${ref.datasetHash.slice(0, 12)})`);
    series.push(cols);
  }
  return { series, datasets: ctx.datasets, datasetHash: combinedHash(ctx.datasets), ...(ctx.sentiment ? { sentiment: readSentiment(ctx.sentiment) } : {}) };
}
