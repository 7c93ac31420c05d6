import type { EChartsOption } from 'echarts';
import { COLORS, baseOption, round } from './style.ts';

/**
 * Two parameters of a sweep against one metric. Several runs can share an (x, y) cell (the sweep
 * varied other parameters too): the cell shows the best of them, as a user choosing those two
 * values would (lowest for metrics where lower is better).
 */
export interface ParamPoint {
  readonly params: Readonly<Record<string, unknown>>;
  readonly value: number | null;
}

export interface ParamGrid {
  readonly x: string;
  readonly y: string;
  readonly xValues: string[];
  readonly yValues: string[];
  /** [xIndex, yIndex, value]; cells with no finite value are left out. */
  readonly cells: [number, number, number][];
}

const label = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? 'undefined');
const order = (a: unknown, b: unknown): number => (typeof a === 'number' && typeof b === 'number' ? a - b : label(a) < label(b) ? -1 : label(a) > label(b) ? 1 : 0);

export function paramGrid(points: readonly ParamPoint[], x: string, y: string, opts: { lowerIsBetter?: boolean } = {}): ParamGrid {
  const xs = uniqueSorted(points.map((p) => p.params[x]));
  const ys = uniqueSorted(points.map((p) => p.params[y]));
  const xIdx = new Map(xs.map((v, i) => [label(v), i]));
  const yIdx = new Map(ys.map((v, i) => [label(v), i]));
  const best = new Map<string, [number, number, number]>();
  for (const p of points) {
    if (p.value === null || !Number.isFinite(p.value)) continue;
    const i = xIdx.get(label(p.params[x]))!;
    const j = yIdx.get(label(p.params[y]))!;
    const key = `${i},${j}`;
    const cur = best.get(key);
    if (!cur || (opts.lowerIsBetter ? p.value < cur[2] : p.value > cur[2])) best.set(key, [i, j, p.value]);
  }
  return { x, y, xValues: xs.map(label), yValues: ys.map(label), cells: [...best.values()].sort((a, b) => a[1] - b[1] || a[0] - b[0]) };
}

function uniqueSorted(values: readonly unknown[]): unknown[] {
  const seen = new Map<string, unknown>();
  for (const v of values) seen.set(label(v), v);
  return [...seen.values()].sort(order);
}

export function parameterHeatmap(grid: ParamGrid, metric: string, title?: string): EChartsOption {
  const vals = grid.cells.map((c) => c[2]);
  const min = vals.length ? Math.min(...vals) : 0;
  const max = vals.length ? Math.max(...vals) : 1;
  return {
    ...baseOption(title ?? `${metric} by ${grid.x} × ${grid.y}`),
    tooltip: { position: 'top' },
    grid: { left: 80, right: 30, top: 40, bottom: 90 },
    xAxis: { type: 'category', name: grid.x, nameLocation: 'middle', nameGap: 28, data: grid.xValues, splitArea: { show: true } },
    yAxis: { type: 'category', name: grid.y, data: grid.yValues, splitArea: { show: true } },
    visualMap: { min, max: max > min ? max : min + 1, calculable: true, orient: 'horizontal', left: 'center', bottom: 5, inRange: { color: [COLORS.negative, COLORS.neutral, COLORS.positive] } },
    series: [{ name: metric, type: 'heatmap', label: { show: grid.cells.length <= 400, fontSize: 9 }, data: grid.cells.map(([i, j, v]) => [i, j, round(v, 3)]) }],
  };
}
