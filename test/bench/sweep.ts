/**
 * Issue 4 sweep benchmark: a 1,000-run grid (sma-cross, fast 2–41 × slow 100–124, all allowed) on a
 * year of 1-hour synthetic bars, on the Piscina pool at 1 and 2 worker threads (target ≥ 1.8× at
 * 2), with the same runs in this thread as the in-process baseline; then the memory a worker
 * costs next to the size of the market it reads (shared, so it must not grow with the data).
 *
 *   npx tsx test/bench/sweep.ts            (or: npm run bench sweep)
 *
 * One JSON line per figure. Pool start-up (a thread, tsx, the strategy) is excluded: every worker
 * runs warm-up tasks first, as it would over a long sweep.
 */
import { availableParallelism, loadavg } from 'node:os';
import { generateBars } from '../../datasets/synth.ts';
import { canonicalJson } from '../../engine/hash.ts';
import { parseRunConfig } from '../../lab/evaluate.ts';
import { marketFromColumns } from '../../lab/market-data.ts';
import { BacktestPool, InlineExecutor, type RunTask } from '../../lab/pool.ts';
import { emit } from './support.ts';

const MB = 1024 * 1024;

const year = generateBars({ symbol: 'BTC/USDT', timeframeMs: 3_600_000, from: Date.UTC(2024, 0, 1), to: Date.UTC(2025, 0, 1), seed: 7, model: { kind: 'gbm', drift: 0.2, vol: 0.7 } });
const market = marketFromColumns([year], 'synthetic');
const config = parseRunConfig({ strategy: 'sma-cross', symbols: ['BTC/USDT'], timeframe: '1h' });
const tasks: RunTask[] = [];
for (let fast = 2; fast <= 41; fast++) for (let slow = 100; slow <= 124; slow++) tasks.push({ key: `${fast}-${slow}`, params: { fast, slow }, seed: 1 });
if (tasks.length !== 1000) throw new Error(`grid has ${tasks.length} runs`);

// Baseline: the same runs in this thread (a 200-run slice; runs/s does not depend on the count).
const inline = await InlineExecutor.create({ strategy: 'sma-cross', config, market });
await inline.run(tasks.slice(200, 300));
let t0 = performance.now();
const inlineOut = await inline.run(tasks.slice(0, 200));
const inlineRate = 200 / ((performance.now() - t0) / 1000);
emit({ bench: 'sweep-inline', value: Math.round(inlineRate * 10) / 10, unit: 'runs/s', bars: year.length, runs: 200 });

const rates: Record<number, number> = {};
let reference: string | undefined;
for (const workers of [1, 2]) {
  const pool = await BacktestPool.create({ strategy: 'sma-cross', config, market, workers });
  try {
    await pool.run(tasks.slice(0, 10 * workers));
    t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const out = await pool.run(tasks);
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    // Cores this process actually got: on a shared machine 2 workers may get less than 2.
    const cores = (cpu.user + cpu.system) / 1e6 / secs;
    rates[workers] = tasks.length / secs;
    const fingerprint = canonicalJson(out.map((s) => s.resultHash));
    reference ??= fingerprint;
    if (fingerprint !== reference) throw new Error(`results differ at ${workers} workers`);
    if (canonicalJson(out.slice(0, 200)) !== canonicalJson(inlineOut)) throw new Error('pool results differ from the inline ones');
    const probes = await Promise.all(Array.from({ length: 4 * workers }, () => pool.probe(0, 'close', 0)));
    emit({
      bench: `sweep-grid-${workers}w`,
      value: Math.round(rates[workers]! * 10) / 10,
      unit: 'runs/s',
      runs: tasks.length,
      seconds: Math.round(secs * 100) / 100,
      baseline: Math.round(inlineRate * 10) / 10,
      ratio: Math.round((rates[workers]! / inlineRate) * 100) / 100,
      coresUsed: Math.round(cores * 100) / 100,
      runsPerCoreSecond: Math.round((tasks.length / secs / cores) * 10) / 10,
      peakWorkerHeapMB: Math.round((Math.max(...probes.map((p) => p.peakHeap)) / MB) * 10) / 10,
      dataMB: Math.round(((year.length * 48) / MB) * 100) / 100,
    });
  } finally {
    await pool.close();
  }
}
emit({ bench: 'sweep-scaling-2w', value: Math.round((rates[2]! / rates[1]!) * 100) / 100, unit: 'x', baseline: 1, target: 1.8, loadAvg1m: Math.round(loadavg()[0]! * 100) / 100, cpus: availableParallelism(), note: 'runs/s at 2 workers ÷ at 1 (wall clock); compare coresUsed on a shared machine' });

// Memory: a market big enough that a per-worker copy could not hide in the noise (≈ 4M bars,
// 192 MB). RSS is per process; each worker's growth is what it costs beyond the shared data.
const big = generateBars({ symbol: 'BTC/USDT', timeframeMs: 60_000, from: Date.UTC(2017, 0, 1), to: Date.UTC(2017, 0, 1) + 4_000_000 * 60_000, seed: 3, subSteps: 1, model: { kind: 'gbm', drift: 0.1, vol: 0.6 } });
const bigMarket = marketFromColumns([big], 'synthetic');
const dataBytes = big.length * 48;
const shared = (await import('../../lab/market-data.ts')).shareMarket(bigMarket);
(globalThis as { gc?: () => void }).gc?.();
const rss0 = process.memoryUsage().rss;
const workers = 2;
const pool = await BacktestPool.create({ strategy: 'sma-cross', config: parseRunConfig({ strategy: 'sma-cross', symbols: ['BTC/USDT'], timeframe: '1m' }), market: shared, workers });
try {
  // Every worker reads a whole column (touching its pages) and answers.
  const probes = await Promise.all(Array.from({ length: 4 * workers }, () => pool.probe(0, 'close', big.length - 1)));
  const rss1 = process.memoryUsage().rss;
  const perWorker = (rss1 - rss0) / workers;
  emit({
    bench: 'sweep-worker-memory',
    value: Math.round((perWorker / MB) * 10) / 10,
    unit: 'MB RSS per worker',
    baseline: Math.round((dataBytes / MB) * 10) / 10,
    ratio: Math.round((perWorker / dataBytes) * 100) / 100,
    note: 'baseline = the market\'s size: a per-worker copy would cost at least that per worker',
    workerHeapMB: Math.round((Math.max(...probes.map((p) => p.heapUsed)) / MB) * 10) / 10,
    sharedSeen: probes.every((p) => p.shared && p.value === big.close[big.length - 1]),
    bars: big.length,
  });
} finally {
  await pool.close();
}
