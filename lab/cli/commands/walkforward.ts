import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { InputError, describeIssues } from '../../../engine/errors.ts';
import { timeframeToMs } from '../../../engine/timeframe.ts';
import { openStore } from '../../../datasets/store.ts';
import { saveWalkForward } from '../../../datasets/walkforward.ts';
import { backtestRequestSchema, type BacktestRequest } from '../../backtest.ts';
import { loadMarket } from '../../market-data.ts';
import { buildSearchSpace, parseChoiceFlag, parseGridFlag } from '../../search-space.ts';
import { loadStrategy } from '../../strategy-loader.ts';
import { sweepOptimiser, walkForward, walkForwardJson, walkForwardOptionsSchema, type WalkForwardReport } from '../../walkforward.ts';
import { addDbOption, addJsonOption, collectParam, parseTime, printJson, resolveDbPath, parseNumberOption, collect } from '../options.ts';



function duration(flag: string) {
  return (v: string): number => {
    try {
      return timeframeToMs(v.trim());
    } catch {
      throw new InputError(`${flag} expects a duration such as 90d, 12w or 720h, got "${v}"`);
    }
  };
}

export interface WalkForwardCliOptions {
  strategy: string;
  symbol: string[];
  timeframe: string;
  exchange?: string;
  from?: string;
  to?: string;
  grid: string[];
  choice: string[];
  param: Record<string, unknown>;
  is: number;
  oos: number;
  step?: number;
  anchored?: boolean;
  warmup?: number;
  objective: string;
  method: 'grid' | 'random' | 'tpe';
  trials?: number;
  pboBlocks: number;
  workers?: number;
  seed: number;
  cash: number;
  feeBps: number;
  slippageBps: number;
  allowBadData?: boolean;
  save?: boolean;
  db?: string;
  json?: boolean;
}

export async function runWalkForwardCli(o: WalkForwardCliOptions): Promise<WalkForwardReport> {
  const request: BacktestRequest = {
    strategy: o.strategy,
    symbols: o.symbol,
    timeframe: o.timeframe,
    ...(o.exchange ? { exchange: o.exchange } : {}),
    ...(o.from ? { from: parseTime(o.from, '--from') } : {}),
    ...(o.to ? { to: parseTime(o.to, '--to') } : {}),
    seed: o.seed,
    cash: o.cash,
    takerFeeBps: o.feeBps,
    slippageBps: o.slippageBps,
    allowBadData: o.allowBadData === true,
  };
  const parsed = backtestRequestSchema.safeParse(request);
  if (!parsed.success) throw new InputError(describeIssues(parsed.error, 'request'));
  timeframeToMs(parsed.data.timeframe);
  const loaded = await loadStrategy(o.strategy);
  const space = buildSearchSpace(loaded.strategy, { grid: o.grid.map(parseGridFlag), choice: o.choice.map(parseChoiceFlag), fixed: o.param as Record<string, number | string | boolean> });
  const options = {
    isMs: o.is,
    oosMs: o.oos,
    ...(o.step !== undefined ? { stepMs: o.step } : {}),
    anchored: o.anchored === true,
    ...(o.warmup !== undefined ? { warmupBars: o.warmup } : {}),
    objective: o.objective as 'sharpe',
    method: o.method,
    ...(o.trials !== undefined ? { trials: o.trials } : {}),
    pboBlocks: o.pboBlocks,
  };
  const checked = walkForwardOptionsSchema.safeParse(options);
  if (!checked.success) throw new InputError(`walk-forward: ${describeIssues(checked.error, '(options)')}`);
  const path = resolveDbPath(o.db);
  if (path !== ':memory:' && !existsSync(path)) throw new InputError(`no database at ${path} (load data first: cs data synth, cs data import or cs data download)`);
  const store = await openStore(path);
  try {
    const market = await loadMarket(store, parsed.data, { shared: o.workers !== undefined && o.workers > 0 });
    const report = await walkForward({
      loaded,
      config: parsed.data,
      market,
      space,
      options,
      ...(o.workers !== undefined ? { optimiser: sweepOptimiser(o.strategy, parsed.data, checked.data, o.workers) } : {}),
    });
    if (o.save !== false) {
      await saveWalkForward(store, {
        id: report.id,
        strategy: report.strategy,
        codeHash: report.codeHash,
        datasetHash: report.datasetHash,
        timeframe: report.timeframe,
        symbols: report.symbols,
        report: walkForwardJson(report),
        curve: report.stitched,
      });
    }
    return report;
  } finally {
    await store.close();
  }
}

const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : 'n/a');
const f2 = (x: number | null): string => (x !== null && Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const day = (t: number): string => new Date(t).toISOString().slice(0, 10);

export function describeWalkForward(r: WalkForwardReport): string {
  const rows = r.windows.map(
    (w) =>
      `  ${String(w.index).padStart(3)}  IS ${day(w.isFrom)}→${day(w.isTo)}  OOS ${day(w.oosFrom)}→${day(w.oosTo)}  ${JSON.stringify(w.params).padEnd(24)} IS ${r.options.objective} ${f2(w.isScore).padStart(6)}  OOS return ${pct(w.oosMetrics.totalReturn).padStart(8)}  Sharpe ${f2(w.oosMetrics.sharpe).padStart(6)}\n`,
  );
  const stab = Object.entries(r.stability.params)
    .map(([k, s]) => `${k} cv ${f2(s.cv)} (${s.distinct} distinct)`)
    .join(', ');
  const o = r.overfitting;
  return (
    `walk-forward ${r.id}: ${r.strategy} on ${r.symbols.join(', ')} ${r.timeframe}, ${r.windows.length} windows (${r.options.anchored ? 'anchored' : 'rolling'})\n` +
    rows.join('') +
    `  stitched OOS: return ${pct(r.oosMetrics.totalReturn)}, CAGR ${pct(r.oosMetrics.cagr)}, Sharpe ${f2(r.oosMetrics.sharpe)}, max drawdown ${pct(r.oosMetrics.maxDrawdown)}, ${r.oosMetrics.numTrades} trades\n` +
    `  efficiency: return ${f2(r.efficiency.returnRatio)}, Sharpe ${f2(r.efficiency.sharpeRatio)}   stability: ${stab || 'n/a'}; params changed in ${pct(r.stability.changeRate)} of steps\n` +
    `  overfitting: PSR ${f2(o.psr)}, DSR ${f2(o.dsr)} (N = ${o.trials}), PBO ${o.pbo === null ? 'n/a' : f2(o.pbo)}\n`
  );
}

export function register(program: Command): void {
  const cmd = program
    .command('walkforward')
    .description('walk-forward analysis: optimise in sample, trade the choice out of sample, stitch the OOS curve; stored in DuckDB')
    .requiredOption('--strategy <name|file>', 'built-in strategy name or ./my-strategy.ts')
    .requiredOption('--symbol <symbol>', 'market symbol (repeat for several)', collect)
    .requiredOption('--timeframe <tf>', 'bar timeframe: 1m, 5m, 15m, 1h, 4h, 1d')
    .requiredOption('--is <duration>', 'in-sample window, e.g. 90d', duration('--is'))
    .requiredOption('--oos <duration>', 'out-of-sample window, e.g. 30d', duration('--oos'))
    .option('--step <duration>', 'how far each window moves (default: the OOS length; at least the OOS length)', duration('--step'))
    .option('--anchored', 'every in-sample window starts at the first bar (expanding) instead of rolling')
    .option('--grid <name=min:max[:step]>', 'a numeric range to search (repeatable)', collect, [])
    .option('--choice <name=a,b,c>', 'a list of values to search (repeatable)', collect, [])
    .option('--param <key=value>', 'a parameter held fixed (repeatable)', collectParam, {})
    .option('--warmup <bars>', 'bars replayed before each OOS window to warm indicators, orders refused (default: the IS window)', parseNumberOption('--warmup'))
    .addOption(new Option('--objective <metric>', 'what the in-sample optimisation maximises').choices(['sharpe', 'sortino', 'calmar', 'totalReturn', 'cagr', 'profitFactor', 'expectancy', 'winRate']).default('sharpe'))
    .addOption(new Option('--method <m>', 'in-sample search').choices(['grid', 'random', 'tpe']).default('grid'))
    .option('--trials <n>', 'runs per window for random and tpe', parseNumberOption('--trials'))
    .option('--workers <n>', 'run each window\'s trials with the sweep runner on this many worker threads (0 = this thread; default: inline)', parseNumberOption('--workers'))
    .option('--pbo-blocks <S>', 'CSCV blocks for the PBO (even; 0 = skip)', parseNumberOption('--pbo-blocks'), 16)
    .option('--exchange <id>', 'exchange of the stored data')
    .option('--from <date>', 'first bar (inclusive)')
    .option('--to <date>', 'end (exclusive)')
    .option('--seed <n>', 'seed of every run', parseNumberOption('--seed'), 1)
    .option('--cash <usd>', 'starting cash', parseNumberOption('--cash'), 10_000)
    .option('--fee-bps <bps>', 'taker fee in basis points', parseNumberOption('--fee-bps'), 10)
    .option('--slippage-bps <bps>', 'fixed slippage, basis points', parseNumberOption('--slippage-bps'), 0)
    .option('--allow-bad-data', 'run even when validation finds data errors')
    .option('--no-save', 'do not store the result');
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (o: WalkForwardCliOptions) => {
    const r = await runWalkForwardCli(o);
    if (o.json) printJson(walkForwardJson(r));
    else process.stdout.write(describeWalkForward(r));
  });
}
