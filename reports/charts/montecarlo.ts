import type { EChartsOption } from 'echarts';
import type { Fan } from './series.ts';
import { COLORS, baseOption, round } from './style.ts';

/**
 * Fan chart of Monte Carlo paths: the outer band between the lowest and highest quantile, the
 * inner band between the second and second-to-last, the median as a line, and the observed run.
 * Bands are stacked areas (a transparent base, then the band's height), the usual way to draw a
 * range in ECharts without a custom series.
 */
export function monteCarloFanChart(input: { readonly fan: Fan; readonly xLabels?: readonly string[]; readonly observed?: readonly (number | null)[]; readonly startValue?: number; readonly title?: string; readonly xName?: string }): EChartsOption {
  const { fan } = input;
  const scale = input.startValue ?? 1;
  const q = fan.bands.map((b) => b.map((v) => v * scale));
  const nq = q.length;
  const x = input.xLabels ? [...input.xLabels] : fan.steps.map(String);
  const name = (i: number): string => `p${Math.round(fan.quantiles[i]! * 100)}`;
  const band = (lo: number, hi: number, opacity: number, stack: string) => [
    { name: `${name(lo)}`, type: 'line' as const, stack, symbol: 'none', lineStyle: { opacity: 0 }, data: q[lo]!.map((v) => round(v, 4)) },
    {
      name: `${name(lo)}–${name(hi)}`,
      type: 'line' as const,
      stack,
      symbol: 'none',
      lineStyle: { opacity: 0 },
      color: COLORS.strategy,
      areaStyle: { opacity, color: COLORS.strategy },
      data: q[hi]!.map((v, c) => round(v - q[lo]![c]!, 4)),
    },
  ];
  const series: EChartsOption['series'] = [];
  if (nq >= 2) series.push(...band(0, nq - 1, 0.15, 'outer'));
  if (nq >= 4) series.push(...band(1, nq - 2, 0.25, 'inner'));
  if (nq % 2 === 1) series.push({ name: `median (${name((nq - 1) / 2)})`, type: 'line', symbol: 'none', color: COLORS.strategy, lineStyle: { width: 2 }, data: q[(nq - 1) / 2]!.map((v) => round(v, 4)) });
  if (input.observed) series.push({ name: 'observed', type: 'line', symbol: 'none', color: '#222', lineStyle: { width: 1.5, type: 'dashed' }, data: input.observed.map((v) => (v === null ? null : round(v * scale, 4))) });
  return {
    ...baseOption(input.title ?? 'Monte Carlo paths (percentile fan)'),
    legend: { top: 30, data: series.map((s) => String(s.name)).filter((n) => n.includes('–') || n.startsWith('median') || n === 'observed') },
    xAxis: { type: 'category', boundaryGap: false, data: x, name: input.xName ?? 'step' },
    yAxis: { type: 'value', scale: true, name: scale === 1 ? 'growth of 1' : 'equity' },
    series,
  };
}
