import type { Journal, JournalPayloads } from '../../engine/journal.ts';
import type { ScoredCall } from './scoring.ts';

/**
 * Meta-learning: an agent re-weights its own factors from its past calls and what followed.
 *
 * Skill of factor f over a history of calls = mean of s_f × sign(r), where s_f is the factor's
 * vote in [−1, 1] at the call (positive = bullish) and r the return over the horizon: +1 for a
 * factor that always pointed the right way, −1 for one that always pointed the wrong way, ≈ 0
 * for noise. Target weights ∝ max(0, skill); the learned weights move a share `rate` of the
 * way from the persona's prior to the target: w = (1 − rate)·prior + rate·target, renormalised to
 * the prior's total. Only the prior's factors are re-weighted (a persona decides which signals
 * it reads; learning decides how much); a factor absent from every past call keeps its prior
 * share. With fewer than `minSamples` calls, or no factor with positive skill, the prior stands.
 *
 * Walk-forward: the weights for a window starting at t are learned from calls whose outcome was
 * known by t (knownAt ≤ t), not merely decided before t: a call made just before t whose horizon
 * ends inside the window would otherwise leak the window's prices into its own weights.
 */
export interface MetaOptions {
  /** 0–1, default 0.5. */
  readonly rate?: number;
  /** Default 20. */
  readonly minSamples?: number;
}

export type FactorWeights = Readonly<Record<string, number>>;

export interface FactorSkill {
  readonly skill: number;
  readonly n: number;
}

export interface LearnedWeights {
  readonly weights: FactorWeights;
  readonly skill: Readonly<Record<string, FactorSkill>>;
  readonly samples: number;
  /** False when the prior stands (too few samples, no skilled factor). */
  readonly learned: boolean;
}

export function factorSkill(history: readonly ScoredCall[], factors: readonly string[]): Record<string, FactorSkill> {
  const out: Record<string, FactorSkill> = {};
  for (const f of factors) {
    let s = 0, n = 0;
    for (const c of history) {
      const v = c.factors[f];
      if (v === undefined || !Number.isFinite(v)) continue;
      s += v * Math.sign(c.outcome.ret);
      n++;
    }
    out[f] = { skill: n ? s / n : 0, n };
  }
  return out;
}

export function learnFactorWeights(prior: FactorWeights, history: readonly ScoredCall[], opts: MetaOptions = {}): LearnedWeights {
  const rate = opts.rate ?? 0.5, minSamples = opts.minSamples ?? 20;
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`meta-learning rate must be in [0, 1], got ${rate}`);
  const names = Object.keys(prior).sort();
  const skill = factorSkill(history, names);
  const positive = names.map((f) => Math.max(0, skill[f]!.skill));
  const sumPos = positive.reduce((s, x) => s + x, 0);
  if (history.length < minSamples || !(sumPos > 0)) return { weights: { ...prior }, skill, samples: history.length, learned: false };
  const total = names.reduce((s, f) => s + prior[f]!, 0) || 1;
  // A factor never seen in the history (e.g. no sentiment feed) keeps its prior share: there is no
  // evidence about it; the learning redistributes only the share of the factors it observed.
  const observed = names.map((f) => skill[f]!.n > 0);
  const observedShare = names.reduce((s, f, j) => s + (observed[j] ? prior[f]! / total : 0), 0);
  const raw = names.map((f, j) => (observed[j] ? (1 - rate) * (prior[f]! / total) + rate * observedShare * (positive[j]! / sumPos) : prior[f]! / total));
  const sumRaw = raw.reduce((s, x) => s + x, 0);
  const weights: Record<string, number> = {};
  names.forEach((f, j) => (weights[f] = (raw[j]! / sumRaw) * total));
  return { weights, skill, samples: history.length, learned: true };
}

/** The synthesis an agent would have reached with other weights: Σ w_f s_f over the call's factors. */
export function reweightedScore(call: ScoredCall, weights: FactorWeights): number {
  let s = 0;
  for (const [f, w] of Object.entries(weights)) {
    const v = call.factors[f];
    if (v !== undefined && Number.isFinite(v)) s += w * v;
  }
  return s;
}

export interface MetaWindow {
  readonly from: number;
  readonly to: number;
}

export interface MetaWindowResult extends MetaWindow {
  readonly before: FactorWeights;
  readonly weights: FactorWeights;
  readonly samples: number;
  readonly learned: boolean;
  /** Calls of the agent decided in the window, with an outcome. */
  readonly calls: number;
  /**
   * Σ sign(score) × r over the window's calls, the score from the prior weights and from the
   * learned ones: what re-weighting would have changed out of sample (no costs, unit stakes).
   */
  readonly priorPnl: number;
  readonly learnedPnl: number;
  /** The journal entry recording the change (null when nothing changed). */
  readonly change: JournalPayloads['config_change'] | null;
}

/**
 * Walk-forward meta-learning of one agent's factor weights. Each window's weights come from the
 * prior and the calls known before the window opens (see above); they are then used on it.
 */
export function metaLearnWalkForward(agentId: string, prior: FactorWeights, calls: readonly ScoredCall[], windows: readonly MetaWindow[], opts: MetaOptions = {}): MetaWindowResult[] {
  const own = calls.filter((c) => c.agentId === agentId);
  let current: FactorWeights = { ...prior };
  return windows.map((w) => {
    const history = own.filter((c) => c.outcome.knownAt <= w.from);
    const l = learnFactorWeights(prior, history, opts);
    const inWindow = own.filter((c) => c.ts >= w.from && c.ts < w.to);
    const pnl = (weights: FactorWeights): number => inWindow.reduce((s, c) => s + Math.sign(reweightedScore(c, weights)) * c.outcome.ret, 0);
    const before = current;
    const changed = Object.keys(l.weights).some((f) => l.weights[f] !== before[f]);
    current = l.weights;
    return {
      ...w, before, weights: l.weights, samples: l.samples, learned: l.learned, calls: inWindow.length,
      priorPnl: pnl(prior), learnedPnl: pnl(l.weights),
      change: changed
        ? {
          key: `agents.${agentId}.factorWeights`, before, after: l.weights, by: 'meta-learning',
          reason: l.learned
            ? `learned from ${l.samples} calls with outcomes known by ${new Date(w.from).toISOString()}`
            : `back to the prior: ${l.samples} calls with outcomes known by ${new Date(w.from).toISOString()}`,
        }
        : null,
    };
  });
}

/** Journals each window's change at the time it takes effect (the window's start). */
export function journalWeightChanges(journal: Journal, results: readonly MetaWindowResult[]): number {
  let n = 0;
  for (const r of results) {
    if (!r.change) continue;
    journal.append('config_change', r.change, r.from);
    n++;
  }
  return n;
}
