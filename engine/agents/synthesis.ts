import type { PersonaProfile } from './profile.ts';
import type { Signal, Stance, Synthesis } from './types.ts';

/** The persona's raw weight for a signal: by name first, then by kind, else 0. */
function rawWeight(signal: Signal, table: Readonly<Record<string, number>>): number {
  const w = Object.hasOwn(table, signal.name) ? table[signal.name]! : Object.hasOwn(table, signal.kind) ? table[signal.kind]! : 0;
  return Number.isFinite(w) && w > 0 ? w : 0;
}

export function stanceOf(score: number, threshold: number): Stance {
  return score >= threshold && score > 0 ? 'bullish' : score <= -threshold && score < 0 ? 'bearish' : 'neutral';
}

/**
 * Step 3: weights renormalised over the signals present (so a missing sentiment feed shifts its
 * weight to the rest instead of pulling the score toward 0), score = Σ wᵢ·scoreᵢ.
 */
export function synthesize(signals: readonly Signal[], profile: Pick<PersonaProfile, 'weights' | 'stanceThreshold'>): Synthesis {
  const raw = signals.map((s) => rawWeight(s, profile.weights));
  const total = raw.reduce((a, b) => a + b, 0);
  const weights: Record<string, number> = {};
  let score = 0;
  signals.forEach((s, i) => {
    const w = total > 0 ? raw[i]! / total : 0;
    weights[s.name] = w;
    score += w * s.score;
  });
  score = Math.max(-1, Math.min(1, score));
  return { weights, score, stance: stanceOf(score, profile.stanceThreshold) };
}
