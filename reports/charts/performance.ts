import type { EChartsOption } from 'echarts';
import { drawdownSeries } from '../../engine/metrics.ts';
import { defaultBins, histogram, monthlyReturns, rollingSharpe, thinIndices, type Histogram, type MonthlyReturn } from './series.ts';
import { COLORS, baseOption, pct, round } from './style.ts';

/** Pure option builders for one backtest's charts: plain numbers in, a JSON-safe ECharts option out. */

export interface CurveInput {
  /** Close time of each point (epoch ms). */
  readonly ts: ArrayLike<number>;
  readonly equity: ArrayLike<number>;
}

/** Most points a line carries into a chart (see thinIndices). */
export const MAX_POINTS = 4000;

const pairs = (ts: ArrayLike<number>, ys: ArrayLike<number>, map: (y: number) => number | null = (y) => y, max = MAX_POINTS): [number, number | null][] =>
  thinIndices(Math.min(ts.length, ys.length), max).map((i) => [ts[i]!, map(ys[i]!)]);

export function equityChart(input: CurveInput & { readonly benchmark?: ArrayLike<number>; readonly title?: string }): EChartsOption {
  const series: EChartsOption['series'] = [
    { name: 'strategy', type: 'line', showSymbol: false, lineStyle: { width: 1.5 }, color: COLORS.strategy, data: pairs(input.ts, input.equity, (y) => round(y, 2)) },
  ];
  if (input.benchmark) series.push({ name: 'buy & hold', type: 'line', showSymbol: false, lineStyle: { width: 1 }, color: COLORS.benchmark, data: pairs(input.ts, input.benchmark, (y) => round(y, 2)) });
  return {
    ...baseOption(input.title ?? 'Equity vs buy & hold'),
    legend: { top: 30 },
    xAxis: { type: 'time' },
    yAxis: { type: 'value', scale: true, name: 'equity' },
    dataZoom: [{ type: 'inside' }],
    series,
  };
}

/** Underwater chart: drawdown from the running peak, in percent (0 at new highs). */
export function underwaterChart(input: CurveInput & { readonly title?: string }): EChartsOption {
  const dd = drawdownSeries(Float64Array.from(input.equity));
  return {
    ...baseOption(input.title ?? 'Drawdown (underwater)'),
    xAxis: { type: 'time' },
    yAxis: { type: 'value', max: 0, axisLabel: { formatter: '{value}%' } },
    dataZoom: [{ type: 'inside' }],
    series: [{ name: 'drawdown', type: 'line', showSymbol: false, color: COLORS.drawdown, areaStyle: { opacity: 0.35 }, lineStyle: { width: 1 }, data: pairs(input.ts, dd, pct) }],
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Years down, months across, each cell the month's compounded return in percent. */
export function monthlyReturnsHeatmap(months: readonly MonthlyReturn[], title = 'Monthly returns (%)'): EChartsOption {
  const years = [...new Set(months.map((m) => m.year))].sort((a, b) => a - b);
  const data = months.map((m) => [m.month, years.indexOf(m.year), round(m.ret * 100, 2)]);
  const extent = Math.max(1e-9, ...months.map((m) => Math.abs(m.ret * 100)).filter(Number.isFinite));
  return {
    ...baseOption(title),
    tooltip: { position: 'top' },
    grid: { left: 70, right: 30, top: 40, bottom: 80 },
    xAxis: { type: 'category', data: MONTHS, splitArea: { show: true } },
    yAxis: { type: 'category', inverse: true, data: years.map(String), splitArea: { show: true } },
    visualMap: { min: -extent, max: extent, calculable: true, orient: 'horizontal', left: 'center', bottom: 5, inRange: { color: [COLORS.negative, COLORS.neutral, COLORS.positive] } },
    series: [{ name: 'monthly return', type: 'heatmap', label: { show: true, fontSize: 10 }, data }],
  };
}

/** Convenience: the heatmap straight from a curve. */
export const monthlyReturnsChart = (input: CurveInput): EChartsOption => monthlyReturnsHeatmap(monthlyReturns(input.ts, input.equity));

export function rollingSharpeChart(input: CurveInput & { readonly window: number; readonly periodsPerYear: number; readonly title?: string }): EChartsOption {
  const s = rollingSharpe(Float64Array.from(input.equity), input.window, input.periodsPerYear);
  return {
    ...baseOption(input.title ?? `Rolling Sharpe ratio (${input.window} bars, annualised)`),
    xAxis: { type: 'time' },
    yAxis: { type: 'value', scale: true },
    dataZoom: [{ type: 'inside' }],
    series: [{ name: 'rolling Sharpe', type: 'line', showSymbol: false, color: COLORS.strategy, lineStyle: { width: 1 }, data: pairs(input.ts, s, (y) => round(y, 3)), markLine: { silent: true, symbol: 'none', data: [{ yAxis: 0 }] } }],
  };
}

/** Bars of a histogram of fractions, labelled by bin centre in percent. */
export function histogramChart(h: Histogram, title = 'Distribution of per-bar returns (%)'): EChartsOption {
  const centres = h.counts.map((_, j) => round(((h.edges[j]! + h.edges[j + 1]!) / 2) * 100, 3));
  return {
    ...baseOption(title),
    xAxis: { type: 'category', data: centres.map(String), name: '%', axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', name: 'bars' },
    series: [{ name: 'count', type: 'bar', barCategoryGap: '5%', color: COLORS.strategy, data: h.counts }],
  };
}

export const returnHistogramChart = (returns: ArrayLike<number>, bins = defaultBins(returns.length)): EChartsOption => histogramChart(histogram(returns, bins));

export interface TradeMark {
  readonly side: 'long' | 'short';
  readonly entryTs: number;
  readonly exitTs: number;
  readonly entryPrice: number;
  readonly exitPrice: number;
  readonly pnl?: number;
}

/** Close prices with each round trip's entry (triangle up) and exit (triangle down). */
export function priceTradesChart(input: { readonly ts: ArrayLike<number>; readonly close: ArrayLike<number>; readonly trades: readonly TradeMark[]; readonly symbol?: string; readonly title?: string }): EChartsOption {
  const entries = input.trades.map((t) => ({ value: [t.entryTs, t.entryPrice], name: `${t.side} entry` }));
  const exits = input.trades.map((t) => ({ value: [t.exitTs, t.exitPrice], name: `${t.side} exit${t.pnl !== undefined ? ` (pnl ${round(t.pnl, 2)})` : ''}` }));
  return {
    ...baseOption(input.title ?? `${input.symbol ?? 'Price'} with trades`),
    legend: { top: 30 },
    xAxis: { type: 'time' },
    yAxis: { type: 'value', scale: true },
    dataZoom: [{ type: 'inside' }],
    series: [
      { name: 'close', type: 'line', showSymbol: false, color: COLORS.benchmark, lineStyle: { width: 1 }, data: pairs(input.ts, input.close) },
      { name: 'entry', type: 'scatter', symbol: 'triangle', symbolSize: 9, color: COLORS.positive, data: entries },
      { name: 'exit', type: 'scatter', symbol: 'triangle', symbolRotate: 180, symbolSize: 9, color: COLORS.negative, data: exits },
    ],
  };
}
