import type { Persona, SignalKind } from './types.ts';

/**
 * What makes one persona differ from another: how much each kind of evidence counts, how much
 * risk it takes, and how readily it changes its mind in a debate. Plain data, so a profile can
 * be journaled, hashed, overridden from a config and compared across runs.
 */
export interface PersonaProfile {
  readonly persona: Persona;
  /**
   * Weight per signal name (e.g. `rsi`) or, failing that, per signal kind (e.g. `sentiment`).
   * A signal found in neither counts 0. Weights are renormalised over the signals present.
   */
  readonly weights: Readonly<Record<string, number>>;
  /** |synthesis score| at or above which the stance is bullish/bearish rather than neutral. */
  readonly stanceThreshold: number;
  /** Below this confidence (0–100) the recommendation is hold. */
  readonly minConfidence: number;
  /** Largest position as a fraction of equity (long-only: a buy never exceeds it). */
  readonly maxFraction: number;
  /** Scale the size with confidence (size = maxFraction × confidence/100) instead of all of maxFraction. */
  readonly sizeByConfidence: boolean;
  /** Stop distance in ATRs below the price (above for a bearish call). */
  readonly stopAtr: number;
  /** Target distance as a multiple of the stop distance (reward : risk). */
  readonly rewardRisk: number;
  /** Annualised volatility (fraction) above which the agent refuses to open a position. */
  readonly maxVolatility: number;
  /** Regimes in which it refuses to open a long. */
  readonly vetoRegimes: readonly string[];
  /** In a debate: how far (0–1) it moves its score toward the others' confidence-weighted view per round. */
  readonly openness: number;
}

export const SIGNAL_KINDS: readonly SignalKind[] = ['technical', 'sentiment', 'volume', 'onchain', 'macro'];

/**
 * The three built-in personas. The conservative one trades small, stops close, listens to the
 * others and sits out high volatility and down-trends; the aggressive one sizes big, gives trades
 * room and ignores volatility; the trend follower weights the moving-average trend and MACD and
 * discounts mean-reversion evidence (RSI, Bollinger %B).
 */
export const PERSONA_PROFILES: Readonly<Record<'conservative' | 'aggressive' | 'trend-follower', PersonaProfile>> = Object.freeze({
  conservative: {
    persona: 'conservative',
    weights: { rsi: 0.2, macd: 0.15, trend: 0.2, bollinger: 0.15, volume: 0.1, sentiment: 0.15, onchain: 0.025, macro: 0.025 },
    stanceThreshold: 0.2,
    minConfidence: 30,
    maxFraction: 0.25,
    sizeByConfidence: true,
    stopAtr: 1.5,
    rewardRisk: 2,
    maxVolatility: 0.9,
    vetoRegimes: ['volatile', 'trend-down'],
    openness: 0.5,
  },
  aggressive: {
    persona: 'aggressive',
    weights: { rsi: 0.2, macd: 0.25, trend: 0.15, bollinger: 0.1, volume: 0.15, sentiment: 0.1, onchain: 0.025, macro: 0.025 },
    stanceThreshold: 0.08,
    minConfidence: 10,
    maxFraction: 1,
    sizeByConfidence: false,
    stopAtr: 3,
    rewardRisk: 3,
    maxVolatility: Infinity,
    vetoRegimes: [],
    openness: 0.1,
  },
  'trend-follower': {
    persona: 'trend-follower',
    weights: { rsi: 0.05, macd: 0.3, trend: 0.4, bollinger: 0.05, volume: 0.1, sentiment: 0.05, onchain: 0.025, macro: 0.025 },
    stanceThreshold: 0.15,
    minConfidence: 20,
    maxFraction: 0.6,
    sizeByConfidence: true,
    stopAtr: 2.5,
    rewardRisk: 2.5,
    maxVolatility: 1.5,
    vetoRegimes: ['trend-down'],
    openness: 0.25,
  },
});

export type BuiltinPersona = keyof typeof PERSONA_PROFILES;

export function isBuiltinPersona(p: string): p is BuiltinPersona {
  return Object.hasOwn(PERSONA_PROFILES, p);
}
