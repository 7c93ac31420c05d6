import type { AgentInput, Persona } from '../../../engine/agents/types.ts';
import { barsTable, SUBMIT_TOOL } from './tools.ts';
import type { Masker } from './mask.ts';

/**
 * Prompt templates per persona. The system prompt states who the agent is and its hard limits; the
 * user message gives the situation at the replay clock and walks the five steps. Everything shown is
 * from the fenced AgentInput, through the masker. The text is part of the cache key: changing a word
 * here invalidates recorded answers, which is right (a different prompt is a different experiment).
 */
export interface PersonaPrompt {
  readonly persona: Persona;
  readonly character: string;
  /** Largest position as a fraction of equity; enforced by the answer check, not only asked for. */
  readonly maxFraction: number;
}

export const PERSONA_PROMPTS: Readonly<Record<string, PersonaPrompt>> = Object.freeze({
  conservative: {
    persona: 'conservative',
    character:
      'You are a conservative crypto trader. Capital preservation comes first: you trade small, you set tight stops, you stay out of volatile or falling markets, and you need several agreeing signals before you act.',
    maxFraction: 0.25,
  },
  aggressive: {
    persona: 'aggressive',
    character:
      'You are an aggressive crypto trader. You take large positions on strong momentum, give trades room with wide stops, and accept high volatility when the reward justifies it.',
    maxFraction: 1,
  },
  'trend-follower': {
    persona: 'trend-follower',
    character:
      'You are a trend-following crypto trader. You trade in the direction of the prevailing trend (moving averages, MACD), ignore mean-reversion signals against it, and exit when the trend breaks.',
    maxFraction: 0.5,
  },
});

export function personaPrompt(persona: string): PersonaPrompt | undefined {
  return Object.hasOwn(PERSONA_PROMPTS, persona) ? PERSONA_PROMPTS[persona] : undefined;
}

export function systemPrompt(p: PersonaPrompt): string {
  return [
    p.character,
    '',
    'You decide on one asset at a time, at the close of the latest bar. You see only data up to that moment; there is no later data, so do not guess it.',
    'Work through five steps:',
    '1. Situation analysis: trend (up/down/flat), market regime (trend-up, trend-down, range, volatile), a short summary.',
    '2. Signals: technical, sentiment and volume readings, each with its raw value and a vote in [-1, 1] (positive = bullish).',
    '3. Synthesis: weight the signals as your persona would (weights summing to 1), a weighted score in [-1, 1] and a stance.',
    `4. Risk assessment: reasons you refuse to act (vetoes), stop loss, target, and the largest position you would hold (at most ${p.maxFraction} of equity).`,
    '5. Recommendation: buy, sell (reduce or close a long) or hold; confidence 0-100; target; stop loss; size as a fraction of equity (0 for hold).',
    '',
    `You may call get_bars, get_indicator and get_sentiment for more data. Always answer by calling a tool, never in prose: give your decision by calling ${SUBMIT_TOOL} exactly once; prices in your answer are in the units you were shown.`,
  ].join('\n');
}

export function userPrompt(input: AgentInput, mask: Masker, windowBars: number): string {
  const b = input.bars;
  const last = b.length - 1;
  const lines = [
    `Asset: ${mask.symbol(input.symbol)}. Timeframe: ${Math.round(b.timeframeMs / 60_000)} minutes per bar.`,
    `Now: ${mask.time(b.ts[last]!, 0)} bar just closed at ${mask.price(b.close[last]!)}.`,
    // As a share of equity: a quantity in base units would hint at the asset's price level.
    `Your position: ${input.equity > 0 ? Math.round((1000 * input.positionQty * b.close[last]!) / input.equity) / 10 : 0}% of equity.`,
    '',
    `Last ${Math.min(windowBars, b.length)} bars (oldest first):`,
    barsTable(input, windowBars, mask),
  ];
  if (input.sentiment) lines.push('', `Sentiment (${input.sentiment.source}): ${input.sentiment.score} from ${input.sentiment.samples} item(s).`);
  const feats = Object.keys(input.features).sort();
  if (feats.length > 0) lines.push('', `Other features: ${feats.map((k) => `${k}=${num(input.features[k]!)}`).join(', ')}.`);
  lines.push('', 'Work through the five steps and submit your decision.');
  return lines.join('\n');
}

function num(x: number): number {
  return Number(x.toPrecision(8));
}
