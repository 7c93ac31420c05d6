import { z } from 'zod';
import type { StoredWalkForward } from '../../datasets/walkforward.ts';
import type { GateReport } from '../../lab/gate.ts';
import { InputError } from '../../engine/errors.ts';
import { monthlyReturnsChart, underwaterChart, walkForwardChart } from '../charts/index.ts';
import { gateBlock, identityBlock, metricsTable } from './blocks.ts';
import { fmtNum, fmtParams, fmtPct, fmtTime } from './format.ts';
import { chart, keyValues, page, paragraph, section, table, type Block } from './html.ts';

/** A time stored as ISO text (walkForwardJson) or epoch ms. */
const time = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const t = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(t)) {
    ctx.addIssue({ code: 'custom', message: `not a time: ${String(v)}` });
    return z.NEVER;
  }
  return t;
});
const n = z.number().nullable().optional();
const metricsBag = z.record(z.string(), z.unknown());

/** The parts of a stored walk-forward report the tearsheet reads (the JSON is outside data). */
export const storedWalkForwardReportSchema = z.object({
  windows: z.array(
    z.object({
      index: z.number(),
      isFrom: time,
      isTo: time,
      oosFrom: time,
      oosTo: time,
      params: z.unknown(),
      trials: n,
      isScore: n,
      isMetrics: metricsBag.optional(),
      oosMetrics: metricsBag.optional(),
      efficiency: n,
    }),
  ),
  oosMetrics: metricsBag.default({}),
  efficiency: z.object({ returnRatio: n, sharpeRatio: n }).partial().default({}),
  stability: z
    .object({ params: z.record(z.string(), z.object({ mean: n, std: n, cv: n, distinct: n })).default({}), changeRate: n })
    .partial()
    .default({}),
  overfitting: z.object({ psr: n, dsr: n, expectedMaxSharpe: n, trials: n, pbo: n, pboCombinations: n }).partial().default({}),
  options: z.record(z.string(), z.unknown()).default({}),
});

export interface WalkForwardTearsheetInput {
  readonly wf: StoredWalkForward;
  readonly gate?: GateReport;
}

export function walkForwardTearsheet(input: WalkForwardTearsheetInput): string {
  const { wf } = input;
  const parsed = storedWalkForwardReportSchema.safeParse(wf.report);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new InputError(`walk-forward ${wf.id}: stored report field ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  const r = parsed.data;
  const curve = { ts: wf.curve.ts, equity: wf.curve.equity };
  const blocks: Block[] = [];
  blocks.push({ html: section('Out-of-sample performance (stitched)', metricsTable(r.oosMetrics, undefined, ['stitched OOS', ''])) });
  if (curve.ts.length >= 2) {
    blocks.push(chart('walkforward', walkForwardChart({ windows: r.windows, ...curve }), Math.max(460, 360 + 14 * r.windows.length)));
    blocks.push(chart('drawdown', underwaterChart({ ...curve, title: 'Drawdown of the stitched out-of-sample equity' }), 240));
    blocks.push(chart('monthly', monthlyReturnsChart(curve), 280));
  } else blocks.push({ html: paragraph('The stitched curve has fewer than two points: no charts.') });
  type W = (typeof r.windows)[number];
  blocks.push({
    html: section(
      `Windows (${r.windows.length})`,
      table<W>(
        [
          { head: '#', cell: (w) => String(w.index) },
          { head: 'in-sample', cell: (w) => `${fmtTime(w.isFrom)} → ${fmtTime(w.isTo)}`, text: true },
          { head: 'out-of-sample', cell: (w) => `${fmtTime(w.oosFrom)} → ${fmtTime(w.oosTo)}`, text: true },
          { head: 'chosen params', cell: (w) => fmtParams(w.params), text: true },
          { head: 'trials', cell: (w) => fmtNum(w.trials, 0) },
          { head: 'IS score', cell: (w) => fmtNum(w.isScore, 4) },
          { head: 'IS return', cell: (w) => fmtPct(w.isMetrics?.totalReturn) },
          { head: 'OOS return', cell: (w) => fmtPct(w.oosMetrics?.totalReturn) },
          { head: 'OOS Sharpe', cell: (w) => fmtNum(w.oosMetrics?.sharpe) },
          { head: 'efficiency', cell: (w) => fmtNum(w.efficiency) },
        ],
        r.windows,
        { scroll: true },
      ),
    ),
  });
  const stab = Object.entries(r.stability.params ?? {});
  blocks.push({
    html: section(
      'Efficiency, stability and overfitting',
      keyValues([
        ['return efficiency (OOS / IS annualised return)', fmtNum(r.efficiency.returnRatio)],
        ['Sharpe efficiency (OOS / IS Sharpe)', fmtNum(r.efficiency.sharpeRatio)],
        ['parameter change rate between windows', fmtPct(r.stability.changeRate)],
        ['PSR of stitched OOS returns', fmtNum(r.overfitting.psr, 4)],
        ['DSR of stitched OOS returns', fmtNum(r.overfitting.dsr, 4)],
        ['trials per window', fmtNum(r.overfitting.trials, 0)],
        ['PBO (CSCV over the whole span)', fmtNum(r.overfitting.pbo, 4)],
      ]),
      stab.length
        ? table<(typeof stab)[number]>(
            [
              { head: 'parameter', cell: ([k]) => k, text: true },
              { head: 'mean', cell: ([, s]) => fmtNum(s.mean, 4) },
              { head: 'std', cell: ([, s]) => fmtNum(s.std, 4) },
              { head: 'cv', cell: ([, s]) => fmtNum(s.cv, 4) },
              { head: 'distinct values', cell: ([, s]) => fmtNum(s.distinct, 0) },
            ],
            stab,
          )
        : '',
    ),
  });
  blocks.push({ html: gateBlock(input.gate, 'judged on the stitched out-of-sample curve') });
  blocks.push({
    html: identityBlock([
      ['walkForwardId', wf.id],
      ['strategy', wf.strategy],
      ['symbols', wf.symbols.join(', ')],
      ['timeframe', wf.timeframe],
      ['codeHash', wf.codeHash],
      ['datasetHash', wf.datasetHash],
      ['options', JSON.stringify(r.options)],
    ]),
  });
  return page({ title: `Walk-forward ${wf.strategy} — ${wf.symbols.join(', ')} ${wf.timeframe}`, subtitle: `walk-forward ${wf.id}, ${r.windows.length} windows`, blocks });
}
