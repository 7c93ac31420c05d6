import type { EChartsOption } from 'echarts';
import { thinIndices } from './series.ts';
import { COLORS, baseOption, round } from './style.ts';
import { MAX_POINTS } from './performance.ts';

export interface WindowSpan {
  readonly isFrom: number;
  readonly isTo: number;
  readonly oosFrom: number;
  readonly oosTo: number;
}

/**
 * Top: the stitched out-of-sample equity; bottom: one row per window, its in-sample span and the
 * out-of-sample span that followed, on the same time axis. Each span is its own two-point line
 * (same series name, so the legend has two entries), which keeps the option free of functions.
 */
export function walkForwardChart(input: { readonly windows: readonly WindowSpan[]; readonly ts: ArrayLike<number>; readonly equity: ArrayLike<number>; readonly title?: string }): EChartsOption {
  const k = input.windows.length;
  const span = (name: string, color: string, from: number, to: number, row: number) => ({
    name,
    type: 'line' as const,
    xAxisIndex: 1,
    yAxisIndex: 1,
    color,
    symbol: 'none',
    lineStyle: { width: 8, color },
    data: [
      [from, row],
      [to, row],
    ],
  });
  const spans = input.windows.flatMap((w, i) => [span('in-sample', COLORS.inSample, w.isFrom, w.isTo, i), span('out-of-sample', COLORS.outOfSample, w.oosFrom, w.oosTo, i)]);
  const idx = thinIndices(Math.min(input.ts.length, input.equity.length), MAX_POINTS);
  // One time range for both panels, so a window sits under the stretch of curve it produced.
  const times = [...input.windows.flatMap((w) => [w.isFrom, w.oosTo]), ...(idx.length ? [input.ts[0]!, input.ts[idx[idx.length - 1]!]!] : [])];
  const range = times.length ? { min: Math.min(...times), max: Math.max(...times) } : {};
  return {
    ...baseOption(input.title ?? 'Walk-forward: stitched out-of-sample equity and windows'),
    legend: { top: 30, data: ['stitched OOS equity', 'in-sample', 'out-of-sample'] },
    axisPointer: { link: [{ xAxisIndex: 'all' }] },
    grid: [
      { left: 70, right: 30, top: 64, height: '46%' },
      { left: 70, right: 30, top: '68%', bottom: 40 },
    ],
    xAxis: [
      { type: 'time', gridIndex: 0, ...range },
      { type: 'time', gridIndex: 1, ...range },
    ],
    yAxis: [
      { type: 'value', scale: true, gridIndex: 0, name: 'equity' },
      { type: 'category', gridIndex: 1, name: 'window', inverse: true, data: input.windows.map((_, i) => String(i)), axisLabel: { interval: Math.max(0, Math.ceil(k / 12) - 1) } },
    ],
    series: [
      { name: 'stitched OOS equity', type: 'line', showSymbol: false, color: COLORS.strategy, lineStyle: { width: 1.5 }, data: idx.map((i) => [input.ts[i]!, round(input.equity[i]!, 2)]) },
      ...spans,
    ],
  };
}
