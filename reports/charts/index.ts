/** Chart option builders (ECharts, JSON-safe) and the series behind them; renderSvg for static output. */
export * from './series.ts';
export * from './performance.ts';
export * from './sweep.ts';
export * from './walkforward.ts';
export * from './montecarlo.ts';
export * from './render.ts';
export { COLORS } from './style.ts';
