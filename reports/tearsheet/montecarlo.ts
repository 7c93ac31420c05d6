import type { RunRecord } from '../../datasets/runs.ts';
import type { McResult, Percentiles } from '../../lab/montecarlo.ts';
import { monteCarloFanChart, type Fan } from '../charts/index.ts';
import { identityBlock } from './blocks.ts';
import { fmtNum, fmtPct, fmtTime } from './format.ts';
import { chart, escapeHtml, keyValues, page, section, table, type Block } from './html.ts';

export interface MonteCarloTearsheetInput {
  readonly run: RunRecord;
  readonly result: McResult & { readonly warnings?: readonly string[] };
  readonly fan: Fan;
  /** Paths the fan was drawn from, when fewer than all of them. */
  readonly fanPaths?: number;
  /** The run's own returns in the order the paths resample (bars, or trades for a shuffle). */
  readonly observedReturns?: ArrayLike<number>;
  /** Label of each fan checkpoint (dates for bar paths); path steps otherwise. */
  readonly xLabels?: readonly string[];
  readonly xName?: string;
}

/** Growth of 1 along `returns` at the given steps (step 0 is the start); null past the end. */
export function growthAtSteps(returns: ArrayLike<number>, steps: readonly number[]): (number | null)[] {
  const out: (number | null)[] = [];
  let eq = 1;
  let k = 0;
  for (const s of steps) {
    while (k < s && k < returns.length) eq *= 1 + returns[k++]!;
    out.push(s <= returns.length ? eq : null);
  }
  return out;
}

export function monteCarloTearsheet(input: MonteCarloTearsheetInput): string {
  const { run, result: r, fan } = input;
  const start = run.curve.equity[0] ?? 1;
  const blocks: Block[] = [];
  if (r.warnings?.length) blocks.push({ html: `<ul>${r.warnings.map((w) => `<li class="warn">${escapeHtml(w)}</li>`).join('')}</ul>` });
  const rows: { name: string; p: Percentiles; observed: number; show: (x: unknown) => string }[] = [
    { name: 'final return', p: r.finalReturn, observed: r.observed.finalReturn, show: (x) => fmtPct(x) },
    { name: 'max drawdown', p: r.maxDrawdown, observed: r.observed.maxDrawdown, show: (x) => fmtPct(x) },
    { name: 'Sharpe ratio', p: r.sharpe, observed: r.observed.sharpe, show: (x) => fmtNum(x) },
  ];
  blocks.push({
    html: section(
      'Percentiles over the paths',
      table<(typeof rows)[number]>(
        [
          { head: 'statistic', cell: (x) => x.name, text: true },
          { head: 'p5', cell: (x) => x.show(x.p.p5) },
          { head: 'p50', cell: (x) => x.show(x.p.p50) },
          { head: 'p95', cell: (x) => x.show(x.p.p95) },
          { head: 'mean', cell: (x) => x.show(x.p.mean) },
          { head: 'observed', cell: (x) => x.show(x.observed) },
        ],
        rows,
      ),
      keyValues([
        [`probability of a drawdown ≥ ${fmtPct(r.ruinDrawdown, 0)}`, fmtPct(r.probRuin)],
        ['method', r.method],
        ['paths', String(r.paths)],
        ['seed', String(r.seed)],
        ...Object.entries(r.settings).map(([k, v]) => [k, fmtNum(v, 6)] as const),
      ]),
    ),
  });
  const observed = input.observedReturns ? growthAtSteps(input.observedReturns, fan.steps) : undefined;
  blocks.push({ html: section('Fan chart') });
  blocks.push(
    chart(
      'mc-fan',
      monteCarloFanChart({
        fan,
        startValue: start,
        ...(observed ? { observed } : {}),
        ...(input.xLabels ? { xLabels: input.xLabels } : {}),
        xName: input.xName ?? (r.method === 'shuffle' ? 'trade' : 'bar'),
        title: `Equity paths (${r.method}, ${input.fanPaths !== undefined && input.fanPaths < r.paths ? `the first ${input.fanPaths} of ${r.paths}` : r.paths} paths): ${fan.quantiles.map((q) => `p${Math.round(q * 100)}`).join(', ')}`,
      }),
      420,
    ),
  );
  if (r.method === 'shuffle') blocks.push({ html: '<p>A shuffle reorders the same trades: every path ends at the same equity; only the path (and so the drawdown) differs.</p>' });
  blocks.push({
    html: identityBlock([
      ['runId', run.runId],
      ['strategy', run.strategy],
      ['params', run.params],
      ['seed (run)', run.seed],
      ['seed (Monte Carlo)', r.seed],
      ['symbols', run.symbols.join(', ')],
      ['timeframe', run.timeframe],
      ['codeHash', run.codeHash],
      ['datasetHash', run.datasetHash],
      ['resultHash', run.resultHash],
    ]),
  });
  return page({ title: `Monte Carlo of ${run.strategy} — run ${run.runId}`, subtitle: `${r.method}, ${r.paths} paths, seed ${r.seed}; run ${fmtTime(run.fromTs)} → ${fmtTime(run.toTs)}`, blocks });
}
