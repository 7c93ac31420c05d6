import { periodsPerYear } from '../timeframe.ts';
import { lastRegimeLabel } from './regime.ts';
import type { BarWindow, MarketRegime, SituationAnalysis } from './types.ts';

/** Step 1 settings: the same for every persona, so agents disagree on judgement, not on facts. */
export interface AnalysisSettings {
  readonly trendFast: number;
  readonly trendSlow: number;
  /** SMA spread (fast/slow − 1) beyond which the trend is up or down rather than flat. */
  readonly trendBand: number;
  /** Returns used for the volatility estimate. */
  readonly volLookback: number;
}

export const DEFAULT_ANALYSIS: AnalysisSettings = Object.freeze({
  trendFast: 20,
  trendSlow: 50,
  trendBand: 0.01,
  volLookback: 30,
});

/** Mean of the last `n` values of `a` (fewer when the window is shorter); NaN when empty. */
function tailMean(a: ArrayLike<number>, n: number): number {
  const from = Math.max(0, a.length - n);
  if (from >= a.length) return NaN;
  let s = 0;
  for (let i = from; i < a.length; i++) s += a[i]!;
  return s / (a.length - from);
}

/**
 * Annualised volatility: sample standard deviation (n − 1) of the last `lookback` log returns of
 * the close, times √(bars per year). 0 with fewer than two returns.
 */
export function annualisedVolatility(close: ArrayLike<number>, timeframeMs: number, lookback: number): number {
  const from = Math.max(1, close.length - lookback);
  const n = close.length - from;
  if (n < 2) return 0;
  let mean = 0;
  for (let i = from; i < close.length; i++) mean += Math.log(close[i]! / close[i - 1]!);
  mean /= n;
  let ss = 0;
  for (let i = from; i < close.length; i++) {
    const d = Math.log(close[i]! / close[i - 1]!) - mean;
    ss += d * d;
  }
  return Math.sqrt(ss / (n - 1)) * Math.sqrt(periodsPerYear(timeframeMs));
}

/** Fast/slow SMA spread of the close; 0 until the window holds `slow` bars. */
export function trendSpread(close: ArrayLike<number>, fast: number, slow: number): number {
  if (close.length < slow) return 0;
  return tailMean(close, fast) / tailMean(close, slow) - 1;
}

/**
 * The regime label of the last bar, by the project's one causal detector (engine/agents/regime.ts,
 * also used to score agents by regime); `range` while it warms up.
 */
export function lastRegime(close: ArrayLike<number>): MarketRegime {
  return lastRegimeLabel(close) ?? 'range';
}

/** Step 1: where the market stands at the last closed bar. */
export function analyzeSituation(bars: BarWindow, s: AnalysisSettings = DEFAULT_ANALYSIS): SituationAnalysis {
  const price = bars.close[bars.length - 1]!;
  const spread = trendSpread(bars.close, s.trendFast, s.trendSlow);
  const volatility = annualisedVolatility(bars.close, bars.timeframeMs, s.volLookback);
  const trend = spread > s.trendBand ? 'up' : spread < -s.trendBand ? 'down' : 'flat';
  const regime = lastRegime(bars.close);
  const summary =
    `${bars.symbol} at ${fmt(price)}, SMA${s.trendFast}/SMA${s.trendSlow} spread ${(spread * 100).toFixed(2)}% (${trend}), ` +
    `volatility ${(volatility * 100).toFixed(0)}% a year, regime ${regime}`;
  return { price, trend, volatility, regime, summary };
}

export function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(2) : x.toPrecision(6);
}
