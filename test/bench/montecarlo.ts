/**
 * Monte Carlo cost (issue 4 target: 10,000 paths of one year's trades in < 1 s).
 *
 *   npx tsx test/bench/montecarlo.ts [paths=10000]
 *
 * Figures (one JSON line each, best of 5):
 * - trade shuffle of one year of trades (365 round trips, about one a day) — the target;
 * - iid and stationary block bootstrap of one year of hourly returns (8,760 per path);
 * each against a baseline in the same process: the same statistics computed the obvious way,
 * allocating arrays per path (copy + sort-by-random-key shuffle, map/reduce for the statistics).
 */
import { createRng } from '../../engine/rng.ts';
import { bootstrapReturns, shuffleTrades } from '../../lab/montecarlo.ts';

const PATHS = Number(process.argv[2] ?? 10_000);
const rng = createRng(42);
const trades = Float64Array.from({ length: 365 }, () => 0.002 + 0.02 * rng.normal());
const hourly = Float64Array.from({ length: 8760 }, () => 0.00002 + 0.006 * rng.normal());

function bestOf(n: number, f: () => void): number {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    f();
    best = Math.min(best, performance.now() - t);
  }
  return best / 1000;
}

function naiveStats(r: number[], ppy: number): [number, number, number] {
  const eq = r.reduce<number[]>((acc, x) => (acc.push((acc[acc.length - 1] ?? 1) * (1 + x)), acc), []);
  let peak = 1;
  const dd = eq.map((e) => ((peak = Math.max(peak, e)), e / peak - 1));
  const mean = r.reduce((a, x) => a + x, 0) / r.length;
  const sd = Math.sqrt(r.reduce((a, x) => a + (x - mean) ** 2, 0) / (r.length - 1));
  return [eq[eq.length - 1]! - 1, Math.min(...dd), (mean / sd) * Math.sqrt(ppy)];
}

function naiveShuffle(): void {
  const g = createRng(1);
  const out: [number, number, number][] = [];
  const base = Array.from(trades);
  for (let p = 0; p < PATHS; p++) {
    const keyed = base.map((x) => ({ x, k: g.next() }));
    keyed.sort((a, b) => a.k - b.k);
    out.push(naiveStats(keyed.map((e) => e.x), 365));
  }
}

function line(bench: string, seconds: number, baseline: number, extra: Record<string, unknown> = {}): void {
  process.stdout.write(
    JSON.stringify({ bench, value: Number(seconds.toFixed(4)), unit: 's', paths: PATHS, baseline: Number(baseline.toFixed(4)), ratio: Number((baseline / seconds).toFixed(2)), ...extra }) + '\n',
  );
}

const shuffleS = bestOf(5, () => shuffleTrades(trades, 365, { paths: PATHS, seed: 1 }));
const shuffleBase = bestOf(2, naiveShuffle);
line('montecarlo.shuffle.365-trades', shuffleS, shuffleBase, { target: '< 1 s', pass: shuffleS < 1 });

const bootS = bestOf(5, () => bootstrapReturns(hourly, 8760, { method: 'bootstrap', paths: PATHS, seed: 1 }));
// The naive per-path-allocation baseline on 8,760 returns is slow; time a tenth of the paths and scale.
const bootBase = bestOf(1, () => naiveBootstrap(10)) * 10;
line('montecarlo.bootstrap.8760-hourly', bootS, bootBase, { baselineScaledFrom: PATHS / 10 });

const blockS = bestOf(5, () => bootstrapReturns(hourly, 8760, { method: 'block', blockLength: 24, paths: PATHS, seed: 1 }));
line('montecarlo.block.8760-hourly', blockS, bootBase, { blockLength: 24, baselineOf: 'naive iid bootstrap' });

function naiveBootstrap(div: number): void {
  const g = createRng(1);
  const base = Array.from(hourly);
  for (let p = 0; p < PATHS / div; p++) {
    const sample = base.map(() => base[Math.floor(g.next() * base.length)]!);
    naiveStats(sample, 8760);
  }
}
