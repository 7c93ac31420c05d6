import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { barColumns } from '../../datasets/columns.ts';
import { openStore, type Store } from '../../datasets/store.ts';
import { loadSweepReturns, loadSweepRuns } from '../../datasets/sweeps.ts';
import { generateBars } from '../../datasets/synth.ts';
import { deflatedSharpe, probabilityOfOverfitting } from '../../engine/overfitting.ts';
import { createRng } from '../../engine/rng.ts';
import { builtinStrategies } from '../../engine/strategies/index.ts';
import { curveReturns, MAX_RETURN_ROWS, parseRunConfig, runParams } from '../../lab/evaluate.ts';
import { marketFromColumns } from '../../lab/market-data.ts';
import { returnsFromBase64, toWire } from '../../lab/queue.ts';
import { buildSearchSpace, parseGridFlag } from '../../lab/search-space.ts';
import { loadStrategy } from '../../lab/strategy-loader.ts';
import { parsePboBlocks, sweepOverfitting } from '../../lab/sweep-overfitting.ts';
import type { SweepRow } from '../../datasets/sweeps.ts';
import { runSweep, type SweepOptions } from '../../lab/sweep.ts';
import { csInProcess } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'cs-sweep-pbo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const H = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
const BARS = 2000;

/**
 * Prices that swing on a 48-bar cycle (plus a little noise): a fast SMA cross rides every upswing,
 * a slow one averages the cycle away. The ranking of the parameter sets is the same in every
 * stretch of the series, so the in-sample best is the out-of-sample best: PBO must be low.
 */
function cyclic(seed: number) {
  const rng = createRng(seed);
  const f = { ts: new Float64Array(BARS), open: new Float64Array(BARS), high: new Float64Array(BARS), low: new Float64Array(BARS), close: new Float64Array(BARS), volume: new Float64Array(BARS) };
  let prev = 100;
  for (let i = 0; i < BARS; i++) {
    const c = 100 * Math.exp(0.05 * Math.sin((2 * Math.PI * i) / 48) + 0.01 * (rng.next() - 0.5));
    f.ts[i] = T0 + i * H;
    f.open[i] = prev;
    f.close[i] = c;
    f.high[i] = Math.max(prev, c);
    f.low[i] = Math.min(prev, c);
    f.volume[i] = 1;
    prev = c;
  }
  return barColumns('CYC/USD', H, f);
}
const noise = (seed: number) => generateBars({ symbol: 'CYC/USD', timeframeMs: H, from: T0, to: T0 + BARS * H, seed, model: { kind: 'gbm', drift: 0, vol: 0.5 } });

const smaConfig = parseRunConfig({ strategy: 'sma-cross', symbols: ['CYC/USD'], timeframe: '1h' });
const smaSpace = buildSearchSpace(builtinStrategies['sma-cross']!, { grid: [parseGridFlag('fast=2:14:4'), parseGridFlag('slow=10:90:20')] });
const cyc: SweepOptions = { strategy: 'sma-cross', config: smaConfig, market: marketFromColumns([cyclic(1)], 'synthetic'), space: smaSpace, method: 'grid', workers: 0 };

const COIN = join(import.meta.dirname, 'fixtures', 'coin-flip.ts');
// No fees: fees are a real, persistent difference between busy and idle strategies, not noise.
const coinConfig = parseRunConfig({ strategy: COIN, symbols: ['CYC/USD'], timeframe: '1h', takerFeeBps: 0 });
const coinSpace = buildSearchSpace((await loadStrategy(COIN)).strategy, { grid: [parseGridFlag('k=0:19')] });
const coinSweep = (seed: number): SweepOptions => ({ strategy: COIN, config: coinConfig, market: marketFromColumns([noise(seed)], 'synthetic'), space: coinSpace, method: 'grid', workers: 0 });

async function withStore<T>(name: string, fn: (s: Store) => Promise<T>): Promise<T> {
  const s = await openStore(join(dir, name));
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

describe('sweep overfitting statistics', () => {
  it('a parameter set that is truly better (a cycle the fast SMA rides): low PBO', async () => {
    const r = await runSweep(cyc);
    expect(r.overfitting.trials).toBe(18);
    expect(r.overfitting.pbo).not.toBeNull();
    expect(r.overfitting.pbo!).toBeLessThan(0.1);
    expect(r.overfitting.pboCombinations).toBe(12870); // C(16, 8)
    expect((r.overfitting.bestParams as { fast: number }).fast).toBe(2);
  });

  it('pure noise and strategies without skill: PBO near 0.5 (mean of 12 seeds)', async () => {
    const pbos: number[] = [];
    for (let seed = 1; seed <= 12; seed++) pbos.push((await runSweep(coinSweep(seed))).overfitting.pbo!);
    const mean = pbos.reduce((a, b) => a + b, 0) / pbos.length;
    // One sweep's PBO spreads widely under the null (sd ≈ 0.25, from these seeds); 12 of them give
    // a standard error of about 0.07, so ±0.15 is two of them.
    expect(mean).toBeGreaterThan(0.35);
    expect(mean).toBeLessThan(0.65);
    expect(Math.max(...pbos) - Math.min(...pbos)).toBeGreaterThan(0.3);
  });

  it('stores each run\'s returns; the report\'s DSR and PBO follow from the stored rows, worked here', async () => {
    await withStore('dsr.duckdb', async (store) => {
      const r = await runSweep({ ...cyc, store, pboBlocks: 8 });
      const rows = await loadSweepRuns(store, r.sweepId);
      const returns = await loadSweepReturns(store, r.sweepId);
      expect(rows).toHaveLength(18);
      expect(returns.size).toBe(18);

      // The stored returns are the run's equity returns (to float32 precision).
      const bestRow = rows.reduce((a, b) => ((b.metrics.sharpe as number) > (a.metrics.sharpe as number) ? b : a));
      const report = runParams(await loadStrategy('sma-cross'), smaConfig, cyc.market, bestRow.params as Record<string, unknown>);
      const eq = report.run.curve.equity;
      const stored = returns.get(bestRow.runKey)!;
      expect(stored.length).toBe(eq.length - 1);
      for (const i of [0, 100, 777, stored.length - 1]) expect(stored[i]).toBe(Math.fround(eq[i + 1]! / eq[i]! - 1));

      // DSR: per-bar Sharpe ratios from the stored (annualised) metrics, N = 18, variance by hand,
      // skew and kurtosis (population, non-excess) of the best run's stored returns by hand.
      const ppy = bestRow.metrics.periodsPerYear as number;
      const per = rows.map((x) => (x.metrics.sharpe as number) / Math.sqrt(ppy));
      const m = per.reduce((a, v) => a + v, 0) / per.length;
      const variance = per.reduce((a, v) => a + (v - m) ** 2, 0) / (per.length - 1);
      let mu = 0;
      for (const v of stored) mu += v;
      mu /= stored.length;
      let m2 = 0;
      let m3 = 0;
      let m4 = 0;
      for (const v of stored) {
        m2 += (v - mu) ** 2;
        m3 += (v - mu) ** 3;
        m4 += (v - mu) ** 4;
      }
      m2 /= stored.length;
      m3 /= stored.length;
      m4 /= stored.length;
      const expected = deflatedSharpe({ sharpe: (bestRow.metrics.sharpe as number) / Math.sqrt(ppy), n: bestRow.metrics.periods as number, skew: m3 / m2 ** 1.5, kurtosis: m4 / m2 ** 2, trials: 18, varianceOfTrialSharpes: variance });
      expect(r.overfitting.bestRunKey).toBe(bestRow.runKey);
      expect(r.overfitting.bestSharpe).toBe(bestRow.metrics.sharpe);
      expect(r.overfitting.dsr).toBeCloseTo(expected.dsr, 10);
      expect(r.overfitting.expectedMaxSharpe).toBeCloseTo(expected.expectedMaxSharpe, 12);

      // PBO on the T×N matrix read back from DuckDB, with the blocks asked for.
      const matrix = rows.map((x) => returns.get(x.runKey)!);
      expect(r.overfitting.pbo).toBe(probabilityOfOverfitting(matrix, { blocks: 8 }).pbo);
      expect(r.overfitting.pboCombinations).toBe(70); // C(8, 4)

      // `cs sweeps <id> --json` reports the same figures from the store alone.
      const shown = await csInProcess(['sweeps', r.sweepId, '--db', join(dir, 'dsr.duckdb'), '--pbo-blocks', '8', '--json']);
      expect(shown.err).toBe('');
      const j = JSON.parse(shown.out);
      expect(j.overfitting.pbo).toBe(r.overfitting.pbo);
      expect(j.overfitting.dsr).toBe(r.overfitting.dsr);
      expect(j.overfitting.trials).toBe(18);
    });
  });

  it('a resumed sweep has every run\'s returns and the same PBO and DSR as one run straight through', async () => {
    const straight = await runSweep(coinSweep(3));
    await withStore('resume.duckdb', async (store) => {
      const ac = new AbortController();
      await expect(runSweep({ ...coinSweep(3), store, signal: ac.signal, onProgress: (p) => p.done >= 7 && ac.abort(new Error('stop')) })).rejects.toThrow('stop');
      const partial = (await loadSweepRuns(store, straight.sweepId)).length;
      expect(partial).toBeGreaterThanOrEqual(7);
      expect(partial).toBeLessThan(20);
      const resumed = await runSweep({ ...coinSweep(3), store });
      expect(resumed.resumed).toBe(partial);
      expect((await loadSweepReturns(store, straight.sweepId)).size).toBe(20);
      expect(resumed.overfitting).toEqual(straight.overfitting);
    });
  });

  it('worker threads hand back the same returns as the calling thread', async () => {
    const inline = await runSweep({ ...coinSweep(2), space: buildSearchSpace((await loadStrategy(COIN)).strategy, { grid: [parseGridFlag('k=0:5')] }) });
    const pooled = await runSweep({ ...coinSweep(2), space: buildSearchSpace((await loadStrategy(COIN)).strategy, { grid: [parseGridFlag('k=0:5')] }), workers: 2 });
    expect(pooled.runs.map((x) => Array.from(x.returns!))).toEqual(inline.runs.map((x) => Array.from(x.returns!)));
    expect(pooled.overfitting).toEqual(inline.overfitting);
  }, 30_000);

  it('returns survive the trip through Redis (base64) bit for bit', () => {
    const x = Float32Array.from([0, -0, 1e-7, -0.25, 3.4e38, NaN, Infinity]);
    const back = returnsFromBase64(toWire({ params: {}, seed: 1, metrics: {} as never, resultHash: 'h', returns: x.subarray(1) }).returns);
    expect(new Uint8Array(back.buffer)).toEqual(new Uint8Array(x.slice(1).buffer));
    expect(() => returnsFromBase64('AAA=')).toThrow(/not float32s/);
  });

  it('a long run keeps returns compounded over several bars, aligned on the last bar', () => {
    const eq = [100, 110, 99, 108.9, 119.79, 131.769];
    expect(Array.from(curveReturns(eq))).toEqual([110 / 100 - 1, 99 / 110 - 1, 108.9 / 99 - 1, 119.79 / 108.9 - 1, 131.769 / 119.79 - 1].map(Math.fround));
    // 5 returns into at most 3 rows: 2 bars each, the oldest bar left out.
    expect(Array.from(curveReturns(eq, 3))).toEqual([Math.fround(108.9 / 110 - 1), Math.fround(131.769 / 108.9 - 1)]);
    expect(Array.from(curveReturns(eq, 2))).toEqual([Math.fround(131.769 / 99 - 1)]);
    expect(curveReturns(new Float64Array(3 * MAX_RETURN_ROWS + 1).fill(1)).length).toBe(MAX_RETURN_ROWS);
  });

  it('with coarse returns, the DSR is worked on their clock: Sharpe, T, skew and kurtosis of the stored series', () => {
    const rng = createRng(11);
    const rows: SweepRow[] = Array.from({ length: 5 }, (_, k) => {
      const returns = Float32Array.from({ length: 400 }, () => 0.001 * k + 0.01 * (rng.next() - 0.5));
      // The metrics speak of 1,200 bars: the series holds returns over 3 bars each.
      return { sweepId: 's', runKey: `r${k}`, seq: k, params: { k }, seed: 1, datasetHash: 'd', codeHash: 'c', resultHash: 'h', metrics: { sharpe: k, periods: 1200, periodsPerYear: 8760 }, returns };
    });
    const o = sweepOverfitting(rows, { blocks: 4 });
    const sr = rows.map((r) => {
      const x = Array.from(r.returns!);
      const mu = x.reduce((a, v) => a + v, 0) / x.length;
      return mu / Math.sqrt(x.reduce((a, v) => a + (v - mu) ** 2, 0) / (x.length - 1));
    });
    const x = Array.from(rows[4]!.returns!);
    const mu = x.reduce((a, v) => a + v, 0) / x.length;
    const cm = (p: number): number => x.reduce((a, v) => a + (v - mu) ** p, 0) / x.length;
    const msr = sr.reduce((a, v) => a + v, 0) / 5;
    const variance = sr.reduce((a, v) => a + (v - msr) ** 2, 0) / 4;
    const expected = deflatedSharpe({ sharpe: sr[4]!, n: 400, skew: cm(3) / cm(2) ** 1.5, kurtosis: cm(4) / cm(2) ** 2, trials: 5, varianceOfTrialSharpes: variance });
    expect(o.bestRunKey).toBe('r4');
    expect(o.dsr).toBeCloseTo(expected.dsr, 10);
    expect(o.notes.join(' ')).toMatch(/400 returns over 3 bars each/);
    // Run k drifts up by k/1000 per period: the ranking holds in every block.
    expect(o.pbo).toBe(0);
  });

  it('--pbo-blocks must be an even integer', () => {
    expect(parsePboBlocks('16')).toBe(16);
    for (const bad of ['15', '0', 'x', '', '2.5', '26']) expect(() => parsePboBlocks(bad)).toThrow(/--pbo-blocks expects an even integer/);
  });
});

describe('cs gate --sweep with --max-pbo', () => {
  it('passes a sweep whose PBO is under the limit and fails one above it, naming the figure', async () => {
    const db = join(dir, 'gate.duckdb');
    const ids = await withStore('gate.duckdb', async (store) => {
      const good = await runSweep({ ...cyc, store });
      const lucky = await runSweep({ ...coinSweep(7), store });
      const rows = await loadSweepRuns(store, lucky.sweepId);
      const returns = await loadSweepReturns(store, lucky.sweepId);
      const matrix = rows.map((x) => returns.get(x.runKey)!);
      return { good: good.sweepId, lucky: lucky.sweepId, luckyPbo: probabilityOfOverfitting(matrix).pbo, lucky8: probabilityOfOverfitting(matrix, { blocks: 8 }).pbo };
    });
    expect(ids.luckyPbo).toBeGreaterThan(0.5);
    const loose = ['--min-sharpe', '-100', '--max-drawdown', '100%', '--min-history', '0', '--json'];
    const pass = await csInProcess(['gate', '--sweep', ids.good, '--db', db, '--max-pbo', '0.2', ...loose]);
    expect(pass.code).toBe(0);
    const pc = JSON.parse(pass.out).criteria.find((c: { name: string }) => c.name === 'maxPbo');
    expect(pc.pass).toBe(true);
    expect(pc.actual).toBeLessThan(0.1);

    const fail = await csInProcess(['gate', '--sweep', ids.lucky, '--db', db, '--max-pbo', '0.2', ...loose]);
    expect(fail.code).toBe(1);
    const fc = JSON.parse(fail.out).criteria.find((c: { name: string }) => c.name === 'maxPbo');
    expect(fc).toMatchObject({ pass: false, actual: ids.luckyPbo, threshold: 0.2 });
    expect(fc.message).toMatch(/probability of backtest overfitting .* > maximum 0.2/);
    // --pbo-blocks reaches the CSCV; a bad value is bad input (exit 2).
    const eight = await csInProcess(['gate', '--sweep', ids.lucky, '--db', db, '--max-pbo', '0.2', '--pbo-blocks', '8', ...loose]);
    expect(JSON.parse(eight.out).subject.pbo).toBe(ids.lucky8);
    const bad = await csInProcess(['gate', '--sweep', ids.lucky, '--db', db, '--max-pbo', '0.2', '--pbo-blocks', '5', ...loose]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--pbo-blocks expects an even integer/);
  });
});
