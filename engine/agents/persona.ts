import { assessRisk } from './risk.ts';
import { recommend } from './recommendation.ts';
import { atrOf, generateSignals } from './signals.ts';
import { analyzeSituation, DEFAULT_ANALYSIS, fmt, type AnalysisSettings } from './situation.ts';
import { stanceOf, synthesize } from './synthesis.ts';
import { isBuiltinPersona, PERSONA_PROFILES, type PersonaProfile } from './profile.ts';
import type { Agent, AgentAction, AgentDecision, AgentInput, Recommendation, RiskAssessment, Signal, SituationAnalysis, Synthesis } from './types.ts';

/** +1 buy, −1 sell, 0 hold: the direction an action argues for. */
export function actionSign(a: AgentAction): number {
  return a === 'buy' ? 1 : a === 'sell' ? -1 : 0;
}

interface Facts {
  readonly situation: SituationAnalysis;
  readonly signals: readonly Signal[];
  readonly atr: number;
}

/**
 * Steps 1–2 and the ATR do not depend on the persona: agents debating over one input share them,
 * computed once (the cache is keyed by the input object, which the caller does not mutate).
 */
const factsCache = new WeakMap<AgentInput, Map<AnalysisSettings, Facts>>();

function factsOf(input: AgentInput, analysis: AnalysisSettings = DEFAULT_ANALYSIS): Facts {
  let byAnalysis = factsCache.get(input);
  if (!byAnalysis) factsCache.set(input, (byAnalysis = new Map()));
  let f = byAnalysis.get(analysis);
  if (!f) byAnalysis.set(analysis, (f = { situation: analyzeSituation(input.bars, analysis), signals: generateSignals(input, analysis), atr: atrOf(input.bars) }));
  return f;
}

/** The five steps for one persona, as one pure function of what the agent may see. */
export function decideWithProfile(agentId: string, profile: PersonaProfile, input: AgentInput, analysis: AnalysisSettings = DEFAULT_ANALYSIS): AgentDecision {
  const { situation, signals, atr } = factsOf(input, analysis);
  const synthesis = synthesize(signals, profile);
  const risk = assessRisk(situation, synthesis, atr, profile);
  const recommendation = recommend(synthesis, risk, profile);
  const top = signals
    .map((s) => ({ s, c: (synthesis.weights[s.name] ?? 0) * s.score }))
    .filter((x) => x.c !== 0)
    .sort((a, b) => Math.abs(b.c) - Math.abs(a.c) || (a.s.name < b.s.name ? -1 : 1))
    .slice(0, 3)
    .map((x) => `${x.s.name} ${x.c > 0 ? '+' : ''}${x.c.toFixed(2)}`);
  const reasoning =
    `${situation.summary}. Signals (${top.join(', ') || 'none yet'}) sum to ${synthesis.score.toFixed(2)}: ${synthesis.stance}. ` +
    describeOutcome(recommendation, risk, synthesis, profile);
  return { agentId, persona: profile.persona, symbol: input.symbol, ts: input.now, situation, signals, synthesis, risk, recommendation, reasoning };
}

function describeOutcome(r: Recommendation, risk: RiskAssessment, syn: Synthesis, p: PersonaProfile): string {
  if (r.action === 'hold') {
    if (syn.stance === 'bullish' && risk.vetoes.length > 0) return `Hold: vetoed (${risk.vetoes.join('; ')}).`;
    if (syn.stance !== 'neutral' && r.confidence < p.minConfidence) return `Hold: confidence ${r.confidence} below ${p.minConfidence}.`;
    return `Hold at confidence ${r.confidence}.`;
  }
  const levels = `stop ${risk.stopLoss === null ? '—' : fmt(risk.stopLoss)}, target ${risk.target === null ? '—' : fmt(risk.target)}`;
  return `${r.action.toUpperCase()} at confidence ${r.confidence}, size ${(r.size * 100).toFixed(0)}% of equity, ${levels}.`;
}

/**
 * A debate round for a rule-based persona: move its score `openness` of the way toward the
 * others' mean signed conviction m = (1/n) Σ sign(actionⱼ)·confidenceⱼ/100 (abstentions left
 * out), then redo steps 4–5 with the new score. Signals and weights stay: the evidence did not
 * change, the judgement did.
 */
export function reviseWithProfile(profile: PersonaProfile, own: AgentDecision, others: readonly AgentDecision[], round: number, input: AgentInput): AgentDecision {
  const voters = others.filter((o) => !o.abstained);
  if (own.abstained || voters.length === 0 || profile.openness <= 0) return own;
  const m = voters.reduce((a, o) => a + (actionSign(o.recommendation.action) * o.recommendation.confidence) / 100, 0) / voters.length;
  const before = own.synthesis.score;
  const score = Math.max(-1, Math.min(1, (1 - profile.openness) * before + profile.openness * m));
  if (score === before) return own;
  const synthesis: Synthesis = { weights: own.synthesis.weights, score, stance: stanceOf(score, profile.stanceThreshold) };
  const risk = assessRisk(own.situation, synthesis, factsOf(input).atr, profile);
  const recommendation = recommend(synthesis, risk, profile);
  const reasoning =
    `${own.reasoning} Round ${round}: the others' mean view ${m.toFixed(2)} moved my score ${before.toFixed(2)} → ${score.toFixed(2)}: ` +
    describeOutcome(recommendation, risk, synthesis, profile);
  return { ...own, synthesis, risk, recommendation, reasoning };
}

export interface PersonaAgentOptions {
  readonly id?: string;
  /** Fields replacing the built-in profile's (weights replace the whole table). */
  readonly overrides?: Partial<PersonaProfile>;
  readonly analysis?: AnalysisSettings;
}

/** A rule-based agent: a built-in persona name or a full profile. */
export function createPersonaAgent(persona: string | PersonaProfile, opts: PersonaAgentOptions = {}): Agent {
  let base: PersonaProfile;
  if (typeof persona === 'string') {
    if (!isBuiltinPersona(persona)) throw new RangeError(`unknown persona "${persona}" (built-in: ${Object.keys(PERSONA_PROFILES).join(', ')})`);
    base = PERSONA_PROFILES[persona];
  } else base = persona;
  const profile: PersonaProfile = { ...base, ...opts.overrides };
  const id = opts.id ?? profile.persona;
  const analysis = opts.analysis ?? DEFAULT_ANALYSIS;
  return {
    id,
    persona: profile.persona,
    decide: (input) => decideWithProfile(id, profile, input, analysis),
    revise: (own, others, round, input) => reviseWithProfile(profile, own, others, round, input),
  };
}
