import type { SweepInfo, SweepRow } from '../../datasets/sweeps.ts';
import type { SweepOverfitting } from '../../lab/sweep-overfitting.ts';
import type { GateReport } from '../../lab/gate.ts';
import { paramGrid, parameterHeatmap } from '../charts/index.ts';
import { gateBlock, identityBlock } from './blocks.ts';
import { fmtNum, fmtParams, fmtPct } from './format.ts';
import { chart, escapeHtml, keyValues, page, paragraph, section, table, type Block } from './html.ts';

export interface SweepTearsheetInput {
  readonly sweep: SweepInfo;
  readonly rows: readonly SweepRow[];
  readonly overfitting: SweepOverfitting;
  /** The metric ranked and mapped (a METRIC_COLUMNS name). */
  readonly metric: string;
  readonly lowerIsBetter?: boolean;
  /** The two parameters of the heatmap; by default the two that vary most. */
  readonly x?: string;
  readonly y?: string;
  readonly top?: number;
  readonly gate?: GateReport;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);
const paramsOf = (r: SweepRow): Record<string, unknown> => (r.params && typeof r.params === 'object' ? (r.params as Record<string, unknown>) : {});

/** Parameters that take more than one value across the runs, most values first (numbers before text on ties). */
export function varyingParams(rows: readonly SweepRow[]): string[] {
  const values = new Map<string, Set<string>>();
  const numeric = new Map<string, boolean>();
  for (const r of rows)
    for (const [k, v] of Object.entries(paramsOf(r))) {
      if (!values.has(k)) values.set(k, new Set());
      values.get(k)!.add(JSON.stringify(v));
      numeric.set(k, (numeric.get(k) ?? true) && typeof v === 'number');
    }
  return [...values]
    .filter(([, s]) => s.size > 1)
    .sort((a, b) => b[1].size - a[1].size || Number(numeric.get(b[0])) - Number(numeric.get(a[0])) || (a[0] < b[0] ? -1 : 1))
    .map(([k]) => k);
}

/** The single row of a heatmap when the sweep varied one parameter only. */
const ONLY = '·';

export function sweepTearsheet(input: SweepTearsheetInput): string {
  const { sweep, rows, overfitting: o, metric } = input;
  const varying = varyingParams(rows);
  const x = input.x ?? varying[0];
  const y = input.y ?? varying.find((k) => k !== x);
  const blocks: Block[] = [];

  blocks.push({ html: section('Parameter heatmap') });
  if (!x) blocks.push({ html: paragraph('No parameter varied across the runs: nothing to map.') });
  else {
    const points = rows.map((r) => ({ params: y ? paramsOf(r) : { ...paramsOf(r), [ONLY]: '' }, value: Number.isFinite(num(r.metrics[metric])) ? num(r.metrics[metric]) : null }));
    const grid = paramGrid(points, x, y ?? ONLY, { lowerIsBetter: input.lowerIsBetter ?? false });
    blocks.push(chart('param-heatmap', parameterHeatmap(grid, metric), Math.min(720, Math.max(280, 120 + 28 * grid.yValues.length))));
    const others = varying.filter((k) => k !== x && k !== y);
    if (others.length) blocks.push({ html: paragraph(`Each cell shows the ${input.lowerIsBetter ? 'lowest' : 'highest'} ${metric} over the other parameters (${others.join(', ')}).`) });
  }

  const ranked = [...rows].sort((a, b) => {
    const va = num(a.metrics[metric]);
    const vb = num(b.metrics[metric]);
    if (!Number.isFinite(va) || !Number.isFinite(vb)) return Number(Number.isFinite(vb)) - Number(Number.isFinite(va)) || a.seq - b.seq;
    return (input.lowerIsBetter ? va - vb : vb - va) || a.seq - b.seq;
  });
  const top = ranked.slice(0, input.top ?? 20);
  blocks.push({
    html: section(
      `Top ${top.length} of ${rows.length} runs by ${metric}`,
      table<SweepRow>(
        [
          { head: 'rank', cell: (r) => String(top.indexOf(r) + 1) },
          { head: 'params', cell: (r) => fmtParams(r.params), text: true },
          { head: metric, cell: (r) => fmtNum(r.metrics[metric], 4) },
          // The ranking metric is already the column before; Sharpe only when ranked by something else.
          ...(metric === 'sharpe' ? [] : [{ head: 'Sharpe', cell: (r: SweepRow) => fmtNum(r.metrics.sharpe) }]),
          { head: 'total return', cell: (r) => fmtPct(r.metrics.totalReturn) },
          { head: 'max drawdown', cell: (r) => fmtPct(r.metrics.maxDrawdown) },
          { head: 'trades', cell: (r) => fmtNum(r.metrics.numTrades, 0) },
          { head: 'run key', cell: (r) => r.runKey, text: true },
        ],
        top,
        { scroll: true },
      ),
    ),
  });

  const f = (v: number | null, d = 4): string => (v === null ? 'n/a' : fmtNum(v, d));
  blocks.push({
    html: section(
      'Overfitting: deflated Sharpe ratio and PBO',
      keyValues([
        ['trials (runs)', String(o.trials)],
        ['best run by Sharpe', `${o.bestRunKey ?? 'n/a'} (${fmtParams(o.bestParams)})`],
        ['best Sharpe (annualised)', f(o.bestSharpe)],
        ['best Sharpe (per period)', f(o.bestSharpePerPeriod, 6)],
        ['expected max Sharpe of unskilled trials (per period)', f(o.expectedMaxSharpe, 6)],
        ['deflated Sharpe ratio (DSR)', f(o.dsr)],
        ['probability of backtest overfitting (PBO)', f(o.pbo)],
        ['CSCV', `${o.pboBlocks} blocks, ${o.pboCombinations} combinations, ${o.pboRows} returns per run`],
      ]),
      o.notes.length ? `<ul>${o.notes.map((n) => `<li class="warn">${escapeHtml(n)}</li>`).join('')}</ul>` : '',
    ),
  });
  blocks.push({ html: gateBlock(input.gate, 'judged on the best run by Sharpe, with DSR and PBO over every run') });
  blocks.push({
    html: identityBlock([
      ['sweepId', sweep.sweepId],
      ['strategy', sweep.strategy],
      ['codeHash', sweep.codeHash],
      ['datasetHash', sweep.datasetHash],
      ['runs', sweep.runs],
      ['definition', JSON.stringify(sweep.definition)],
    ]),
  });
  return page({ title: `Sweep ${sweep.strategy} — ${sweep.sweepId}`, subtitle: `${rows.length} runs, ranked by ${metric}`, blocks });
}
