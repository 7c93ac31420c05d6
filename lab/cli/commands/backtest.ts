import { Option, type Command } from 'commander';
import { InputError } from '../../../engine/errors.ts';
import { openStore } from '../../../datasets/store.ts';
import { saveRun } from '../../../datasets/runs.ts';
import { readJournal, writeJournal } from '../../../datasets/journal-store.ts';
import { parseRiskConfigText } from '../../../engine/risk.ts';
import { readFileSync } from 'node:fs';
import { runBacktest, reportJson, type BacktestReport, type BacktestRequest } from '../../backtest.ts';
import { addDbOption, addJsonOption, collectParam, parseTime, printJson, resolveDbPath, parseNumberOption, collect } from '../options.ts';
import { formatTable } from './metrics.ts';
import { addLlmOptions, describeLlm, withLlmSession } from '../../agents/llm/cli.ts';



export function register(program: Command): void {
  const cmd = program
    .command('backtest')
    .description('replay stored bars through a strategy (built-in name or a .ts file) and print its metrics')
    .requiredOption('--strategy <name|file>', 'sma-cross, rsi-reversion, bollinger-breakout, buy-and-hold, llm:<persona> (with --llm-cache), or ./my-strategy.ts')
    .requiredOption('--symbol <symbol>', 'market symbol, e.g. BTC/USDT (repeat for several)', collect)
    .requiredOption('--timeframe <tf>', 'bar timeframe: 1m, 5m, 15m, 1h, 4h, 1d')
    .option('--exchange <id>', 'exchange of the stored data (default: the only one holding the symbol)')
    .option('--from <date>', 'first bar (inclusive): YYYY-MM-DD, ISO time or epoch ms')
    .option('--to <date>', 'end (exclusive)')
    .option('--param <key=value>', 'strategy parameter (repeatable)', collectParam, {})
    .option('--seed <n>', 'seed for every random choice of the run', parseNumberOption('--seed'), 1)
    .option('--cash <usd>', 'starting cash in quote currency', parseNumberOption('--cash'), 10_000)
    .option('--fee-bps <bps>', 'taker fee in basis points (10 = 0.1 %)', parseNumberOption('--fee-bps'), 10)
    .option('--maker-fee-bps <bps>', 'maker fee in basis points (default: the taker fee)', parseNumberOption('--maker-fee-bps'))
    .option('--slippage-bps <bps>', 'fixed slippage on taker fills, basis points', parseNumberOption('--slippage-bps'), 0)
    .option('--latency-ms <ms>', 'order latency: decision → book', parseNumberOption('--latency-ms'), 0)
    .option('--max-volume-share <x>', 'cap fills at this share of each bar\'s volume (0–1]', parseNumberOption('--max-volume-share'))
    .addOption(new Option('--lot-method <m>', 'tax-lot matching').choices(['fifo', 'lifo', 'hifo']).default('fifo'))
    .option('--fill-on-close', 'fill market orders at the deciding bar\'s CLOSE (optimistic; default is the next bar\'s open)')
    .option('--allow-bad-data', 'run even when validation finds data errors')
    .option('--risk <file>', 'constraint config (YAML or JSON, see examples/risk.yaml): every order passes it')
    .option('--no-save', 'do not store the run in the database');
  addLlmOptions(cmd);
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (o: Record<string, unknown>) => {
    const request: BacktestRequest = {
      strategy: o.strategy as string,
      symbols: o.symbol as string[],
      timeframe: o.timeframe as string,
      ...(o.exchange ? { exchange: o.exchange as string } : {}),
      ...(o.from ? { from: parseTime(o.from as string, '--from') } : {}),
      ...(o.to ? { to: parseTime(o.to as string, '--to') } : {}),
      params: o.param as Record<string, unknown>,
      seed: o.seed as number,
      cash: o.cash as number,
      takerFeeBps: o.feeBps as number,
      ...(o.makerFeeBps !== undefined ? { makerFeeBps: o.makerFeeBps as number } : {}),
      slippageBps: o.slippageBps as number,
      latencyMs: o.latencyMs as number,
      ...(o.maxVolumeShare !== undefined ? { maxVolumeShare: o.maxVolumeShare as number } : {}),
      lotMethod: o.lotMethod as 'fifo',
      fillOnClose: o.fillOnClose === true,
      allowBadData: o.allowBadData === true,
      ...(o.risk ? { risk: readRiskConfig(o.risk as string) } : {}),
    };
    const store = await openStore(resolveDbPath(o.db as string | undefined));
    try {
      const { result: report, llm } = await withLlmSession(o, request.strategy, () => runBacktest(store, request));
      if (o.save !== false) {
        await saveRun(store, toStoredRun(report));
        // The audit trail of the run: `cs journal verify|why|export --run <id>` read it back.
        // The run id covers the journal's head hash: a stored journal under it is this one.
        if ((await readJournal(store, report.runId)).length === 0) await writeJournal(store, report.runId, report.journal);
      }
      if (o.json) printJson(llm ? { ...reportJson(report), llm } : reportJson(report));
      else process.stdout.write(describe(report) + (llm ? describeLlm(llm) : ''));
    } finally {
      await store.close();
    }
  });
}

function readRiskConfig(path: string) {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`--risk: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseRiskConfigText(text, path);
}

export function toStoredRun(r: BacktestReport) {
  return {
    runId: r.runId,
    strategy: r.strategy,
    strategySource: r.strategySource,
    codeHash: r.codeHash,
    params: r.params,
    seed: r.seed,
    symbols: r.symbols,
    timeframe: r.timeframe,
    fromTs: r.from,
    toTs: r.to,
    datasetHash: r.datasetHash,
    resultHash: r.resultHash,
    metrics: r.metrics,
    trades: r.trades,
    curve: { ts: r.run.curve.ts, equity: r.run.curve.equity, benchmark: r.benchmarkEquity },
  };
}

export function describe(r: BacktestReport): string {
  const title = `${r.strategy} ${JSON.stringify(r.params)} on ${r.symbols.join(', ')} ${r.timeframe}, ${new Date(r.from).toISOString().slice(0, 16)} → ${new Date(r.to).toISOString().slice(0, 16)} (${r.run.barsProcessed} bars, seed ${r.seed})`;
  const warn = r.datasets.filter((d) => d.validation.warnings > 0 || d.validation.errors > 0).map((d) => `  data: ${d.symbol} has ${d.validation.errors} error(s), ${d.validation.warnings} warning(s) — see cs data validate\n`);
  return `${formatTable(r.metrics, title)}${warn.join('')}run ${r.runId}  result ${r.resultHash.slice(0, 16)}  data ${r.datasetHash.slice(0, 16)}\n`;
}
