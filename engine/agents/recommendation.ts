import type { PersonaProfile } from './profile.ts';
import type { Recommendation, RiskAssessment, Synthesis } from './types.ts';

/**
 * Step 5. The action is the direction the agent argues for, whatever it holds (the strategy turns
 * it into orders: buy opens a long when flat, sell closes a long), so a debate compares views,
 * not inventories. Confidence = round(100 × |score|). Hold when neutral, below the persona's
 * minimum confidence, or a bullish call is vetoed. Size (buys only) = maxFraction, scaled by
 * confidence/100 for personas that size by conviction.
 */
export function recommend(synthesis: Synthesis, risk: RiskAssessment, profile: PersonaProfile): Recommendation {
  const confidence = Math.round(100 * Math.abs(synthesis.score));
  const hold: Recommendation = { action: 'hold', confidence, target: null, stopLoss: null, size: 0 };
  if (synthesis.stance === 'neutral' || confidence < profile.minConfidence) return hold;
  if (synthesis.stance === 'bullish') {
    if (risk.vetoes.length > 0) return hold;
    const size = profile.sizeByConfidence ? (risk.maxFraction * confidence) / 100 : risk.maxFraction;
    return { action: 'buy', confidence, target: risk.target, stopLoss: risk.stopLoss, size };
  }
  return { action: 'sell', confidence, target: risk.target, stopLoss: risk.stopLoss, size: risk.maxFraction };
}
