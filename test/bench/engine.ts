/**
 * Benchmark 1 of issue 2: engine throughput (the other figures: broker.ts, memory.ts, duckdb-load.ts).
 *
 *   npx tsx test/bench/engine.ts            (or: npm run bench)
 *
 * One JSON line per figure. The baseline of the engine figure is a hand-written Float64Array loop
 * of the same strategy (SMA 20/50 cross, all-in long/flat, 0.1 % taker fee, fills at the next
 * bar's open) in this process; the engine's final equity must equal the loop's to the bit.
 */
import { generateBars } from '../../datasets/synth.ts';
import { runColumnar } from '../../engine/backtest.ts';
import type { BarColumns } from '../../engine/types.ts';
import smaCross from '../../engine/strategies/sma-cross.ts';
import type { AnyStrategy } from '../../engine/strategy.ts';
import { emit } from './support.ts';

const YEAR_1M = 525_600;
const FEE_BPS = 10;

function bars(seed: number, symbol = 'BTC/USDT'): BarColumns {
  return generateBars({ symbol, timeframeMs: 60_000, from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 0, 1) + YEAR_1M * 60_000, seed, model: { kind: 'gbm', drift: 0.1, vol: 0.6 } });
}

/** The same strategy with no engine: rolling sums re-summed every window like the SMA kernel. */
function rawLoop(c: BarColumns, fast: number, slow: number): number {
  const n = c.length, open = c.open, close = c.close;
  const fee = FEE_BPS / 10_000;
  const fb = new Float64Array(fast), sb = new Float64Array(slow);
  let fs = 0, ss = 0, fp = 0, sp = 0, fn = 0, sn = 0;
  let cash = 10_000, qty = 0, pending = 0, pendingAmt = 0;
  for (let i = 0; i < n; i++) {
    if (pending !== 0) {
      const px = open[i]!;
      if (pending > 0) {
        let amt = pendingAmt;
        const affordable = Math.max(0, cash) / (px * (1 + fee));
        if (affordable < amt) amt = affordable;
        cash -= amt * px + amt * px * fee;
        qty += amt;
      } else {
        const amt = qty;
        cash -= -amt * px + amt * px * fee;
        qty = 0;
      }
      pending = 0;
    }
    const x = close[i]!;
    if (fn < fast) (fs += x), fn++;
    else fs = fs + x - fb[fp]!;
    fb[fp] = x;
    if (++fp === fast) {
      fp = 0;
      fs = 0;
      for (let j = 0; j < fast; j++) fs += fb[j]!;
    }
    if (sn < slow) (ss += x), sn++;
    else ss = ss + x - sb[sp]!;
    sb[sp] = x;
    if (++sp === slow) {
      sp = 0;
      ss = 0;
      for (let j = 0; j < slow; j++) ss += sb[j]!;
    }
    if (sn < slow) continue;
    const f = fs / fast, s = ss / slow;
    if (f > s && qty === 0) {
      pending = 1;
      pendingAmt = Math.max(0, cash) / (x * (1 + fee));
    } else if (f < s && qty > 0) pending = -1;
  }
  return cash + qty * close[n - 1]!;
}

/**
 * Best wall and best/median CPU seconds of `runs` after 3 unmeasured ones, and the mean count of
 * page faults per run (fresh memory: on some virtual machines a first-touch fault costs ~16 µs, so
 * a run that gets new pages for its 8 MB equity curve pays tens of milliseconds the engine cannot
 * see; the count says how much of a figure that is).
 */
function bestWallAndCpu(runs: number, f: () => void): { wall: number; meanWall: number; cpu: number; cpuMedian: number; faults: number } {
  for (let r = 0; r < 3; r++) f();
  let wall = Infinity;
  let total = 0;
  const cpu: number[] = [];
  const faults0 = process.resourceUsage().minorPageFault;
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    f();
    const dt = performance.now() - t0;
    wall = Math.min(wall, dt);
    total += dt;
    const d = process.cpuUsage(c0);
    cpu.push((d.user + d.system) / 1e6);
  }
  cpu.sort((a, b) => a - b);
  return { wall: wall / 1000, meanWall: total / runs / 1000, cpu: cpu[0]!, cpuMedian: cpu[cpu.length >> 1]!, faults: Math.round((process.resourceUsage().minorPageFault - faults0) / runs) };
}

// 1. Engine throughput against the raw loop.
{
  const c = bars(7);
  const opts = { strategy: smaCross as unknown as AnyStrategy, params: { fast: 20, slow: 50 }, seed: 1, cash: 10_000, broker: { takerFeeBps: FEE_BPS, makerFeeBps: FEE_BPS } };
  let rawEquity = 0, engEquity = 0, trades = 0;
  const cold0 = performance.now();
  runColumnar(opts, [c]);
  const coldS = (performance.now() - cold0) / 1000;
  const raw = bestWallAndCpu(10, () => void (rawEquity = rawLoop(c, 20, 50)));
  const eng = bestWallAndCpu(10, () => {
    const r = runColumnar(opts, [c]);
    engEquity = r.curve.equity[r.curve.equity.length - 1]!;
    trades = r.trades.length;
  });
  const rawS = raw.wall, engS = eng.wall;
  emit({ bench: 'engine.sma-cross.1y-1m', value: Math.round(c.length / engS), unit: 'bars/s', bars: c.length, trades, baseline: Math.round(c.length / rawS), baselineName: 'raw Float64Array loop', ratio: +(rawS / engS).toFixed(4), target: 20_000_000, meanValue: Math.round(c.length / eng.meanWall), meanBaseline: Math.round(c.length / raw.meanWall), coldFirstRunBarsPerSec: Math.round(c.length / coldS), finalEquity: engEquity, baselineFinalEquity: rawEquity, equal: Object.is(engEquity, rawEquity), pageFaultsPerRun: eng.faults, baselinePageFaultsPerRun: raw.faults, v8Flags: process.execArgv.filter((a) => a.startsWith('--') && a !== '--import') });
  // The same runs by CPU time (user + system of this process, GC included): on two cores shared
  // with other jobs the wall figure measures the queue as much as the engine.
  emit({ bench: 'engine.sma-cross.1y-1m.cpu', value: Math.round(c.length / eng.cpu), unit: 'bars/s (CPU time)', medianValue: Math.round(c.length / eng.cpuMedian), baseline: Math.round(c.length / raw.cpu), ratio: +(raw.cpu / eng.cpu).toFixed(4), target: 20_000_000 });
}

