/**
 * Benchmark 4 of issue 2 (memory part): peak memory of a multi-symbol backtest over a year of
 * 1-minute bars on 10 symbols. Target < 1 GB peak RSS.
 *
 *   npx tsx test/bench/memory.ts
 */
import { generateBars } from '../../datasets/synth.ts';
import { runColumnar } from '../../engine/backtest.ts';
import smaCross from '../../engine/strategies/sma-cross.ts';
import type { AnyStrategy } from '../../engine/strategy.ts';
import { emit } from './support.ts';

const YEAR_1M = 525_600;
const bars = (seed: number, symbol: string) =>
  generateBars({ symbol, timeframeMs: 60_000, from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 0, 1) + YEAR_1M * 60_000, seed, model: { kind: 'gbm', drift: 0.1, vol: 0.6 } });

{
  const before = process.memoryUsage();
  const series = Array.from({ length: 10 }, (_, k) => bars(100 + k, `SYM${k}/USDT`));
  const t0 = performance.now();
  const r = runColumnar({ strategy: smaCross as unknown as AnyStrategy, params: {}, seed: 1, cash: 100_000 }, series);
  const s = (performance.now() - t0) / 1000;
  const after = process.memoryUsage();
  // Peak resident set of the whole process (data, engine, garbage not yet collected): what the box needs.
  const peak = process.resourceUsage().maxRSS / 1024;
  emit({ bench: 'engine.memory.10-symbols-1y-1m', value: Math.round(peak), unit: 'MiB peak rss', target: 1024, rssAfterMiB: Math.round(after.rss / 2 ** 20), orders: r.orders.length, heapUsedMiB: Math.round(after.heapUsed / 2 ** 20), arrayBuffersMiB: Math.round(after.arrayBuffers / 2 ** 20), rssBeforeMiB: Math.round(before.rss / 2 ** 20), bars: r.barsProcessed, seconds: +s.toFixed(3), barsPerSec: Math.round(r.barsProcessed / s) });
}
