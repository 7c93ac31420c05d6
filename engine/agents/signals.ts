import { rsiColumn } from '../indicators/rsi.ts';
import { macd } from '../indicators/macd.ts';
import { bbands } from '../indicators/bbands.ts';
import { atr } from '../indicators/atr.ts';
import { DEFAULT_ANALYSIS, trendSpread, type AnalysisSettings } from './situation.ts';
import type { AgentInput, BarWindow, SentimentReading, Signal, SignalKind } from './types.ts';

/**
 * Step 2: evidence, each signal a raw reading plus a vote in [-1, 1] (positive = bullish).
 * A signal still warming up (too few bars) is left out rather than voting 0, so it neither
 * dilutes the others nor shows up as a factor with a made-up value.
 *
 * Scores (all clamped to [-1, 1]):
 * - rsi: (50 − RSI14) / 20 — mean reversion: RSI 30 → +1, 70 → −1.
 * - macd: histogram(12, 26, 9) / (0.5 × ATR14) — momentum, in units of the bar's typical range.
 * - trend: (SMA20 / SMA50 − 1) / 0.03 — a 3 % spread is a full vote.
 * - bollinger: 1 − 2 × %B of BB(20, 2) — at the lower band +1, at the upper −1.
 * - volume: sign(last change) × (last volume / mean of the 20 before − 1) — heavy volume confirms the move.
 * - sentiment: the reading's score as is.
 * - features: each value as is (providers pre-scale on-chain and macro features to [-1, 1]).
 */
const clamp1 = (x: number): number => (x > 1 ? 1 : x < -1 ? -1 : x);

const last = (a: ArrayLike<number>): number => a[a.length - 1]!;

export function atrOf(bars: BarWindow, period = 14): number {
  return last(atr.batch(bars, { period })[0]!);
}

export function technicalSignals(bars: BarWindow, s: AnalysisSettings = DEFAULT_ANALYSIS): Signal[] {
  const out: Signal[] = [];
  const price = last(bars.close);
  const rsi = last(rsiColumn(bars.close, 14));
  if (Number.isFinite(rsi)) out.push({ name: 'rsi', kind: 'technical', value: rsi, score: clamp1((50 - rsi) / 20), note: `RSI14 ${rsi.toFixed(1)}` });
  const hist = last(macd.batch(bars, { fast: 12, slow: 26, signal: 9 })[2]!);
  const range = atrOf(bars);
  if (Number.isFinite(hist) && range > 0) {
    out.push({ name: 'macd', kind: 'technical', value: hist, score: clamp1(hist / (0.5 * range)), note: `MACD histogram ${hist.toPrecision(4)} (ATR ${range.toPrecision(4)})` });
  }
  if (bars.length >= s.trendSlow) {
    const spread = trendSpread(bars.close, s.trendFast, s.trendSlow);
    out.push({ name: 'trend', kind: 'technical', value: spread, score: clamp1(spread / 0.03), note: `SMA${s.trendFast}/SMA${s.trendSlow} − 1 = ${(spread * 100).toFixed(2)}%` });
  }
  const [upper, , lower] = bbands.batch(bars, { period: 20, stddev: 2 });
  const u = last(upper!);
  const l = last(lower!);
  if (Number.isFinite(u) && u > l) {
    const pctB = (price - l) / (u - l);
    out.push({ name: 'bollinger', kind: 'technical', value: pctB, score: clamp1(1 - 2 * pctB), note: `%B ${pctB.toFixed(2)}` });
  }
  return out;
}

export function volumeSignal(bars: BarWindow, lookback = 20): Signal | null {
  const n = bars.length;
  if (n < 2) return null;
  const k = Math.min(lookback, n - 1);
  let base = 0;
  for (let i = n - 1 - k; i < n - 1; i++) base += bars.volume[i]!;
  base /= k;
  if (!(base > 0)) return null;
  const ratio = bars.volume[n - 1]! / base;
  const dir = Math.sign(bars.close[n - 1]! - bars.close[n - 2]!);
  const score = clamp1(dir * Math.max(0, ratio - 1));
  return { name: 'volume', kind: 'volume', value: ratio, score, note: `volume ${ratio.toFixed(2)}× its ${k}-bar mean on a ${dir > 0 ? 'rising' : dir < 0 ? 'falling' : 'flat'} bar` };
}

export function sentimentSignal(reading: SentimentReading | null): Signal | null {
  if (!reading) return null;
  return { name: 'sentiment', kind: 'sentiment', value: reading.score, score: clamp1(reading.score), note: `${reading.source}: ${reading.score.toFixed(2)} from ${reading.samples} item(s)` };
}

/** Kind of a pluggable feature by its name's prefix (`onchain:…`, `macro:…`); anything else is macro. */
export function featureKind(name: string): SignalKind {
  return name.startsWith('onchain') ? 'onchain' : 'macro';
}

export function featureSignals(features: Readonly<Record<string, number>>): Signal[] {
  return Object.keys(features)
    .sort()
    .filter((k) => Number.isFinite(features[k]))
    .map((k) => ({ name: k, kind: featureKind(k), value: features[k]!, score: clamp1(features[k]!) }));
}

/** Step 2: every signal the input supports, in a fixed order (technical, volume, sentiment, features). */
export function generateSignals(input: AgentInput, s: AnalysisSettings = DEFAULT_ANALYSIS): Signal[] {
  const out = technicalSignals(input.bars, s);
  const v = volumeSignal(input.bars);
  if (v) out.push(v);
  const st = sentimentSignal(input.sentiment);
  if (st) out.push(st);
  out.push(...featureSignals(input.features));
  return out;
}
