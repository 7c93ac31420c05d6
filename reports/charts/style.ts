/**
 * Shared look of every chart. Options must survive JSON (they are inlined into HTML and rendered in
 * the browser), so no formatter functions: values are scaled (fractions to percent) before they go
 * into a series, and labels use ECharts' string templates.
 */
export const COLORS = {
  strategy: '#2f6fdf',
  benchmark: '#8a8f98',
  drawdown: '#d9534f',
  positive: '#1a9850',
  negative: '#d73027',
  neutral: '#f7f7f7',
  inSample: '#9ecae1',
  outOfSample: '#fd8d3c',
} as const;

export const baseOption = (title: string) =>
  ({
    animation: false,
    title: { text: title, left: 'center', top: 4, textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'axis' },
    grid: { left: 70, right: 30, top: 64, bottom: 50, containLabel: false },
  }) as const;

/** Fraction to percent, rounded to 1e-6 % so the inlined JSON stays short. */
export const pct = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1e8) / 1e6 : null);
/** A number rounded to `d` significant-ish decimals for display; null when not finite. */
export const round = (x: number, d = 6): number | null => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);
