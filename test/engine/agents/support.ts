import type { AgentDecision, AgentInput, BarWindow, SentimentReading } from '../../../engine/agents/types.ts';

export const HOUR = 3_600_000;

/** A window from closes: open = previous close, high/low 0.5 % around the bar, hourly from t0. */
export function windowOf(closes: readonly number[], opts: { volume?: readonly number[]; timeframeMs?: number; t0?: number; symbol?: string } = {}): BarWindow {
  const tf = opts.timeframeMs ?? HOUR;
  const t0 = opts.t0 ?? Date.UTC(2024, 0, 1);
  const n = closes.length;
  const f = (g: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => g(i));
  return {
    symbol: opts.symbol ?? 'BTC/USDT',
    timeframeMs: tf,
    ts: f((i) => t0 + i * tf),
    open: f((i) => (i === 0 ? closes[0]! : closes[i - 1]!)),
    high: f((i) => Math.max(closes[i]!, i === 0 ? closes[0]! : closes[i - 1]!) * 1.005),
    low: f((i) => Math.min(closes[i]!, i === 0 ? closes[0]! : closes[i - 1]!) * 0.995),
    close: Float64Array.from(closes),
    volume: f((i) => opts.volume?.[i] ?? 100),
    length: n,
  };
}

export function inputOf(bars: BarWindow, extra: { sentiment?: SentimentReading | null; features?: Record<string, number>; positionQty?: number } = {}): AgentInput {
  return {
    symbol: bars.symbol,
    now: bars.ts[bars.length - 1]! + bars.timeframeMs,
    bars,
    sentiment: extra.sentiment ?? null,
    features: extra.features ?? {},
    positionQty: extra.positionQty ?? 0,
    equity: 10_000,
  };
}

/** A decision with only what the vote reads filled in meaningfully. */
export function decisionOf(
  agentId: string,
  action: 'buy' | 'sell' | 'hold',
  confidence: number,
  o: { size?: number; stop?: number | null; target?: number | null; vetoes?: string[]; abstained?: string; score?: number } = {},
): AgentDecision {
  const score = o.score ?? (action === 'buy' ? confidence / 100 : action === 'sell' ? -confidence / 100 : 0);
  return {
    agentId,
    persona: agentId,
    symbol: 'BTC/USDT',
    ts: 0,
    situation: { price: 100, trend: 'flat', volatility: 0.5, regime: 'range', summary: '' },
    signals: [],
    synthesis: { weights: {}, score, stance: action === 'buy' ? 'bullish' : action === 'sell' ? 'bearish' : 'neutral' },
    risk: { vetoes: o.vetoes ?? [], stopLoss: o.stop ?? null, target: o.target ?? null, maxFraction: 1 },
    recommendation: { action, confidence, target: o.target ?? null, stopLoss: o.stop ?? null, size: o.size ?? (action === 'hold' ? 0 : 0.5) },
    reasoning: '',
    ...(o.abstained ? { abstained: { reason: o.abstained } } : {}),
  };
}
