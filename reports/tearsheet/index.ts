/** Self-contained HTML tearsheets: a run, a sweep, a walk-forward, a Monte Carlo study. */
export { runTearsheet, rollingWindow, type RunTearsheetInput, type PriceSeries } from './run.ts';
export { sweepTearsheet, varyingParams, type SweepTearsheetInput } from './sweep.ts';
export { walkForwardTearsheet, storedWalkForwardReportSchema, type WalkForwardTearsheetInput } from './walkforward.ts';
export { monteCarloTearsheet, growthAtSteps, type MonteCarloTearsheetInput } from './montecarlo.ts';
export { escapeHtml, scriptJson, echartsBundle } from './html.ts';
