import type { PersonaProfile } from './profile.ts';
import type { RiskAssessment, SituationAnalysis, Synthesis } from './types.ts';

/**
 * Step 4: what the persona refuses and where it would get out. Vetoes stop it from OPENING or
 * adding to a long (a bearish call, which only reduces risk in a long-only book, is never vetoed).
 * Stop and target are `stopAtr` ATRs away on the losing side and `rewardRisk` times that on the
 * winning side; when the ATR is not yet defined the stop falls back to 2 % of the price.
 */
export function assessRisk(situation: SituationAnalysis, synthesis: Synthesis, atr: number, profile: PersonaProfile): RiskAssessment {
  const vetoes: string[] = [];
  if (situation.volatility > profile.maxVolatility) {
    vetoes.push(`volatility ${(situation.volatility * 100).toFixed(0)}% > ${(profile.maxVolatility * 100).toFixed(0)}% cap`);
  }
  if (profile.vetoRegimes.includes(situation.regime)) vetoes.push(`no new longs in a ${situation.regime} regime`);
  const price = situation.price;
  const dist = Number.isFinite(atr) && atr > 0 ? profile.stopAtr * atr : 0.02 * price;
  const dir = synthesis.stance === 'bearish' ? -1 : 1;
  const stopLoss = synthesis.stance === 'neutral' ? null : Math.max(0, price - dir * dist);
  const target = synthesis.stance === 'neutral' ? null : Math.max(0, price + dir * profile.rewardRisk * dist);
  return { vetoes, stopLoss, target, maxFraction: profile.maxFraction };
}
