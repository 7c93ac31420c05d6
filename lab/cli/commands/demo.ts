import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { openStore } from '../../../datasets/store.ts';
import { generateBars } from '../../../datasets/synth.ts';
import { loadRun, saveRun } from '../../../datasets/runs.ts';
import { parseGateConfig } from '../../gate.ts';
import { runReportHtml } from './report.ts';
import { builtinStrategies } from '../../../engine/strategies/index.ts';
import { runBacktest, reportJson, type BacktestReport } from '../../backtest.ts';
import { addDbOption, addJsonOption, printJson, resolveDbPath } from '../options.ts';
import { formatValue } from './metrics.ts';
import { toStoredRun } from './backtest.ts';

const DEMO = { exchange: 'synthetic', timeframe: '1h', from: Date.UTC(2023, 0, 1), to: Date.UTC(2025, 0, 1) } as const;
/** Two regimes (calm drift up, volatile drift down) so the example strategies have something to find. */
const MODEL = {
  kind: 'regime',
  regimes: [
    { drift: 0.6, vol: 0.45 },
    { drift: -0.5, vol: 0.9 },
  ],
  transition: [
    [0.998, 0.002],
    [0.004, 0.996],
  ],
} as const;
const SYMBOLS = [
  { symbol: 'BTC/USDT', seed: 7, startPrice: 16_500 },
  { symbol: 'ETH/USDT', seed: 11, startPrice: 1_200 },
];
const SHOWN = ['totalReturn', 'cagr', 'sharpe', 'sortino', 'maxDrawdown', 'winRate', 'profitFactor', 'numTrades', 'exposure'] as const;

export function register(program: Command): void {
  const cmd = program
    .command('demo')
    .description('synthesise two years of hourly BTC/USDT and ETH/USDT into the DuckDB store, backtest every example strategy and print the metrics')
    .option('--out <dir>', 'where the report files go', 'cs-reports');
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (o: { db?: string; json?: boolean; out: string }) => {
    const dbPath = resolveDbPath(o.db);
    const log = (s: string): void => void (o.json ? process.stderr : process.stdout).write(s);
    const store = await openStore(dbPath);
    const reports: BacktestReport[] = [];
    const dir = resolve(o.out);
    mkdirSync(dir, { recursive: true });
    const tearsheets: { strategy: string; runId: string; path: string }[] = [];
    try {
      const have = await store.listDatasets();
      for (const s of SYMBOLS) {
        if (have.some((d) => d.exchange === DEMO.exchange && d.symbol === s.symbol && d.timeframe === DEMO.timeframe)) continue;
        const bars = generateBars({ symbol: s.symbol, timeframeMs: 3_600_000, from: DEMO.from, to: DEMO.to, seed: s.seed, startPrice: s.startPrice, model: MODEL as never });
        await store.writeBars({ exchange: DEMO.exchange, symbol: s.symbol, timeframe: DEMO.timeframe }, bars);
        log(`synthesised ${bars.length} ${DEMO.timeframe} bars of ${s.symbol} (regime-switching model, seed ${s.seed}) into ${dbPath}\n`);
      }
      for (const name of Object.keys(builtinStrategies)) {
        const r = await runBacktest(store, { strategy: name, symbols: ['BTC/USDT'], timeframe: DEMO.timeframe, exchange: DEMO.exchange, seed: 1 });
        await saveRun(store, toStoredRun(r));
        reports.push(r);
      }
      for (const r of reports) {
        const run = await loadRun(store, r.runId);
        if (!run) continue;
        const path = join(dir, `${r.runId}.html`);
        writeFileSync(path, await runReportHtml(store, run, parseGateConfig({})));
        tearsheets.push({ strategy: r.strategy, runId: r.runId, path });
      }
    } finally {
      await store.close();
    }
    const table = comparison(reports);
    const mdFile = join(dir, 'demo.md');
    const jsonFile = join(dir, 'demo.json');
    writeFileSync(mdFile, `# CryptoSentinel demo\n\nBTC/USDT ${DEMO.timeframe}, synthetic (regime-switching), 2023-01-01 → 2025-01-01, 10,000 USDT, 0.1 % fee, fills at the next bar's open.\n\n\`\`\`\n${table}\`\`\`\n\nRuns are stored in \`${dbPath}\` (table \`runs\`); re-run one with \`cs backtest --strategy <name> --symbol BTC/USDT --timeframe 1h --json\`.\n`);
    writeFileSync(jsonFile, JSON.stringify(reports.map(reportJson), (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2));
    if (o.json) printJson({ db: dbPath, report: mdFile, tearsheets, runs: reports.map((r) => ({ runId: r.runId, strategy: r.strategy, resultHash: r.resultHash, metrics: r.metrics })) });
    else process.stdout.write(`\n${table}\nreport: ${mdFile}\n${tearsheets.map((t) => `tearsheet (${t.strategy}): ${t.path}\n`).join('')}results: ${jsonFile}\ndatabase: ${dbPath}\n`);
  });
}

function comparison(reports: readonly BacktestReport[]): string {
  const cols = [...reports.map((r) => r.strategy), 'buy & hold (benchmark)'];
  const rows = SHOWN.map((k) => [
    k,
    ...reports.map((r) => formatValue(k, r.metrics[k] as number)),
    k in (reports[0]?.metrics.benchmark ?? {}) ? formatValue(k, (reports[0]!.metrics.benchmark as unknown as Record<string, number>)[k]!) : '',
  ]);
  const widths = [Math.max(...SHOWN.map((k) => k.length)), ...cols.map((c, j) => Math.max(c.length, ...rows.map((r) => r[j + 1]!.length)))];
  const line = (cells: readonly string[]): string => cells.map((c, j) => (j === 0 ? c.padEnd(widths[0]!) : c.padStart(widths[j]!))).join('  ').trimEnd() + '\n';
  return line(['', ...cols]) + rows.map(line).join('');
}
