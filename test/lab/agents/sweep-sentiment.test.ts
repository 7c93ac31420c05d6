import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateBars } from '../../../datasets/synth.ts';
import { openStore, type Store } from '../../../datasets/store.ts';
import { importSentimentFile } from '../../../datasets/sentiment.ts';
import { runBacktest } from '../../../lab/backtest.ts';
import { parseRunConfig, type RunConfig } from '../../../lab/evaluate.ts';
import { loadMarket, type Market } from '../../../lab/market-data.ts';
import { buildSearchSpace, type SearchSpace } from '../../../lab/search-space.ts';
import { runSweep } from '../../../lab/sweep.ts';
import { parseRedisUrl, queueExecutor, startQueueWorker } from '../../../lab/queue.ts';
import { saveRun } from '../../../datasets/runs.ts';
import { toStoredRun } from '../../../lab/cli/commands/backtest.ts';
import { runMonteCarlo } from '../../../lab/cli/commands/montecarlo.ts';
import { loadStrategy } from '../../../lab/strategy-loader.ts';
import { sweepOptimiser, walkForward } from '../../../lab/walkforward.ts';

/**
 * A store holding bars AND sentiment (a Fear & Greed history and headlines): a sweep's runs in
 * worker threads must read the same sentiment as `cs backtest` of the same params, so every point's
 * resultHash equals runBacktest's; and the sentiment must matter (the same sweep without it gives
 * other results), or the equality would prove nothing.
 */
const H = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
const N = 360;
const REQUEST = { strategy: 'persona:aggressive', symbols: ['BTC/USDT'], timeframe: '1h', exchange: 'synthetic', seed: 5 };

let dir: string;
let store: Store;
let config: RunConfig;
let market: Market;
let space: SearchSpace;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-sweep-sentiment-'));
  store = await openStore(join(dir, 'lab.duckdb'));
  const bars = generateBars({ symbol: 'BTC/USDT', timeframeMs: H, from: T0, to: T0 + N * H, seed: 21, model: { kind: 'gbm', drift: 0.3, vol: 0.7 } });
  await store.writeBars({ exchange: 'synthetic', symbol: 'BTC/USDT', timeframe: '1h' }, bars);
  // The index swings between extreme fear and extreme greed every few days; headlines every 4 h.
  const fng = ['ts,value', ...Array.from({ length: N / 4 }, (_, i) => `${new Date(T0 + i * 4 * H).toISOString()},${Math.round(50 + 49 * Math.sin(i / 2))}`)].join('\n');
  const news = ['ts,symbol,source,title,score', ...Array.from({ length: N / 4 }, (_, i) => `${new Date(T0 + i * 4 * H + H).toISOString()},BTC,wire,headline ${i},${Math.cos(i / 3).toFixed(3)}`)].join('\n');
  writeFileSync(join(dir, 'fng.csv'), fng + '\n');
  writeFileSync(join(dir, 'news.csv'), news + '\n');
  await importSentimentFile(store, join(dir, 'fng.csv'), 'fear-greed');
  await importSentimentFile(store, join(dir, 'news.csv'), 'headlines');
  config = parseRunConfig(REQUEST);
  market = await loadMarket(store, config);
  const loaded = await loadStrategy(REQUEST.strategy);
  space = buildSearchSpace(loaded.strategy, { grid: [{ name: 'minConfidence', min: 10, max: 40, step: 15 }], fixed: { warmup: 60, window: 60, decideEvery: 3 } });
}, 60_000);

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const withoutSentiment = (m: Market): Market => ({ series: m.series, datasets: m.datasets, datasetHash: m.datasetHash });

describe('agent strategies in sweeps read the store\'s sentiment, as cs backtest does', () => {
  it('loads the sentiment rows with the market (only for agent strategies)', async () => {
    expect(market.sentiment?.fearGreed).toHaveLength(N / 4);
    expect(market.sentiment?.headlines).toHaveLength(N / 4);
    const plain = await loadMarket(store, parseRunConfig({ ...REQUEST, strategy: 'sma-cross' }));
    expect(plain.sentiment).toBeUndefined();
    expect(plain.datasetHash).toBe(market.datasetHash);
  });

  it('runSweep with 2 workers: each point has the resultHash of runBacktest with its params; without sentiment the runs differ', async () => {
    const pooled = await runSweep({ strategy: REQUEST.strategy, config, market, space, method: 'grid', workers: 2 });
    const inline = await runSweep({ strategy: REQUEST.strategy, config, market, space, method: 'grid', workers: 0 });
    const blind = await runSweep({ strategy: REQUEST.strategy, config, market: withoutSentiment(market), space, method: 'grid', workers: 0 });
    expect(pooled.runs).toHaveLength(3);
    for (const row of pooled.runs) {
      const bt = await runBacktest(store, { ...REQUEST, params: row.params as Record<string, unknown> });
      expect(row.resultHash).toBe(bt.resultHash);
      expect(inline.runs.find((r) => r.runKey === row.runKey)!.resultHash).toBe(bt.resultHash);
    }
    // Sentiment changes decisions here, so the equality above is not that of two blind runs.
    expect(blind.runs.map((r) => r.resultHash)).not.toEqual(pooled.runs.map((r) => r.resultHash));
    // And runs with and without sentiment do not share a sweep id (hence run keys, stored rows).
    expect(blind.sweepId).not.toBe(pooled.sweepId);
    expect(blind.runs[0]!.runKey).not.toBe(pooled.runs[0]!.runKey);
    expect(inline.sweepId).toBe(pooled.sweepId);
  }, 60_000);

  it('walk-forward: trials on the pool, trials inline and the OOS runs all read it (same report; another without it)', async () => {
    const loaded = await loadStrategy(REQUEST.strategy);
    const options = { isMs: 150 * H, oosMs: 100 * H, warmupBars: 60, pboBlocks: 0 };
    const parsed = { isMs: 150 * H, oosMs: 100 * H, warmupBars: 60, pboBlocks: 0, anchored: false, objective: 'sharpe', method: 'grid' } as const;
    const pooled = await walkForward({ loaded, config, market, space, options, optimiser: sweepOptimiser(REQUEST.strategy, config, parsed, 2) });
    const inline = await walkForward({ loaded, config, market, space, options });
    const blind = await walkForward({ loaded, config, market: withoutSentiment(market), space, options });
    expect(pooled.windows.length).toBeGreaterThanOrEqual(2);
    // (The reports' ids differ by how the params are written: the pooled sweep returns them with the
    // schema's defaults filled in. What was traded must not.)
    expect(pooled.windows.map((w) => w.oosHash)).toEqual(inline.windows.map((w) => w.oosHash));
    expect(pooled.windows.map((w) => w.params.minConfidence)).toEqual(inline.windows.map((w) => w.params.minConfidence));
    expect(pooled.windows.map((w) => w.isScore)).toEqual(inline.windows.map((w) => w.isScore));
    expect(pooled.stitched).toEqual(inline.stitched);
    expect(blind.windows.map((w) => w.oosHash)).not.toEqual(inline.windows.map((w) => w.oosHash));
    expect(blind.windows.map((w) => w.isScore)).not.toEqual(inline.windows.map((w) => w.isScore));
  }, 60_000);

  it('the Redis queue too: a cs worker reads the rows from the sweep\'s data directory (checked against their hash)', async () => {
    const url = inject('redisUrl');
    const queueName = `cs-sweep-sentiment-${process.pid}`;
    const worker = await startQueueWorker({ url, queueName, concurrency: 1 });
    try {
      const queued = await runSweep({ strategy: REQUEST.strategy, config, market, space, method: 'grid', executor: queueExecutor({ url, dataDir: join(dir, 'data'), queueName }) });
      const inline = await runSweep({ strategy: REQUEST.strategy, config, market, space, method: 'grid', workers: 0 });
      expect(queued.runs.map((r) => [r.runKey, r.resultHash])).toEqual(inline.runs.map((r) => [r.runKey, r.resultHash]));
    } finally {
      await worker.close();
      const q = new Queue(queueName, { connection: parseRedisUrl(url) });
      await q.obliterate({ force: true });
      await q.close();
    }
  }, 60_000);

  it('cs montecarlo --method noise re-runs a stored agent run with its sentiment: the re-run reproduces it', async () => {
    const report = await runBacktest(store, { ...REQUEST, params: { warmup: 60, window: 60, decideEvery: 3, minConfidence: 10 } });
    await saveRun(store, toStoredRun(report));
    const db = join(dir, 'lab.duckdb');
    await store.close();
    try {
      const out = await runMonteCarlo({ run: report.runId, method: 'noise', paths: 2, seed: 1, ruinDrawdown: 0.5, noise: 0.001, db });
      expect(out.warnings).toEqual([]);
    } finally {
      store = await openStore(db);
    }
  }, 60_000);
});
