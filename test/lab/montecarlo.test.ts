import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../datasets/store.ts';
import { csInProcess } from '../support/cli.ts';
import { InputError } from '../../engine/errors.ts';
import { createRng } from '../../engine/rng.ts';
import { generateBars } from '../../datasets/synth.ts';
import { quantileSorted } from '../../engine/metrics.ts';
import { backtestRequestSchema, runLoaded } from '../../lab/backtest.ts';
import { loadStrategy } from '../../lab/strategy-loader.ts';
import {
  bootstrapReturns,
  calibrateGbm,
  perturbBars,
  rerunPaths,
  shuffleTrades,
  statsOfReturns,
  tradeEquityReturns,
} from '../../lab/montecarlo.ts';

const H = 3_600_000;

describe('percentiles and path statistics', () => {
  it('type-7 quantiles as numpy.percentile gives them', () => {
    // np.percentile([1, 2, 3, 4], [5, 50, 95]) → [1.15, 2.5, 3.85]
    const s = Float64Array.from([1, 2, 3, 4]);
    expect(quantileSorted(s, 0.05)).toBeCloseTo(1.15, 12);
    expect(quantileSorted(s, 0.5)).toBe(2.5);
    expect(quantileSorted(s, 0.95)).toBeCloseTo(3.85, 12);
  });
  it('hand-worked path: +50 %, −20 %, −20 %', () => {
    // 1 → 1.5 → 1.2 → 0.96: final −4 %, drawdown 0.96/1.5 − 1 = −36 %.
    const st = statsOfReturns([0.5, -0.2, -0.2], 3, 1);
    expect(st.finalReturn).toBeCloseTo(-0.04, 12);
    expect(st.maxDrawdown).toBeCloseTo(-0.36, 12);
    // mean 1/30, sample sd √((0.4667² + 2·0.2333²)/2) = 0.40415
    expect(st.sharpe).toBeCloseTo(1 / 30 / 0.40414518843273806, 10);
  });
});

describe('trade-order shuffle', () => {
  const r = Float64Array.from([0.5, -0.2, -0.2]);
  it('every order ends at the same final return; the drawdown follows the 6 orderings by hand', () => {
    // Orders starting with +50 % then two losses, or two losses first: −36 % (4 of the 6
    // permutations); a loss, the gain, then a loss: −20 % (2 of 6). P(ruin at 30 %) = 2/3.
    const res = shuffleTrades(r, 3, { paths: 30_000, seed: 4, ruinDrawdown: 0.3 });
    expect(res.finalReturn.p5).toBeCloseTo(-0.04, 12);
    expect(res.finalReturn.p95).toBeCloseTo(-0.04, 12);
    expect(Math.abs(res.probRuin - 2 / 3)).toBeLessThan(0.015);
    expect(res.maxDrawdown.p5).toBeCloseTo(-0.36, 12);
    expect(res.maxDrawdown.p95).toBeCloseTo(-0.2, 12);
    expect(Math.abs(res.maxDrawdown.mean - (4 * -0.36 + 2 * -0.2) / 6)).toBeLessThan(0.005);
  });
  it('is seeded: same seed, same result; another seed, another', () => {
    const trades = Float64Array.from({ length: 200 }, (_, i) => Math.sin(i * 1.7) * 0.02 + 0.001);
    const a = shuffleTrades(trades, 100, { paths: 2000, seed: 1 });
    const b = shuffleTrades(trades, 100, { paths: 2000, seed: 1 });
    const c = shuffleTrades(trades, 100, { paths: 2000, seed: 2 });
    expect(b).toEqual(a);
    expect(c.maxDrawdown).not.toEqual(a.maxDrawdown);
  });
  it('trade returns are measured on the account at entry', () => {
    const ts = Float64Array.from([0, 10, 20, 30]);
    const eq = Float64Array.from([100, 200, 400, 800]);
    const out = tradeEquityReturns(
      [
        { entryTs: 10, pnl: 20 },
        { entryTs: 25, pnl: -40 },
      ],
      ts,
      eq,
    );
    expect(Array.from(out)).toEqual([0.1, -0.1]);
  });
  it('refuses fewer than two trades', () => {
    expect(() => shuffleTrades(Float64Array.from([0.1]), 1, { paths: 10 })).toThrow(InputError);
  });
});

describe('bootstrap of per-bar returns', () => {
  const rng = createRng(8);
  const returns = Float64Array.from({ length: 300 }, () => 0.001 + 0.01 * rng.normal());
  it('iid: the mean final growth is (1 + mean return)^n (expectation of a product of independent draws)', () => {
    const res = bootstrapReturns(returns, 8760, { method: 'bootstrap', paths: 20_000, seed: 3 });
    let mean = 0;
    for (const x of returns) mean += x / returns.length;
    const expected = Math.pow(1 + mean, returns.length) - 1;
    // Standard error of the mean over 20,000 paths is ≈ 0.0012 here.
    expect(Math.abs(res.finalReturn.mean - expected)).toBeLessThan(0.005);
  });
  it('block with an endless block length replays the series from a random start: every path ends where the run ended', () => {
    const res = bootstrapReturns(returns, 8760, { method: 'block', blockLength: 1e12, paths: 500, seed: 3 });
    const observed = statsOfReturns(returns, returns.length, 8760).finalReturn;
    expect(res.finalReturn.p5).toBeCloseTo(observed, 10);
    expect(res.finalReturn.p95).toBeCloseTo(observed, 10);
  });
  it('block keeps autocorrelation: on trending runs its spread of final returns is wider than iid', () => {
    // Ten-bar runs of +1 % then ten of −1 %: iid resampling destroys the runs, blocks keep them.
    const trend = Float64Array.from({ length: 400 }, (_, i) => (Math.floor(i / 10) % 2 === 0 ? 0.01 : -0.01));
    const iid = bootstrapReturns(trend, 8760, { method: 'bootstrap', paths: 4000, seed: 5 });
    const blk = bootstrapReturns(trend, 8760, { method: 'block', blockLength: 10, paths: 4000, seed: 5 });
    expect(blk.maxDrawdown.p5).toBeLessThan(iid.maxDrawdown.p5);
  });
  it('probability of ruin counts paths whose drawdown reaches the threshold', () => {
    const res = bootstrapReturns(returns, 8760, { method: 'bootstrap', paths: 3000, seed: 9, ruinDrawdown: 0.05 });
    const res2 = bootstrapReturns(returns, 8760, { method: 'bootstrap', paths: 3000, seed: 9, ruinDrawdown: 0.5 });
    expect(res.probRuin).toBeGreaterThan(res2.probRuin);
    expect(res2.probRuin).toBe(0);
  });
  it('bad options are InputErrors naming the field', () => {
    expect(() => bootstrapReturns(returns, 1, { method: 'bootstrap', paths: 0 })).toThrow(/paths/);
    expect(() => bootstrapReturns(returns, 1, { method: 'block', paths: 10, ruinDrawdown: 2 })).toThrow(/ruinDrawdown/);
  });
});

describe('re-running the strategy', () => {
  const bars = generateBars({ symbol: 'BTC/USDT', timeframeMs: H, from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 3, 1), seed: 2, model: { kind: 'gbm', drift: 0.1, vol: 0.5 } });
  const config = backtestRequestSchema.parse({ strategy: 'sma-cross', symbols: ['BTC/USDT'], timeframe: '1h', params: { fast: 10, slow: 30 } });
  it('calibration recovers the drift and volatility of a GBM it did not generate', () => {
    const long = generateBars({ symbol: 'X', timeframeMs: H, from: 0, to: 4 * 365 * 86_400_000, seed: 12, model: { kind: 'gbm', drift: 0.2, vol: 0.8 } });
    const m = calibrateGbm(long);
    expect(m.vol).toBeCloseTo(0.8, 2);
    // Drift over 4 years has a standard error of σ/√4 = 0.4.
    expect(Math.abs(m.drift - 0.2)).toBeLessThan(0.8);
  });
  it('noise of σ = 0 leaves every path equal to the original run', async () => {
    const loaded = await loadStrategy('sma-cross');
    const rerun = (s: readonly (typeof bars)[]) => ({ equity: runLoaded(loaded, config, s, []).run.curve.equity });
    const base = rerun([bars]).equity;
    const res = rerunPaths([bars], rerun, base, 8760, { method: 'noise', noise: 0, paths: 3, seed: 1 });
    expect(res.finalReturn.p5).toBe(res.observed.finalReturn);
    expect(res.finalReturn.p95).toBe(res.observed.finalReturn);
    const noisy = rerunPaths([bars], rerun, base, 8760, { method: 'noise', paths: 20, seed: 1 });
    expect(noisy.finalReturn.p95).toBeGreaterThan(noisy.finalReturn.p5);
    expect(rerunPaths([bars], rerun, base, 8760, { method: 'noise', paths: 20, seed: 1 })).toEqual(noisy);
  });
  it('perturbed bars stay valid bars (high ≥ open, close ≥ low)', () => {
    const p = perturbBars(bars, 0.01, createRng(1));
    for (let i = 0; i < p.length; i++) {
      expect(p.high[i]!).toBeGreaterThanOrEqual(Math.max(p.open[i]!, p.close[i]!, p.low[i]!));
      expect(p.low[i]!).toBeLessThanOrEqual(Math.min(p.open[i]!, p.close[i]!));
    }
  });
  it('synthetic paths are fresh GBM data on the same grid and are seeded', async () => {
    const loaded = await loadStrategy('sma-cross');
    const seen: number[] = [];
    const rerun = (s: readonly (typeof bars)[]) => {
      expect(s[0]!.length).toBe(bars.length);
      expect(s[0]!.ts[0]).toBe(bars.ts[0]);
      seen.push(s[0]!.close[100]!);
      return { equity: runLoaded(loaded, config, s, []).run.curve.equity };
    };
    const base = runLoaded(loaded, config, [bars], []).run.curve.equity;
    const a = rerunPaths([bars], rerun, base, 8760, { method: 'synthetic', paths: 5, seed: 7 });
    expect(new Set(seen).size).toBe(5);
    expect(rerunPaths([bars], rerun, base, 8760, { method: 'synthetic', paths: 5, seed: 7 })).toEqual(a);
    expect(a.settings['vol:BTC/USDT']).toBeCloseTo(0.5, 1);
  });
});

describe('cs montecarlo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-mc-'));
  const db = join(dir, 'mc.duckdb');
  let runId = '';
  beforeAll(async () => {
    const store = await openStore(db);
    try {
      await store.writeBars({ exchange: 'synthetic', symbol: 'BTC/USDT', timeframe: '1h' }, generateBars({ symbol: 'BTC/USDT', timeframeMs: H, from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 4, 1), seed: 7, model: { kind: 'gbm', drift: 0.2, vol: 0.7 } }));
    } finally {
      await store.close();
    }
    const r = await csInProcess(['backtest', '--strategy', 'sma-cross', '--param', 'fast=10', '--param', 'slow=30', '--symbol', 'BTC/USDT', '--timeframe', '1h', '--db', db, '--json']);
    runId = JSON.parse(r.out).runId;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('every method runs from a stored run, seeded, observed values matching the run', async () => {
    for (const method of ['shuffle', 'bootstrap', 'block']) {
      const args = ['montecarlo', '--run', runId, '--method', method, '--paths', '2000', '--seed', '3', '--db', db, '--json'];
      const a = await csInProcess(args);
      expect(a.err).toBe('');
      expect(a.code).toBe(0);
      expect((await csInProcess(args)).out).toBe(a.out);
      const j = JSON.parse(a.out);
      expect(j.paths).toBe(2000);
      for (const k of ['finalReturn', 'maxDrawdown', 'sharpe']) for (const p of ['p5', 'p50', 'p95']) expect(typeof j[k][p]).toBe('number');
      expect(j.probRuin).toBeGreaterThanOrEqual(0);
    }
    const b = JSON.parse((await csInProcess(['montecarlo', '--run', runId, '--method', 'bootstrap', '--paths', '100', '--db', db, '--json'])).out);
    const bt = JSON.parse((await csInProcess(['backtest', '--strategy', 'sma-cross', '--param', 'fast=10', '--param', 'slow=30', '--symbol', 'BTC/USDT', '--timeframe', '1h', '--db', db, '--json', '--no-save'])).out);
    expect(b.observed.finalReturn).toBeCloseTo(bt.metrics.totalReturn, 10);
    expect(b.observed.maxDrawdown).toBeCloseTo(bt.metrics.maxDrawdown, 10);
    expect(b.observed.sharpe).toBeCloseTo(bt.metrics.sharpe, 10);
  });
  it('re-runs the strategy for noise and synthetic, reproducing the stored run first', async () => {
    const r = await csInProcess(['montecarlo', '--run', runId, '--method', 'noise', '--paths', '8', '--db', db, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.warnings).toEqual([]);
    const s = await csInProcess(['montecarlo', '--run', runId, '--method', 'synthetic', '--paths', '8', '--db', db]);
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/final return/);
  });
  it('bad input exits 2', async () => {
    expect((await csInProcess(['montecarlo', '--run', runId, '--method', 'magic', '--db', db])).code).toBe(2);
    expect((await csInProcess(['montecarlo', '--run', runId, '--paths', '0', '--db', db])).code).toBe(2);
    expect((await csInProcess(['montecarlo', '--run', 'run-x', '--db', db])).code).toBe(2);
    expect((await csInProcess(['montecarlo', '--run', runId, '--ruin-drawdown', '1.5', '--db', db])).code).toBe(2);
  });
});
