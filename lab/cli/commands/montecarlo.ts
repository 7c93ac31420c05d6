import { Option, type Command } from 'commander';
import { InputError } from '../../../engine/errors.ts';
import { DAY_MS, YEAR_DAYS, periodsPerYear, timeframeToMs } from '../../../engine/timeframe.ts';
import { loadRun, type RunRecord } from '../../../datasets/runs.ts';
import type { Store } from '../../../datasets/store.ts';
import { backtestRequestSchema, runLoaded } from '../../backtest.ts';
import { loadStrategy, strategyRef } from '../../strategy-loader.ts';
import { loadMarket } from '../../market-data.ts';
import { withAgentRows } from '../../agents/environment.ts';
import { bootstrapReturns, equityReturns, MC_METHODS, rerunPaths, shuffleTrades, tradeEquityReturns, type McMethod, type McResult, type PathObserver } from '../../montecarlo.ts';
import { addDbOption, addJsonOption, parseNumberOption as num, printJson } from '../options.ts';
import { openExisting } from './gate.ts';

export interface MonteCarloCliOptions {
  readonly run: string;
  readonly method: McMethod;
  readonly paths: number;
  readonly seed: number;
  readonly ruinDrawdown: number;
  readonly blockLength?: number;
  readonly noise?: number;
  readonly db?: string;
  /** Sees each path's returns (the tearsheet's fan chart). */
  readonly onPath?: PathObserver;
}

export interface MonteCarloOutput extends McResult {
  readonly runId: string;
  readonly warnings: readonly string[];
}

// Re-exported for the importers that found it here first.
export { strategyRef };

/** Re-runs need the strategy and the data the run saw; the broker settings are the defaults (runs do not store them). */
async function rerunFor(store: Store, run: RunRecord, o: Omit<MonteCarloCliOptions, 'run' | 'db'>, warnings: string[]): Promise<McResult> {
  const loaded = await loadStrategy(strategyRef(run.strategySource));
  if (loaded.codeHash !== run.codeHash) warnings.push(`the strategy source changed since the run (code hash ${loaded.codeHash.slice(0, 12)} ≠ ${run.codeHash.slice(0, 12)})`);
  const config = backtestRequestSchema.parse({ strategy: strategyRef(run.strategySource), symbols: [...run.symbols], timeframe: run.timeframe, from: run.fromTs, to: run.toTs, params: run.params, seed: run.seed });
  const market = await loadMarket(store, config, { shared: false });
  if (market.datasetHash !== run.datasetHash) warnings.push(`the stored data changed since the run (dataset hash ${market.datasetHash.slice(0, 12)} ≠ ${run.datasetHash.slice(0, 12)})`);
  // Agent strategies re-run with the sentiment the run had (loaded with the market).
  const base = withAgentRows(market, () => runLoaded(loaded, config, market.series, market.datasets));
  if (base.resultHash !== run.resultHash) warnings.push('re-running with default broker settings does not reproduce the stored run (it used other fees/slippage?): paths are compared with the re-run');
  const ppy = periodsPerYear(timeframeToMs(run.timeframe));
  return rerunPaths(market.series, (series) => ({ equity: withAgentRows(market, () => runLoaded(loaded, config, series, market.datasets)).run.curve.equity }), base.run.curve.equity, ppy, {
    method: o.method,
    paths: o.paths,
    seed: o.seed,
    ruinDrawdown: o.ruinDrawdown,
    ...(o.noise !== undefined ? { noise: o.noise } : {}),
  }, o.onPath);
}

export async function runMonteCarlo(o: MonteCarloCliOptions): Promise<MonteCarloOutput> {
  const store = await openExisting(o.db);
  try {
    const run = await loadRun(store, o.run);
    if (!run) throw new InputError(`no run "${o.run}" in ${store.path} (cs backtest prints the run id)`);
    return await monteCarloOfRun(store, run, o);
  } finally {
    await store.close();
  }
}

/** The study of a run already read (cs report has it); `store` is where a re-run reads its bars. */
export async function monteCarloOfRun(store: Store, run: RunRecord, o: Omit<MonteCarloCliOptions, 'run' | 'db'>): Promise<MonteCarloOutput> {
  const warnings: string[] = [];
  const common = { paths: o.paths, seed: o.seed, ruinDrawdown: o.ruinDrawdown };
  let result: McResult;
  if (o.method === 'shuffle') {
    const r = tradeEquityReturns(run.trades, run.curve.ts, run.curve.equity);
    const years = (run.curve.ts[run.curve.ts.length - 1]! - run.curve.ts[0]!) / (YEAR_DAYS * DAY_MS);
    result = shuffleTrades(r, r.length / years, common, o.onPath);
  } else if (o.method === 'bootstrap' || o.method === 'block') {
    result = bootstrapReturns(equityReturns(run.curve.equity), periodsPerYear(timeframeToMs(run.timeframe)), { ...common, method: o.method, ...(o.blockLength !== undefined ? { blockLength: o.blockLength } : {}) }, o.onPath);
  } else {
    result = await rerunFor(store, run, o, warnings);
  }
  return { runId: run.runId, ...result, warnings };
}

const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : 'n/a');
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

export function describeMonteCarlo(r: MonteCarloOutput): string {
  const row = (name: string, p: McResult['finalReturn'], obs: number, show: (x: number) => string): string =>
    `  ${name.padEnd(14)} ${show(p.p5).padStart(10)} ${show(p.p50).padStart(10)} ${show(p.p95).padStart(10)}   observed ${show(obs)}\n`;
  return (
    `Monte Carlo (${r.method}, ${r.paths} paths, seed ${r.seed}) of run ${r.runId}\n` +
    `  ${''.padEnd(14)} ${'p5'.padStart(10)} ${'p50'.padStart(10)} ${'p95'.padStart(10)}\n` +
    row('final return', r.finalReturn, r.observed.finalReturn, pct) +
    row('max drawdown', r.maxDrawdown, r.observed.maxDrawdown, pct) +
    row('Sharpe', r.sharpe, r.observed.sharpe, f2) +
    `  P(drawdown ≥ ${pct(r.ruinDrawdown)}) = ${pct(r.probRuin)}\n` +
    (r.method === 'shuffle' ? '  (a shuffle keeps the final return and Sharpe: only the order, so the drawdown, changes)\n' : '') +
    r.warnings.map((w) => `  warning: ${w}\n`).join('')
  );
}

export function register(program: Command): void {
  const cmd = program
    .command('montecarlo')
    .description('Monte Carlo robustness of a stored run: percentiles of return, drawdown and Sharpe, and the probability of ruin')
    .requiredOption('--run <id>', 'the stored backtest run')
    .addOption(new Option('--method <m>', 'shuffle (trade order), bootstrap (iid bars), block (stationary bootstrap), noise (perturbed prices), synthetic (calibrated GBM)').choices([...MC_METHODS]).default('bootstrap'))
    .option('--paths <n>', 'number of paths (noise and synthetic re-run the backtest per path: a few hundred is plenty)', num('--paths'), 10_000)
    .option('--seed <n>', 'seed (the same seed gives the same result)', num('--seed'), 1)
    .option('--ruin-drawdown <x>', 'a path is ruined when its drawdown reaches this fraction', num('--ruin-drawdown'), 0.3)
    .option('--block-length <bars>', 'mean block length of the stationary bootstrap', num('--block-length'))
    .option('--noise <sigma>', 'price noise σ on a log scale (default: a quarter of the per-bar volatility)', num('--noise'));
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (o: MonteCarloCliOptions & { json?: boolean }) => {
    const r = await runMonteCarlo(o);
    if (o.json) printJson(r);
    else process.stdout.write(describeMonteCarlo(r));
  });
}
