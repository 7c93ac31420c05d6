import type { RunRecord } from '../../datasets/runs.ts';
import type { GateReport } from '../../lab/gate.ts';
import { returnsFromEquity } from '../../engine/metrics.ts';
import { equityChart, monthlyReturnsChart, priceTradesChart, returnHistogramChart, rollingSharpeChart, underwaterChart } from '../charts/index.ts';
import { metricsTable, gateBlock, identityBlock, tradesTable, validationBlock, type NamedValidation } from './blocks.ts';
import { fmtTime } from './format.ts';
import { chart, escapeHtml, page, paragraph, section, type Block } from './html.ts';

/** Closes of one symbol over the run's span, for the trades-on-price chart. */
export interface PriceSeries {
  readonly symbol: string;
  /** Bar open times (epoch ms). */
  readonly ts: ArrayLike<number>;
  readonly close: ArrayLike<number>;
}

export interface RunTearsheetInput {
  readonly run: RunRecord;
  readonly periodsPerYear: number;
  readonly prices?: readonly PriceSeries[];
  readonly validation?: readonly NamedValidation[];
  readonly gate?: GateReport;
  /** Why something is missing or differs (the data changed since the run, …). */
  readonly notes?: readonly string[];
}

/** A month of bars (at least 2, at most a quarter of the curve) for the rolling Sharpe ratio. */
export function rollingWindow(points: number, periodsPerYear: number): number {
  const month = Math.round(periodsPerYear / 12);
  return Math.max(2, Math.min(month, Math.floor((points - 1) / 4)));
}

/** A stored backtest as one HTML page. */
export function runTearsheet(input: RunTearsheetInput): string {
  const { run } = input;
  const curve = { ts: run.curve.ts, equity: run.curve.equity };
  const bench = run.curve.benchmark && run.curve.benchmark.length === run.curve.equity.length ? run.curve.benchmark : undefined;
  const metrics = run.metrics as Record<string, unknown>;
  const benchMetrics = (metrics.benchmark ?? undefined) as Record<string, unknown> | undefined;
  const blocks: Block[] = [];
  blocks.push({ html: section('Performance', metricsTable(metrics, benchMetrics)) });
  if (input.notes?.length) blocks.push({ html: `<ul>${input.notes.map((n) => `<li class="warn">${escapeHtml(n)}</li>`).join('')}</ul>` });
  if (curve.ts.length >= 2) {
    blocks.push(chart('equity', equityChart({ ...curve, ...(bench ? { benchmark: bench } : {}) }), 380));
    blocks.push(chart('drawdown', underwaterChart(curve), 260));
    blocks.push(chart('monthly', monthlyReturnsChart(curve), 300));
    const w = rollingWindow(curve.ts.length, input.periodsPerYear);
    if (curve.ts.length > w + 1) blocks.push(chart('rolling-sharpe', rollingSharpeChart({ ...curve, window: w, periodsPerYear: input.periodsPerYear, title: `Rolling Sharpe ratio (${w} bars, annualised)` }), 280));
    blocks.push(chart('returns-histogram', returnHistogramChart(returnsFromEquity(curve.equity)), 300));
  } else blocks.push({ html: paragraph('The run has fewer than two equity points: no charts.') });
  blocks.push({ html: section('Trades on the price chart') });
  const prices = input.prices ?? [];
  if (prices.length === 0) blocks.push({ html: paragraph('The run’s market data is not in the store: no price chart.') });
  prices.forEach((p, i) =>
    blocks.push(chart(`price-${i}`, priceTradesChart({ ts: p.ts, close: p.close, symbol: p.symbol, trades: run.trades.filter((t) => t.symbol === p.symbol) }), 380)),
  );
  blocks.push({ html: section('Trades', tradesTable(run.trades)) });
  blocks.push({ html: gateBlock(input.gate, 'the criteria of cs gate (its defaults unless --gate-config is given)') });
  blocks.push({ html: validationBlock(input.validation ?? []) });
  blocks.push({
    html: identityBlock([
      ['runId', run.runId],
      ['strategy', run.strategy],
      ['strategySource', run.strategySource],
      ['params', run.params],
      ['seed', run.seed],
      ['symbols', run.symbols.join(', ')],
      ['timeframe', run.timeframe],
      ['from', fmtTime(run.fromTs)],
      ['to', fmtTime(run.toTs)],
      ['codeHash', run.codeHash],
      ['datasetHash', run.datasetHash],
      ['resultHash', run.resultHash],
    ]),
  });
  return page({
    title: `Backtest ${run.strategy} — ${run.symbols.join(', ')} ${run.timeframe}`,
    subtitle: `run ${run.runId}, ${fmtTime(run.fromTs)} → ${fmtTime(run.toTs)}, seed ${run.seed}`,
    blocks,
  });
}
