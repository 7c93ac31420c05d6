/**
 * What keeping every run's per-bar returns costs a sweep (issue 4: PBO needs the T×N matrix): the
 * 1,000-run grid of test/bench/sweep.ts (sma-cross, fast 2–41 × slow 100–124) on a year of 1-hour
 * bars, run on 2 worker threads into a DuckDB file. Figures: the DuckDB file with the returns next
 * to the same runs stored without them (baseline, same process), the time to read the matrix back,
 * and the time of the overfitting statistics (DSR + PBO by CSCV, S = 16) over it.
 *
 *   npx tsx test/bench/sweep-returns.ts      (or: npm run bench sweep-returns)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../datasets/store.ts';
import { beginSweep, loadSweepRunsWithReturns, saveSweepRuns } from '../../datasets/sweeps.ts';
import { generateBars } from '../../datasets/synth.ts';
import { builtinStrategies } from '../../engine/strategies/index.ts';
import { parseRunConfig } from '../../lab/evaluate.ts';
import { marketFromColumns } from '../../lab/market-data.ts';
import { buildSearchSpace, parseGridFlag } from '../../lab/search-space.ts';
import { sweepOverfitting } from '../../lab/sweep-overfitting.ts';
import { runSweep } from '../../lab/sweep.ts';
import { emit } from './support.ts';

const MB = 1024 * 1024;
const r2 = (x: number): number => Math.round(x * 100) / 100;

const dir = mkdtempSync(join(tmpdir(), 'cs-bench-sweep-returns-'));
try {
  const year = generateBars({ symbol: 'BTC/USDT', timeframeMs: 3_600_000, from: Date.UTC(2024, 0, 1), to: Date.UTC(2025, 0, 1), seed: 7, model: { kind: 'gbm', drift: 0.2, vol: 0.7 } });
  const market = marketFromColumns([year], 'synthetic');
  const config = parseRunConfig({ strategy: 'sma-cross', symbols: ['BTC/USDT'], timeframe: '1h' });
  const space = buildSearchSpace(builtinStrategies['sma-cross']!, { grid: [parseGridFlag('fast=2:41'), parseGridFlag('slow=100:124')] });

  const withFile = join(dir, 'with-returns.duckdb');
  let store = await openStore(withFile);
  let t0 = performance.now();
  const sweep = await runSweep({ strategy: 'sma-cross', config, market, space, method: 'grid', workers: 2, store });
  const sweepSecs = (performance.now() - t0) / 1000;
  if (sweep.trials !== 1000) throw new Error(`grid has ${sweep.trials} runs`);
  await store.withConnection((c) => c.run('CHECKPOINT'));
  // Blocks in use vs blocks left free by the batched writes (a file does not shrink by itself).
  const blocks = await store.withConnection(async (c) => {
    const r = (await c.runAndReadAll('SELECT block_size, total_blocks, used_blocks, free_blocks FROM pragma_database_size()')).getRows()[0]!;
    return { blockSize: Number(r[0]), total: Number(r[1]), used: Number(r[2]), free: Number(r[3]) };
  });
  await store.close();

  // Baseline: the same rows without their returns, in a file of their own.
  const withoutFile = join(dir, 'without-returns.duckdb');
  store = await openStore(withoutFile);
  await beginSweep(store, { sweepId: sweep.sweepId, strategy: sweep.strategy, codeHash: sweep.codeHash, datasetHash: sweep.datasetHash, definition: {} });
  await saveSweepRuns(store, sweep.runs.map(({ returns: _r, ...row }) => row));
  await store.withConnection((c) => c.run('CHECKPOINT'));
  await store.close();

  const T = sweep.runs[0]!.returns!.length;
  const withBytes = statSync(withFile).size;
  const withoutBytes = statSync(withoutFile).size;
  emit({
    bench: 'sweep-returns-db-size',
    value: r2(withBytes / MB),
    unit: 'MB',
    baseline: r2(withoutBytes / MB),
    ratio: r2(withBytes / withoutBytes),
    runs: 1000,
    returnsPerRun: T,
    rawReturnsMB: r2((1000 * T * 4) / MB),
    perRunKB: r2((withBytes - withoutBytes) / 1000 / 1024),
    alternatives: { float64PerBarMB: r2((1000 * T * 8) / MB), float64DailyMB: r2((1000 * 366 * 8) / MB) },
    sweepSeconds: r2(sweepSecs),
    usedMB: r2((blocks.used * blocks.blockSize) / MB),
    freeMB: r2((blocks.free * blocks.blockSize) / MB),
    note: 'baseline: the same 1,000 rows stored without returns',
  });

  store = await openStore(withFile, { readOnly: true });
  t0 = performance.now();
  const rows = await loadSweepRunsWithReturns(store, sweep.sweepId);
  const loadMs = performance.now() - t0;
  await store.close();
  if (rows.some((r) => !r.returns)) throw new Error('a run came back without returns');
  emit({ bench: 'sweep-returns-load', value: Math.round(loadMs), unit: 'ms', runs: rows.length, returnsPerRun: T });

  t0 = performance.now();
  const of = sweepOverfitting(rows);
  const ofMs = performance.now() - t0;
  emit({ bench: 'sweep-overfitting-stats', value: Math.round(ofMs), unit: 'ms', runs: rows.length, returnsPerRun: T, blocks: of.pboBlocks, combinations: of.pboCombinations, pbo: of.pbo, dsr: of.dsr });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
