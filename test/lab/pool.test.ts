import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../engine/hash.ts';
import { generateBars } from '../../datasets/synth.ts';
import { sliceBars } from '../../datasets/columns.ts';
import { parseRunConfig } from '../../lab/evaluate.ts';
import { marketFromColumns, type Market } from '../../lab/market-data.ts';
import { BacktestPool, InlineExecutor, type RunTask } from '../../lab/pool.ts';
import { runKeyOf } from '../../lab/sweep.ts';

const bars = generateBars({ symbol: 'BTC/USDT', timeframeMs: 3_600_000, from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 3, 1), seed: 11, model: { kind: 'gbm', drift: 0.1, vol: 0.8 } });
const market: Market = marketFromColumns([bars], 'synthetic');
const config = parseRunConfig({ strategy: 'sma-cross', symbols: ['BTC/USDT'], timeframe: '1h', seed: 3 });
const tasks: RunTask[] = [];
for (const fast of [5, 10, 15, 20, 25]) for (const slow of [30, 40, 50, 60]) tasks.push({ key: runKeyOf('t', { fast, slow }), params: { fast, slow }, seed: 3 });

describe('backtest pool (Piscina worker threads, tsx-loaded)', () => {
  let pool: BacktestPool;
  beforeAll(async () => {
    pool = await BacktestPool.create({ strategy: 'sma-cross', config, market, workers: 2 });
  });
  afterAll(() => pool?.close());

  it('workers read the main thread\'s SharedArrayBuffer: a write after start is seen, no copy was made', async () => {
    const close = pool.market.series[0]!.close;
    expect(close.buffer).toBeInstanceOf(SharedArrayBuffer);
    const i = 1234;
    const before = close[i]!;
    close[i] = 98765.4321;
    try {
      // Several probes at once so both threads answer.
      const answers = await Promise.all(Array.from({ length: 6 }, () => pool.probe(0, 'close', i)));
      for (const a of answers) {
        expect(a.shared).toBe(true);
        expect(a.value).toBe(98765.4321);
      }
      let sum = 0;
      for (let k = 0; k < close.length; k++) sum += close[k]!;
      expect(answers[0]!.sum).toBe(sum);
    } finally {
      close[i] = before;
    }
    expect((await pool.probe(0, 'close', i)).value).toBe(before);
  });

  it('identical results (bit for bit) at 0 (inline), 1, 2 and 4 workers', async () => {
    const results: string[] = [];
    const inline = await InlineExecutor.create({ strategy: 'sma-cross', config, market });
    results.push(canonicalJson(await inline.run(tasks)));
    results.push(canonicalJson(await pool.run(tasks)));
    for (const workers of [1, 4]) {
      const p = await BacktestPool.create({ strategy: 'sma-cross', config, market, workers });
      try {
        results.push(canonicalJson(await p.run(tasks)));
      } finally {
        await p.close();
      }
    }
    expect(results[0]).toContain('resultHash');
    for (const r of results.slice(1)) expect(r).toBe(results[0]);
    // Different params give different results: the comparison above has something to compare.
    const parsed = JSON.parse(results[0]!) as { resultHash: string }[];
    expect(new Set(parsed.map((p) => p.resultHash)).size).toBe(tasks.length);
  });

  it('a window of the pool\'s market (walk-forward) runs on the same threads and equals a run on the sliced data', async () => {
    const sub = marketFromColumns([sliceBars(market.series[0]!, 300, 1500)], 'synthetic');
    const inline = await InlineExecutor.create({ strategy: 'sma-cross', config, market: sub });
    const some = tasks.slice(0, 6);
    const expected = canonicalJson(await inline.run(some));
    expect(canonicalJson(await pool.on(sub).run(some))).toBe(expected);
    expect(expected).not.toBe(canonicalJson(await pool.run(some)));
    const notASlice = marketFromColumns([generateBars({ symbol: 'BTC/USDT', timeframeMs: 3_600_000, from: Date.UTC(2024, 0, 5), to: Date.UTC(2024, 0, 20), seed: 99, model: { kind: 'gbm', drift: 0, vol: 0.5 } })], 'synthetic');
    expect(() => pool.on(notASlice)).toThrow(/not a contiguous slice/);
  });

  it('a bad parameter set fails as bad input, in the worker as inline', async () => {
    await expect(pool.runOne({ fast: 50, slow: 10 }, 1)).rejects.toThrow(/fast must be smaller than slow/);
    await expect(pool.runOne({ fast: 50, slow: 10 }, 1)).rejects.toHaveProperty('name', 'InputError');
  });
});
