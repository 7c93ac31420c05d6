import { computeMetrics, type ClosedTrade } from '../../engine/metrics.ts';
import { createRng } from '../../engine/rng.ts';
import { generateBars } from '../../datasets/synth.ts';
import { validateBars } from '../../datasets/validate.ts';
import type { RunRecord } from '../../datasets/runs.ts';
import type { SweepInfo, SweepRow } from '../../datasets/sweeps.ts';
import type { StoredWalkForward } from '../../datasets/walkforward.ts';
import { evaluateGate, parseGateConfig, subjectFromRun } from '../../lab/gate.ts';
import { bootstrapReturns, equityReturns } from '../../lab/montecarlo.ts';
import { sweepOverfitting } from '../../lab/sweep-overfitting.ts';
import { fanCollector } from '../../reports/charts/index.ts';
import { monteCarloTearsheet, runTearsheet, sweepTearsheet, walkForwardTearsheet } from '../../reports/tearsheet/index.ts';

/**
 * Tearsheet inputs built in memory (no DuckDB, no CLI), so the browser test spends its time in
 * the browser. Strings a user controls carry markup that must come out inert.
 */

export const HOSTILE_NAME = 'evil</script><script>alert("name")</script>';
export const HOSTILE_PARAM = '<img src=x onerror=alert(1)>';

const HOUR = 3_600_000;
const FROM = Date.UTC(2024, 0, 1);
const PPY = 8760;

/** 120 days of hourly bars and a strategy that holds the coin on alternate 3-day stretches. */
export function sampleRun(): { run: RunRecord; bars: ReturnType<typeof generateBars> } {
  const bars = generateBars({ symbol: 'BTC/USDT', timeframeMs: HOUR, from: FROM, to: FROM + 120 * 24 * HOUR, seed: 5, startPrice: 40_000, model: { kind: 'gbm', drift: 0.3, vol: 0.6 } });
  const n = bars.length;
  const ts = new Float64Array(n + 1);
  const equity = new Float64Array(n + 1);
  const benchmark = new Float64Array(n + 1);
  const cash = 10_000;
  ts[0] = bars.ts[0]!;
  equity[0] = cash;
  benchmark[0] = cash;
  const trades: ClosedTrade[] = [];
  let entry = -1;
  for (let i = 0; i < n; i++) {
    ts[i + 1] = bars.ts[i]! + HOUR;
    const r = bars.close[i]! / bars.open[i]! - 1;
    const holding = Math.floor(i / 72) % 2 === 0;
    equity[i + 1] = equity[i]! * (holding ? 1 + r : 1);
    benchmark[i + 1] = (cash * bars.close[i]!) / bars.open[0]!;
    if (holding && entry < 0) entry = i;
    if ((!holding || i === n - 1) && entry >= 0) {
      const qty = equity[entry]! / bars.open[entry]!;
      const pnl = qty * (bars.close[i]! - bars.open[entry]!);
      trades.push({ symbol: 'BTC/USDT', side: 'long', entryTs: bars.ts[entry]!, exitTs: bars.ts[i]! + HOUR, entryPrice: bars.open[entry]!, exitPrice: bars.close[i]!, qty, pnl, fees: 0, returnPct: bars.close[i]! / bars.open[entry]! - 1 });
      entry = -1;
    }
  }
  const metrics = computeMetrics({ equity, ts, periodsPerYear: PPY, trades, benchmarkEquity: benchmark });
  const run: RunRecord = {
    runId: 'run-0123456789abcdef',
    strategy: HOSTILE_NAME,
    strategySource: 'builtin:sma-cross',
    codeHash: 'c'.repeat(64),
    seed: 7,
    symbols: ['BTC/USDT'],
    timeframe: '1h',
    datasetHash: 'd'.repeat(64),
    resultHash: 'e'.repeat(64),
    params: { fast: 10, slow: 50, note: HOSTILE_PARAM },
    fromTs: FROM,
    toTs: ts[n]!,
    metrics: JSON.parse(JSON.stringify(metrics, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))) as RunRecord['metrics'],
    trades,
    curve: { ts, equity, benchmark },
  };
  return { run, bars };
}

export function runHtml(): string {
  const { run, bars } = sampleRun();
  return runTearsheet({
    run,
    periodsPerYear: PPY,
    prices: [{ symbol: 'BTC/USDT', ts: bars.ts, close: bars.close }],
    validation: [{ name: 'synthetic BTC/USDT 1h', report: validateBars(bars) }],
    gate: evaluateGate(subjectFromRun(run), parseGateConfig({})),
  });
}

export function sampleSweepRows(): SweepRow[] {
  const rng = createRng(11);
  const rows: SweepRow[] = [];
  let seq = 0;
  for (const fast of [5, 10, 15, 20, 25])
    for (const slow of [40, 60, 80, 100]) {
      const returns = new Float32Array(256);
      const edge = (fast - 15) * 1e-5 + (slow - 70) * 2e-6;
      for (let k = 0; k < 256; k++) returns[k] = edge + 0.01 * rng.normal();
      let eq = 1;
      for (const r of returns) eq *= 1 + r;
      const mean = returns.reduce((a, b) => a + b, 0) / 256;
      const sd = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / 255);
      rows.push({
        sweepId: 'sw-fixture',
        runKey: `r-${fast}-${slow}`,
        seq: seq++,
        params: { fast, slow, label: HOSTILE_PARAM },
        seed: 1,
        datasetHash: 'd'.repeat(64),
        codeHash: 'c'.repeat(64),
        resultHash: `h${seq}`,
        metrics: { sharpe: (mean / sd) * Math.sqrt(PPY), totalReturn: eq - 1, maxDrawdown: -0.1 - rng.next() * 0.2, numTrades: 20 + seq, periods: 256, periodsPerYear: PPY },
        returns,
      });
    }
  return rows;
}

export function sweepHtml(): string {
  const rows = sampleSweepRows();
  const sweep: SweepInfo = { sweepId: 'sw-fixture', strategy: HOSTILE_NAME, codeHash: 'c'.repeat(64), datasetHash: 'd'.repeat(64), definition: { grid: { fast: '5:25:5', slow: '40:100:20' } }, runs: rows.length };
  return sweepTearsheet({ sweep, rows, overfitting: sweepOverfitting(rows, { blocks: 8 }), metric: 'sharpe' });
}

export function walkForwardHtml(): string {
  const { run } = sampleRun();
  const iso = (t: number): string => new Date(t).toISOString();
  const DAY = 24 * HOUR;
  const windows = [0, 1, 2].map((i) => ({
    index: i,
    isFrom: iso(FROM + i * 30 * DAY),
    isTo: iso(FROM + (i * 30 + 60) * DAY),
    oosFrom: iso(FROM + (i * 30 + 60) * DAY),
    oosTo: iso(FROM + (i * 30 + 90) * DAY),
    params: { fast: 10 + i * 5, slow: 50, tag: HOSTILE_PARAM },
    trials: 9,
    isScore: 1.2 - i * 0.3,
    isMetrics: { totalReturn: 0.05 },
    oosMetrics: { totalReturn: 0.01 * i, sharpe: 0.4 },
    efficiency: null,
  }));
  const start = run.curve.ts.findIndex((t) => t >= FROM + 60 * 24 * HOUR);
  const ts = run.curve.ts.slice(start);
  const equity = run.curve.equity.slice(start);
  const oos = computeMetrics({ equity, ts, periodsPerYear: PPY });
  const wf: StoredWalkForward = {
    id: 'wf-fixture',
    strategy: HOSTILE_NAME,
    codeHash: 'c'.repeat(64),
    datasetHash: 'd'.repeat(64),
    timeframe: '1h',
    symbols: ['BTC/USDT'],
    report: JSON.parse(
      JSON.stringify({ windows, oosMetrics: oos, efficiency: { returnRatio: 0.4, sharpeRatio: 0.3 }, stability: { params: { fast: { mean: 15, std: 5, cv: 0.33, distinct: 3 } }, changeRate: 1 }, overfitting: { psr: 0.6, dsr: 0.4, expectedMaxSharpe: 0.01, trials: 9, pbo: 0.3, pboCombinations: 70 }, options: { isMs: 60 * DAY } }, (_k, v) =>
        typeof v === 'number' && !Number.isFinite(v) ? null : v,
      ),
    ) as Record<string, unknown>,
    curve: { ts, equity },
  };
  return walkForwardTearsheet({ wf });
}

export function monteCarloHtml(): string {
  const { run } = sampleRun();
  const returns = equityReturns(run.curve.equity);
  const fan = fanCollector(returns.length, 400);
  const result = bootstrapReturns(returns, PPY, { method: 'bootstrap', paths: 400, seed: 3 }, fan.observe);
  const f = fan.fan();
  return monteCarloTearsheet({ run, result: { ...result, warnings: [HOSTILE_PARAM] }, fan: f, observedReturns: returns });
}
