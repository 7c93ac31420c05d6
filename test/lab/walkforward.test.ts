import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BarColumns } from '../../engine/types.ts';
import { InputError } from '../../engine/errors.ts';
import { createRng } from '../../engine/rng.ts';
import { generateBars } from '../../datasets/synth.ts';
import { openStore } from '../../datasets/store.ts';
import { loadWalkForward, saveWalkForward } from '../../datasets/walkforward.ts';
import { backtestRequestSchema, runLoaded } from '../../lab/backtest.ts';
import { loadStrategy, type LoadedStrategy } from '../../lab/strategy-loader.ts';
import { buildSearchSpace, gridPoints, withFixed, type SearchSpace } from '../../lab/search-space.ts';
import { planWindows, stabilityOf, sweepOptimiser, walkForward, walkForwardJson, walkForwardOptionsSchema, type Market, type WalkForwardReport } from '../../lab/walkforward.ts';
import { sliceBars, lowerBound } from '../../datasets/columns.ts';
import { csInProcess } from '../support/cli.ts';
import { BacktestPool } from '../../lab/pool.ts';

const DAY = 86_400_000;
const FROM = Date.UTC(2024, 0, 1);
const TO = FROM + 240 * DAY;
const H = 3_600_000;

let loaded: LoadedStrategy;
let space: SearchSpace;
const config = backtestRequestSchema.parse({ strategy: 'sma-cross', symbols: ['BTC/USDT'], timeframe: '1h' });
const bars = generateBars({ symbol: 'BTC/USDT', timeframeMs: H, from: FROM, to: TO, seed: 3, model: { kind: 'gbm', drift: 0.3, vol: 0.6 } });
const market = (series: BarColumns): Market => ({ series: [series], datasets: [], datasetHash: 'test' });
const options = { isMs: 60 * DAY, oosMs: 20 * DAY };
let base: WalkForwardReport;

beforeAll(async () => {
  loaded = await loadStrategy('sma-cross');
  space = buildSearchSpace(loaded.strategy, { grid: [{ name: 'fast', min: 5, max: 15, step: 5 }, { name: 'slow', min: 30, max: 60, step: 30 }] });
  base = await walkForward({ loaded, config, market: market(bars), space, options });
});

describe('window plan', () => {
  it('rolling: 60d IS + 20d OOS stepping 20d over 240 days gives 9 back-to-back OOS windows', () => {
    // 60 + 20 + 20k ≤ 240 → k ≤ 8.
    const w = planWindows(FROM, TO, walkForwardOptionsSchema.parse(options));
    expect(w).toHaveLength(9);
    expect(w[0]).toEqual({ isFrom: FROM, isTo: FROM + 60 * DAY, oosFrom: FROM + 60 * DAY, oosTo: FROM + 80 * DAY });
    for (let k = 1; k < w.length; k++) {
      expect(w[k]!.oosFrom).toBe(w[k - 1]!.oosTo);
      expect(w[k]!.isTo - w[k]!.isFrom).toBe(60 * DAY);
    }
    expect(w[8]!.oosTo).toBe(TO);
  });
  it('anchored: every IS starts at the first bar and grows by the step', () => {
    const w = planWindows(FROM, TO, walkForwardOptionsSchema.parse({ ...options, anchored: true }));
    expect(w).toHaveLength(9);
    for (const [k, x] of w.entries()) {
      expect(x.isFrom).toBe(FROM);
      expect(x.isTo).toBe(FROM + (60 + 20 * k) * DAY);
    }
  });
  it('a step shorter than the OOS window (overlapping OOS) is refused', () => {
    expect(walkForwardOptionsSchema.safeParse({ ...options, stepMs: 10 * DAY }).success).toBe(false);
  });
});

describe('walk-forward on sma-cross', () => {
  it('chooses, per window, the grid point with the best IS Sharpe (checked by brute force)', () => {
    const w0 = base.windows[0]!;
    const is = sliceBars(bars, lowerBound(bars.ts, w0.isFrom), lowerBound(bars.ts, w0.isTo));
    let best = -Infinity;
    let bestParams: unknown;
    for (const p of gridPoints(space)) {
      const params = withFixed(space, p);
      if (!loaded.strategy.params.safeParse(params).success) continue;
      const s = runLoaded(loaded, { ...config, params: { ...params } }, [is], []).metrics.sharpe;
      if (s > best) ((best = s), (bestParams = params));
    }
    expect(w0.params).toEqual(bestParams);
    expect(w0.isScore).toBe(best);
    // fast=5..15 step 5 × slow=30,60: all 6 combinations satisfy fast < slow.
    expect(w0.trials).toBe(6);
  });
  it('stitches the OOS windows: final equity = cash × Π(1 + window OOS return)', () => {
    const product = base.windows.reduce((a, w) => a * (1 + w.oosMetrics.totalReturn), 1);
    const eq = base.stitched.equity;
    expect(eq[0]).toBe(config.cash);
    expect(eq[eq.length - 1]! / config.cash).toBeCloseTo(product, 10);
    expect(base.stitched.ts[0]).toBe(base.windows[0]!.oosFrom);
    expect(base.stitched.ts[base.stitched.ts.length - 1]).toBe(base.windows[base.windows.length - 1]!.oosTo);
    for (let i = 1; i < base.stitched.ts.length; i++) expect(base.stitched.ts[i]! - base.stitched.ts[i - 1]!).toBe(H);
    expect(base.oosMetrics.totalReturn).toBeCloseTo(product - 1, 10);
  });
  it('no order decided before the OOS window fills in it: equity is flat through the first OOS bar', () => {
    for (const w of base.windows) {
      const i = lowerBound(base.stitched.ts, w.oosFrom);
      expect(base.stitched.ts[i + 1]).toBe(w.oosFrom + H);
      expect(base.stitched.equity[i + 1]).toBe(base.stitched.equity[i]);
    }
  });
  it('warm-up replays past bars but refuses their orders: buy-and-hold (buys on its first bar only) never buys OOS', async () => {
    const bh = await loadStrategy('buy-and-hold');
    const none: SearchSpace = { dimensions: [], fixed: {} };
    const cfg = { ...config, strategy: 'buy-and-hold' };
    const warm = await walkForward({ loaded: bh, config: cfg, market: market(bars), space: none, options: { ...options, pboBlocks: 0 } });
    for (const w of warm.windows) {
      expect(w.oosMetrics.numTrades).toBe(0);
      expect(w.oosMetrics.totalReturn).toBe(0);
    }
    // Without warm-up its first bar is the first OOS bar: it buys at the second bar's open and
    // holds, so each window's return is the price change from there, less the 10 bps fee.
    const cold = await walkForward({ loaded: bh, config: cfg, market: market(bars), space: none, options: { ...options, pboBlocks: 0, warmupBars: 0 } });
    for (const w of cold.windows) {
      const a = lowerBound(bars.ts, w.oosFrom) + 1;
      const b = lowerBound(bars.ts, w.oosTo) - 1;
      expect(w.oosMetrics.totalReturn).toBeCloseTo((bars.close[b]! / bars.open[a]!) * (1 - 0.001) - 1, 3);
    }
  });
  it('poisoned future: changing every bar after window 3 changes nothing in windows 0–3', async () => {
    const cut = base.windows[3]!.oosTo;
    const k = lowerBound(bars.ts, cut);
    const rng = createRng(99);
    const poison = (a: Float64Array): Float64Array => {
      const b = a.slice();
      for (let i = k; i < b.length; i++) b[i] = b[i]! * (0.5 + rng.next());
      return b;
    };
    const high = poison(bars.high);
    const open = bars.open.slice();
    const close = bars.close.slice();
    const low = bars.low.slice();
    for (let i = k; i < bars.length; i++) {
      // Wild but valid bars: open/close inside [low, high].
      low[i] = high[i]! * 0.8;
      open[i] = high[i]! * 0.9;
      close[i] = high[i]! * (0.8 + 0.2 * rng.next());
    }
    const poisoned: BarColumns = { ...bars, open, high, low, close };
    const r = await walkForward({ loaded, config, market: market(poisoned), space, options });
    for (let j = 0; j <= 3; j++) {
      expect(r.windows[j]!.params).toEqual(base.windows[j]!.params);
      expect(r.windows[j]!.oosHash).toBe(base.windows[j]!.oosHash);
      expect(r.windows[j]!.oosMetrics).toEqual(base.windows[j]!.oosMetrics);
    }
    // The poison did reach the later windows, so the check above could have failed.
    expect(r.windows.slice(4).some((w, j) => w.oosHash !== base.windows[j + 4]!.oosHash)).toBe(true);
  });
  it('is deterministic and reports efficiency, stability and overfitting statistics', async () => {
    const again = await walkForward({ loaded, config, market: market(bars), space, options });
    expect(again.id).toBe(base.id);
    expect(base.id).toMatch(/^wf-[0-9a-f]{16}$/);
    const isCagr = base.windows.reduce((a, w) => a + w.isMetrics.cagr, 0) / base.windows.length;
    if (isCagr > 0) expect(base.efficiency.returnRatio).toBeCloseTo(base.oosMetrics.cagr / isCagr, 12);
    else expect(base.efficiency.returnRatio).toBeNaN();
    expect(Object.keys(base.stability.params).sort()).toEqual(['fast', 'slow']);
    expect(base.overfitting.trials).toBe(6);
    expect(base.overfitting.dsr).toBeGreaterThanOrEqual(0);
    expect(base.overfitting.dsr).toBeLessThanOrEqual(base.overfitting.psr);
    expect(base.overfitting.pbo).not.toBeNull();
    expect(base.overfitting.pboCombinations).toBe(12870);
    const j = walkForwardJson(base);
    expect(JSON.parse(JSON.stringify(j)).windows).toHaveLength(9);
  });
  it('refuses data too short for one window', async () => {
    const short = sliceBars(bars, 0, 24 * 30);
    await expect(walkForward({ loaded, config, market: market(short), space, options })).rejects.toThrow(InputError);
  });
});

describe('parameter stability', () => {
  it('hand-worked: fast = 10, 20, 10', () => {
    // mean 40/3; population sd √(((10−40/3)²·2 + (20−40/3)²)/3) = √(200/9) = 4.714; cv = 0.35355.
    const s = stabilityOf([{ fast: 10 }, { fast: 20 }, { fast: 10 }]);
    expect(s.params.fast!.mean).toBeCloseTo(40 / 3, 12);
    expect(s.params.fast!.std).toBeCloseTo(Math.sqrt(200 / 9), 12);
    expect(s.params.fast!.cv).toBeCloseTo(Math.sqrt(200 / 9) / (40 / 3), 12);
    expect(s.changeRate).toBe(1);
    expect(stabilityOf([{ a: 1 }, { a: 1 }]).changeRate).toBe(0);
  });
});

describe('storage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-wf-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('round-trips a report and its stitched curve through DuckDB', async () => {
    const store = await openStore(join(dir, 'wf.duckdb'));
    try {
      const rec = { id: base.id, strategy: base.strategy, codeHash: base.codeHash, datasetHash: base.datasetHash, timeframe: base.timeframe, symbols: base.symbols, report: walkForwardJson(base), curve: base.stitched };
      await saveWalkForward(store, rec);
      await saveWalkForward(store, rec);
      const back = await loadWalkForward(store, base.id);
      expect(back).toBeDefined();
      expect(Array.from(back!.curve.equity)).toEqual(Array.from(base.stitched.equity));
      expect((back!.report.overfitting as { trials: number }).trials).toBe(6);
      expect(await loadWalkForward(store, 'wf-nope')).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});

describe('the sweep runner as the window optimiser', () => {
  it('chooses the same parameters and gives the same OOS results as the inline optimiser', async () => {
    const o = walkForwardOptionsSchema.parse({ ...options, pboBlocks: 0 });
    const viaSweep = await walkForward({ loaded, config, market: market(bars), space, options: o, optimiser: sweepOptimiser('sma-cross', config, o, 0) });
    expect(viaSweep.windows.map((w) => w.params)).toEqual(base.windows.map((w) => w.params));
    expect(viaSweep.windows.map((w) => w.oosHash)).toEqual(base.windows.map((w) => w.oosHash));
    expect(viaSweep.overfitting.dsr).toBe(base.overfitting.dsr);
  });

  it('on 1 and 2 worker threads: one pool for the whole walk-forward, closed at the end; the same report as inline', async () => {
    const o = walkForwardOptionsSchema.parse({ ...options, pboBlocks: 0 });
    const create = vi.spyOn(BacktestPool, 'create');
    const close = vi.spyOn(BacktestPool.prototype, 'close');
    try {
      for (const workers of [1, 2]) {
        create.mockClear();
        close.mockClear();
        const pooled = await walkForward({ loaded, config, market: market(bars), space, options: o, optimiser: sweepOptimiser('sma-cross', config, o, workers) });
        expect(pooled.windows).toHaveLength(9);
        expect(create).toHaveBeenCalledTimes(1);
        expect(close).toHaveBeenCalledTimes(1);
        expect(pooled.windows.map((w) => w.params)).toEqual(base.windows.map((w) => w.params));
        expect(pooled.windows.map((w) => w.isScore)).toEqual(base.windows.map((w) => w.isScore));
        expect(pooled.windows.map((w) => w.oosHash)).toEqual(base.windows.map((w) => w.oosHash));
        expect(Array.from(pooled.stitched.equity)).toEqual(Array.from(base.stitched.equity));
        expect(pooled.overfitting.dsr).toBe(base.overfitting.dsr);
      }
      // The windows chose different parameters, so equal choices above are not one fixed answer.
      expect(new Set(base.windows.map((w) => JSON.stringify(w.params))).size).toBeGreaterThan(1);
    } finally {
      create.mockRestore();
      close.mockRestore();
    }
  }, 60_000);

  it('a window that fails still closes the pool, and the optimiser can run again afterwards', async () => {
    const o = walkForwardOptionsSchema.parse({ ...options, pboBlocks: 0 });
    const inner = sweepOptimiser('sma-cross', config, o, 2);
    let calls = 0;
    const failing = Object.assign(
      async (...a: Parameters<typeof inner>) => {
        if (calls++ === 2) throw new Error('window 2 broke');
        return inner(...a);
      },
      { close: () => inner.close!() },
    );
    const create = vi.spyOn(BacktestPool, 'create');
    const close = vi.spyOn(BacktestPool.prototype, 'close');
    try {
      await expect(walkForward({ loaded, config, market: market(bars), space, options: o, optimiser: failing })).rejects.toThrow(/window 2 broke/);
      expect(create).toHaveBeenCalledTimes(1);
      expect(close).toHaveBeenCalledTimes(1);
      const again = await walkForward({ loaded, config, market: market(bars), space, options: o, optimiser: inner });
      expect(again.windows.map((w) => w.oosHash)).toEqual(base.windows.map((w) => w.oosHash));
      expect(create).toHaveBeenCalledTimes(2);
      expect(close).toHaveBeenCalledTimes(2);
    } finally {
      create.mockRestore();
      close.mockRestore();
    }
  }, 60_000);
});

describe('cs walkforward input errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-wf-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const args = ['walkforward', '--strategy', 'sma-cross', '--symbol', 'BTC/USDT', '--timeframe', '1h', '--grid', 'fast=5:10:5', '--grid', 'slow=30:60:30'];
  it('exit 2 with the reason, and no database file appears', async () => {
    const db = join(dir, 'none.duckdb');
    const cases: [string[], RegExp][] = [
      [['--is', 'ninety', '--oos', '30d'], /--is expects a duration/],
      [['--is', '90d', '--oos', '30d', '--step', '10d'], /step must be at least the OOS length/],
      [['--is', '90d', '--oos', '30d', '--grid', 'fast=1:3:1'], /fast/],
      [['--is', '90d', '--oos', '30d'], /no database/],
    ];
    for (const [extra, msg] of cases) {
      const r = await csInProcess([...args, ...extra, '--db', db]);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.err).toMatch(msg);
    }
    expect(existsSync(db)).toBe(false);
  });
  it('--help', async () => {
    const r = await csInProcess(['walkforward', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--anchored/);
  });
});
