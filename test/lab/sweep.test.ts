import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../engine/hash.ts';
import { generateBars } from '../../datasets/synth.ts';
import { openStore, type Store } from '../../datasets/store.ts';
import { bestSweepRuns, listSweeps, loadSweepRuns, type SweepRow } from '../../datasets/sweeps.ts';
import { parseRunConfig } from '../../lab/evaluate.ts';
import { marketFromColumns } from '../../lab/market-data.ts';
import { InlineExecutor, type Executor } from '../../lab/pool.ts';
import { buildSearchSpace, parseGridFlag } from '../../lab/search-space.ts';
import { builtinStrategies } from '../../engine/strategies/index.ts';
import { runSweep, type SweepOptions } from '../../lab/sweep.ts';

const dir = mkdtempSync(join(tmpdir(), 'cs-sweep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bars = generateBars({ symbol: 'BTC/USDT', timeframeMs: 3_600_000, from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 4, 1), seed: 5, model: { kind: 'gbm', drift: 0.3, vol: 0.6 } });
const market = marketFromColumns([bars], 'synthetic');
const config = parseRunConfig({ strategy: 'sma-cross', symbols: ['BTC/USDT'], timeframe: '1h' });
const space = buildSearchSpace(builtinStrategies['sma-cross']!, { grid: [parseGridFlag('fast=5:30:5'), parseGridFlag('slow=20:60:10')] });
// Hand count: fast ∈ {5..30} (6), slow ∈ {20..60} (5) = 30 pairs; fast ≥ slow: (20,20), (25,20), (30,20), (30,30) = 4.
const ALLOWED = 26;
const base: SweepOptions = { strategy: 'sma-cross', config, market, space, method: 'grid', workers: 0 };

async function withStore<T>(name: string, fn: (s: Store) => Promise<T>): Promise<T> {
  const s = await openStore(join(dir, name));
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** An inline executor that records every run it makes. */
async function counting(): Promise<{ exec: Executor; keys: string[] }> {
  const inner = await InlineExecutor.create({ strategy: 'sma-cross', config, market });
  const keys: string[] = [];
  const exec: Executor = {
    run: (tasks, onResult, signal) =>
      inner.run(tasks, (o) => {
        keys.push(o.task.key);
        return onResult?.(o);
      }, signal),
    close: () => inner.close(),
  };
  return { keys, exec };
}

const essence = (rows: readonly SweepRow[]) => rows.map((r) => canonicalJson([r.runKey, r.seq, r.params, r.resultHash, r.metrics])).sort();

describe('runSweep with results in DuckDB', () => {
  it('stores one row per run with params, every metric, seed and hashes; reports trials and the best', async () => {
    await withStore('full.duckdb', async (store) => {
      const r = await runSweep({ ...base, store });
      expect(r.trials).toBe(ALLOWED);
      expect(r.ran).toBe(ALLOWED);
      expect(r.skippedInvalid).toBe(4);
      const rows = await loadSweepRuns(store, r.sweepId);
      expect(rows).toHaveLength(ALLOWED);
      expect(new Set(rows.map((x) => x.runKey)).size).toBe(ALLOWED);
      for (const row of rows) {
        expect(row.seed).toBe(config.seed);
        expect(row.datasetHash).toBe(market.datasetHash);
        expect(row.codeHash).toMatch(/^[0-9a-f]{64}$/);
        expect(row.metrics).toHaveProperty('sharpe');
        expect(row.metrics).toHaveProperty('maxDrawdown');
        expect((row.params as { fast: number }).fast).toBeLessThan((row.params as { slow: number }).slow);
      }
      // The best list is the rows sorted by Sharpe, worked out here independently of the SQL.
      const bySharpe = rows.slice().sort((a, b) => (b.metrics.sharpe as number) - (a.metrics.sharpe as number));
      expect(r.best.map((b) => b.runKey)).toEqual(bySharpe.slice(0, 10).map((b) => b.runKey));
      expect((await bestSweepRuns(store, r.sweepId, 'sharpe', { limit: 3 })).map((b) => b.runKey)).toEqual(bySharpe.slice(0, 3).map((b) => b.runKey));
      const [info] = await listSweeps(store);
      expect(info).toMatchObject({ sweepId: r.sweepId, strategy: 'sma-cross', runs: ALLOWED });
    });
  });

  it('resumes: aborted halfway, the rerun runs only what is missing and stores no duplicate', async () => {
    const reference = await withStore('ref.duckdb', async (store) => {
      const r = await runSweep({ ...base, store });
      return loadSweepRuns(store, r.sweepId);
    });
    await withStore('resume.duckdb', async (store) => {
      const ac = new AbortController();
      const first = await counting();
      await expect(
        runSweep({ ...base, store, executor: first.exec, signal: ac.signal, onProgress: (p) => p.done >= 10 && ac.abort(new Error('stop')) }),
      ).rejects.toThrow('stop');
      const partial = await loadSweepRuns(store, reference[0]!.sweepId);
      expect(partial.length).toBeGreaterThanOrEqual(10);
      expect(partial.length).toBeLessThan(ALLOWED);
      expect(first.keys.length).toBe(partial.length);

      const second = await counting();
      const r = await runSweep({ ...base, store, executor: second.exec });
      expect(r.resumed).toBe(partial.length);
      expect(r.ran).toBe(ALLOWED - partial.length);
      // Nothing repeated: no key run in the first attempt was run again.
      expect(second.keys.filter((k) => first.keys.includes(k))).toEqual([]);
      const rows = await loadSweepRuns(store, r.sweepId);
      expect(rows).toHaveLength(ALLOWED);
      expect(essence(rows)).toEqual(essence(reference));
      // A third run has nothing left to do.
      const third = await counting();
      expect((await runSweep({ ...base, store, executor: third.exec })).ran).toBe(0);
      expect(third.keys).toEqual([]);
    });
  });

  it('an interrupted TPE sweep resumes into exactly the sweep it would have been', async () => {
    const tpe: SweepOptions = { ...base, method: 'tpe', trials: 20, seed: 9, batchSize: 4 };
    const straight = await withStore('tpe-a.duckdb', async (store) => {
      const r = await runSweep({ ...tpe, store });
      return { r, rows: await loadSweepRuns(store, r.sweepId) };
    });
    await withStore('tpe-b.duckdb', async (store) => {
      const ac = new AbortController();
      await expect(runSweep({ ...tpe, store, signal: ac.signal, onProgress: (p) => p.done >= 13 && ac.abort(new Error('stop')) })).rejects.toThrow('stop');
      const r = await runSweep({ ...tpe, store });
      expect(r.resumed).toBeGreaterThanOrEqual(13);
      expect(r.ran).toBe(20 - r.resumed);
      expect(r.sweepId).toBe(straight.r.sweepId);
      expect(essence(await loadSweepRuns(store, r.sweepId))).toEqual(essence(straight.rows));
      expect(r.best[0]!.runKey).toBe(straight.r.best[0]!.runKey);
    });
  });

  it('refuses a sweep id that already holds a different sweep, and stores nothing for it', async () => {
    await withStore('clash.duckdb', async (store) => {
      await runSweep({ ...base, store, sweepId: 'mine' });
      const other = buildSearchSpace(builtinStrategies['sma-cross']!, { grid: [parseGridFlag('fast=5:10:5'), parseGridFlag('slow=20:30:10')] });
      await expect(runSweep({ ...base, space: other, store, sweepId: 'mine' })).rejects.toThrow(/sweep id mine already holds a different sweep/);
      expect(await loadSweepRuns(store, 'mine')).toHaveLength(ALLOWED);
    });
  });
});
