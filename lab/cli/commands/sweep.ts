import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { InputError } from '../../../engine/errors.ts';
import { openStore } from '../../../datasets/store.ts';
import { bestSweepRuns, listSweeps, loadSweepRunsWithReturns, type SweepRow } from '../../../datasets/sweeps.ts';
import { parseRunConfig } from '../../evaluate.ts';
import { loadMarket } from '../../market-data.ts';
import { METHODS, type Method } from '../../optimise.ts';
import { buildSearchSpace, parseChoiceFlag, parseGridFlag, parseSweepConfig, type ParamValue, type SweepConfig } from '../../search-space.ts';
import { loadStrategy } from '../../strategy-loader.ts';
import { LOWER_IS_BETTER, parseMetric, runSweep, sweepJson, type SweepProgress, type SweepResult } from '../../sweep.ts';
import { defaultDataDir, queueExecutor, startQueueWorker } from '../../queue.ts';
import { defaultWorkers } from '../../pool.ts';
import { DEFAULT_PBO_BLOCKS, describeOverfitting, parsePboBlocks, sweepOverfitting } from '../../sweep-overfitting.ts';
import { addDbOption, addJsonOption, collectParam, parseTime, printJson, resolveDbPath, parseNumberOption, collect } from '../options.ts';
import { formatValue } from './metrics.ts';


function int(flag: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new InputError(`${flag} expects an integer ≥ ${min}, got "${v}"`);
    return n;
  };
}


export function register(program: Command): void {
  registerSweep(program);
  registerWorker(program);
  registerSweeps(program);
}

function registerSweep(program: Command): void {
  const cmd = program
    .command('sweep')
    .description('run a strategy over a parameter space (grid, random or TPE) on a worker pool or a Redis queue; results go to DuckDB, resumably')
    .option('--strategy <name|file>', 'built-in strategy name or ./my-strategy.ts (or `strategy:` in --config)')
    .requiredOption('--symbol <symbol>', 'market symbol, e.g. BTC/USDT (repeat for several)', collect)
    .requiredOption('--timeframe <tf>', 'bar timeframe: 1m, 5m, 15m, 1h, 4h, 1d')
    .option('--grid <name=min:max[:step]>', 'a numeric range to search (repeatable); grid search needs the step', collect, [])
    .option('--choice <name=a,b,c>', 'a list of values to search (repeatable)', collect, [])
    .option('--param <key=value>', 'a parameter held fixed (repeatable)', collectParam, {})
    .option('--config <file>', 'JSON or YAML sweep config: params (ranges, values, fixed), method, trials, metric, seed')
    .addOption(new Option('--method <m>', 'search method (default grid)').choices([...METHODS]))
    .option('--trials <n>', 'runs for random and tpe', int('--trials', 1))
    .option('--metric <name>', 'metric to optimise and rank by (default sharpe)')
    .option('--seed <n>', 'seed of the proposals and of every run', int('--seed', -(2 ** 31)))
    .option('--workers <n>', `worker threads (default ${defaultWorkers()}; 0 = this thread)`, int('--workers', 0))
    .option('--top <n>', 'best runs to show', int('--top', 1), 10)
    .option('--pbo-blocks <S>', 'blocks of the CSCV split for the probability of backtest overfitting (even)', (v: string) => parsePboBlocks(v), DEFAULT_PBO_BLOCKS)
    .option('--sweep-id <id>', 'name of the sweep (default: a hash of its definition, so a rerun resumes it)')
    .option('--queue <redis-url>', 'run on `cs worker` processes through Redis, e.g. redis://127.0.0.1:6379')
    .option('--queue-name <name>', 'with --queue: BullMQ queue name', 'cs-sweep')
    .option('--data-dir <dir>', 'with --queue: where workers read the market (default .cs-cache/sweep-data beside the database)')
    .option('--exchange <id>', 'exchange of the stored data (default: the only one holding the symbol)')
    .option('--from <date>', 'first bar (inclusive): YYYY-MM-DD, ISO time or epoch ms')
    .option('--to <date>', 'end (exclusive)')
    .option('--cash <usd>', 'starting cash in quote currency', parseNumberOption('--cash'), 10_000)
    .option('--fee-bps <bps>', 'taker fee in basis points', parseNumberOption('--fee-bps'), 10)
    .option('--slippage-bps <bps>', 'fixed slippage on taker fills, basis points', parseNumberOption('--slippage-bps'), 0)
    .option('--allow-bad-data', 'run even when validation finds data errors');
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (o: Record<string, unknown>) => {
    // Everything the user typed is checked before the database is touched: bad input stores nothing.
    const config: SweepConfig | undefined = o.config ? readConfig(o.config as string) : undefined;
    const strategyRef = (o.strategy as string | undefined) ?? config?.strategy;
    if (!strategyRef) throw new InputError('give --strategy (or `strategy:` in the --config file)');
    const method: Method = (o.method as Method | undefined) ?? config?.method ?? 'grid';
    const trials = (o.trials as number | undefined) ?? config?.trials;
    const metric = parseMetric((o.metric as string | undefined) ?? config?.metric ?? 'sharpe');
    const seed = (o.seed as number | undefined) ?? config?.seed ?? 1;
    if (method !== 'grid' && trials === undefined) throw new InputError(`--method ${method} needs --trials N`);
    const loaded = await loadStrategy(strategyRef);
    const space = buildSearchSpace(loaded.strategy, {
      grid: (o.grid as string[]).map(parseGridFlag),
      choice: (o.choice as string[]).map(parseChoiceFlag),
      fixed: o.param as Record<string, ParamValue>,
      ...(config ? { config } : {}),
    });
    const runConfig = parseRunConfig({
      strategy: strategyRef,
      symbols: o.symbol as string[],
      timeframe: o.timeframe as string,
      ...(o.exchange ? { exchange: o.exchange as string } : {}),
      ...(o.from ? { from: parseTime(o.from as string, '--from') } : {}),
      ...(o.to ? { to: parseTime(o.to as string, '--to') } : {}),
      seed,
      cash: o.cash as number,
      takerFeeBps: o.feeBps as number,
      slippageBps: o.slippageBps as number,
      allowBadData: o.allowBadData === true,
    });
    const dbPath = resolveDbPath(o.db as string | undefined);
    const store = await openStore(dbPath);
    const ac = new AbortController();
    const onSignal = (): void => ac.abort(new Error('interrupted'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const progress = o.json || !process.stderr.isTTY ? undefined : progressBar();
    try {
      const market = await loadMarket(store, runConfig);
      const result = await runSweep({
        strategy: strategyRef,
        config: runConfig,
        market,
        space,
        method,
        ...(trials !== undefined ? { trials } : {}),
        seed,
        metric,
        workers: (o.workers as number | undefined) ?? defaultWorkers(),
        ...(o.queue ? { executor: queueExecutor({ url: o.queue as string, queueName: o.queueName as string, dataDir: (o.dataDir as string | undefined) ?? defaultDataDir(dbPath) }) } : {}),
        store,
        ...(o.sweepId ? { sweepId: o.sweepId as string } : {}),
        top: o.top as number,
        pboBlocks: o.pboBlocks as number,
        signal: ac.signal,
        ...(progress ? { onProgress: progress.update } : {}),
      });
      progress?.stop();
      if (o.json) printJson(sweepJson(result));
      else process.stdout.write(describeSweep(result));
    } catch (err) {
      if (!ac.signal.aborted) throw err;
      progress?.stop();
      process.stderr.write('interrupted: the finished runs are stored; rerun the same command to resume\n');
      process.exitCode = 130;
    } finally {
      progress?.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await store.close();
    }
  });
}

function readConfig(file: string): SweepConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`--config ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseSweepConfig(text, file);
}

/** On a terminal: runs done, rate and ETA on stderr (stdout stays clean for the result). */
function progressBar(): { update(p: SweepProgress): void; stop(): void } {
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'sweep [{bar}] {value}/{total} runs | {rate} runs/s | ETA {eta_formatted}{note}', hideCursor: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  const t0 = performance.now();
  let firstRun = -1;
  return {
    update: (p) => {
      if (stopped) return;
      const fresh = p.done - p.resumed;
      if (fresh > 0 && firstRun < 0) firstRun = performance.now();
      const secs = (performance.now() - (firstRun < 0 ? t0 : firstRun)) / 1000;
      // Timed from the first finished run, so pool start-up does not drag the rate down.
      const payload = { rate: secs > 0 && fresh > 1 ? ((fresh - 1) / secs).toFixed(1) : '-', note: p.resumed ? ` | ${p.resumed} resumed` : '' };
      if (!started) {
        bar.start(p.total, p.done, payload);
        started = true;
      } else bar.update(p.done, payload);
    },
    stop: () => {
      if (started && !stopped) bar.stop();
      stopped = true;
    },
  };
}

export function describeSweep(r: SweepResult): string {
  const head = `sweep ${r.sweepId}: ${r.strategy}, ${r.method}, ${r.trials} trials (${r.ran} run now, ${r.resumed} resumed), ${r.skippedInvalid} rejected by constraints\n`;
  const better = LOWER_IS_BETTER.has(r.metric) ? 'lower is better' : 'higher is better';
  return `${head}best by ${r.metric} (${better}):\n${formatRows(r.best, r.metric)}${describeOverfitting(r.overfitting)}`;
}

function formatRows(rows: readonly SweepRow[], metric: string): string {
  const cols = [...new Set([metric, 'sharpe', 'totalReturn', 'maxDrawdown', 'numTrades'])];
  const table = rows.map((b, i) => [String(i + 1), JSON.stringify(b.params), ...cols.map((c) => formatValue(c, b.metrics[c] === null ? NaN : (b.metrics[c] as number)))]);
  const header = ['#', 'params', ...cols];
  const widths = header.map((h, j) => Math.max(h.length, ...table.map((r) => r[j]!.length)));
  const line = (r: string[]): string => r.map((c, j) => (j === 1 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  ').trimEnd();
  return [line(header), ...table.map(line)].join('\n') + '\n';
}

function registerWorker(program: Command): void {
  const cmd = program
    .command('worker')
    .description('take sweep runs from a Redis queue (started by `cs sweep --queue`) until stopped with Ctrl-C / SIGTERM')
    .requiredOption('--queue <redis-url>', 'Redis of the sweep, e.g. redis://127.0.0.1:6379')
    .option('--concurrency <n>', 'runs at once, one worker thread each', int('--concurrency', 1), 1)
    .option('--lock-ms <ms>', 'job lock duration: a dead worker\'s job is retried after about this long', int('--lock-ms', 100), 30_000)
    .option('--stalled-ms <ms>', 'how often to look for jobs of dead workers', int('--stalled-ms', 100), 30_000)
    .option('--queue-name <name>', 'BullMQ queue name', 'cs-sweep');
  addDbOption(cmd.description(`${cmd.description()}; --db is a local copy of the data used when the sweep's data files are not reachable`));
  addJsonOption(cmd);
  cmd.action(async (o: Record<string, unknown>) => {
    const json = o.json === true;
    const log = (line: string): void => {
      if (json) printJson({ ts: new Date().toISOString(), event: line });
      else process.stderr.write(`${line}\n`);
    };
    const w = await startQueueWorker({
      url: o.queue as string,
      concurrency: o.concurrency as number,
      lockMs: o.lockMs as number,
      stalledMs: o.stalledMs as number,
      queueName: o.queueName as string,
      ...(o.db ? { db: o.db as string } : {}),
      log,
    });
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    log('stopping: finishing running jobs');
    await w.close();
  });
}

function registerSweeps(program: Command): void {
  const cmd = program
    .command('sweeps')
    .description('list stored sweeps, or show the best runs of one')
    .argument('[sweep-id]', 'a sweep to show')
    .option('--metric <name>', 'rank by this metric (default sharpe)', 'sharpe')
    .option('--top <n>', 'best runs to show', int('--top', 1), 10)
    .option('--pbo-blocks <S>', 'blocks of the CSCV split for the probability of backtest overfitting (even)', (v: string) => parsePboBlocks(v), DEFAULT_PBO_BLOCKS);
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (id: string | undefined, o: Record<string, unknown>) => {
    const metric = parseMetric(o.metric as string);
    const store = await openStore(resolveDbPath(o.db as string | undefined), { readOnly: true });
    try {
      const sweeps = await listSweeps(store);
      if (!id) {
        if (o.json) printJson(sweeps.map((s) => ({ sweepId: s.sweepId, strategy: s.strategy, trials: s.runs, codeHash: s.codeHash, datasetHash: s.datasetHash })));
        else process.stdout.write(sweeps.map((s) => `${s.sweepId}  ${s.strategy}  ${s.runs} runs\n`).join('') || 'no sweeps stored\n');
        return;
      }
      const s = sweeps.find((x) => x.sweepId === id);
      if (!s) throw new InputError(`no sweep ${id} in ${store.path} (see \`cs sweeps\`)`);
      const best = await bestSweepRuns(store, id, metric, { limit: o.top as number, ascending: LOWER_IS_BETTER.has(metric) });
      const overfitting = sweepOverfitting(await loadSweepRunsWithReturns(store, id), { blocks: o.pboBlocks as number });
      if (o.json) printJson({ sweepId: id, strategy: s.strategy, trials: s.runs, metric, best: best.map((b) => ({ runKey: b.runKey, params: b.params, metrics: b.metrics, resultHash: b.resultHash, seed: b.seed })), overfitting });
      else process.stdout.write(`sweep ${id}: ${s.strategy}, ${s.runs} trials\nbest by ${metric}:\n${formatRows(best, metric)}${describeOverfitting(overfitting)}`);
    } finally {
      await store.close();
    }
  });
}
