import { createPersonaAgent } from '../../engine/agents/persona.ts';
import { PERSONA_PROFILES, isBuiltinPersona } from '../../engine/agents/profile.ts';
import { barWindowOf } from '../../engine/agents/window.ts';
import type { Agent, AgentDecision } from '../../engine/agents/types.ts';
import { Journal, type JournalEntry } from '../../engine/journal.ts';
import type { BarColumns } from '../../engine/types.ts';
import type { DecisionRecord } from '../../engine/decision.ts';
import { InputError } from '../../engine/errors.ts';
import { callsFromDecision } from './scoring-journal.ts';
import { priceBook, scoreCalls, type ScoredCall } from './scoring.ts';
import { learnFactorWeights, type FactorWeights, type MetaOptions } from './meta.ts';
import { selectionWindows } from './selection.ts';

/**
 * A rule-based persona that re-weights its own factors as it goes, walk-forward, over one
 * series: it decides every `every` bars; at the start of each test window its factor weights are
 * re-learned (lab/agents/meta.ts) from its own past calls whose outcome was known by then, it
 * trades the window with them (createPersonaAgent's `overrides.weights`), and the change is
 * journaled as a `config_change` at the window start, between the decisions it separates.
 * A second agent with the persona's fixed weights decides on the same bars, as the baseline.
 * Deterministic: no randomness, and the agent sees only bars closed at its decision time.
 */
export interface PersonaMetaOptions extends MetaOptions {
  readonly persona: string;
  readonly id?: string;
  /** Bars after a call at which its outcome is read (default 4). */
  readonly horizon?: number;
  /** Closed bars handed to the agent at each decision (default 200). */
  readonly lookback?: number;
  /** First training span and test windows, in bars. */
  readonly trainBars: number;
  readonly testBars: number;
  /** Decide every k bars (default 1). */
  readonly every?: number;
}

export interface PersonaMetaWindow {
  readonly from: number;
  readonly to: number;
  readonly weights: FactorWeights;
  /** Calls with outcomes known at `from` that the weights were learned from. */
  readonly samples: number;
  readonly learned: boolean;
  /** The learning agent's calls in the window with an outcome, and Σ direction × r over them. */
  readonly calls: number;
  readonly pnl: number;
  /** The fixed-weights agent on the same bars. */
  readonly priorPnl: number;
}

export interface PersonaMetaResult {
  readonly agentId: string;
  readonly prior: FactorWeights;
  readonly windows: readonly PersonaMetaWindow[];
  /** The learning agent's decisions (detail: its AgentDecision) and the config changes, in time order. */
  readonly journal: readonly JournalEntry[];
}

function decideAt(agent: Agent, c: BarColumns, i: number, lookback: number): AgentDecision {
  const bars = barWindowOf(c, i + 1 - lookback, i + 1);
  return agent.decide({ symbol: c.symbol, now: c.ts[i]! + c.timeframeMs, bars, sentiment: null, features: {}, positionQty: 0, equity: 1 });
}

function journalDecision(j: Journal, d: AgentDecision, seq: number): DecisionRecord {
  const factors: Record<string, number> = {};
  for (const s of d.signals) factors[s.name] = s.score;
  const rec: DecisionRecord = {
    id: `${d.agentId}-${seq}`, ts: d.ts, agentId: d.agentId, symbol: d.symbol, action: d.recommendation.action,
    factors, weights: { ...d.synthesis.weights }, confidence: d.recommendation.confidence, reasoning: d.reasoning, orderIds: [], detail: d,
  };
  j.append('decision', rec, d.ts);
  return rec;
}

export function metaLearnPersona(series: BarColumns, o: PersonaMetaOptions): PersonaMetaResult {
  if (!isBuiltinPersona(o.persona)) throw new InputError(`unknown persona "${o.persona}" (built-in: ${Object.keys(PERSONA_PROFILES).join(', ')})`);
  const horizon = o.horizon ?? 4, lookback = o.lookback ?? 200, every = o.every ?? 1;
  for (const [k, v] of Object.entries({ horizon, lookback, every, trainBars: o.trainBars, testBars: o.testBars })) {
    if (!Number.isInteger(v) || v < 1) throw new InputError(`meta-learning ${k} must be an integer ≥ 1, got ${v}`);
  }
  const id = o.id ?? o.persona;
  const prior = PERSONA_PROFILES[o.persona].weights;
  const tf = series.timeframeMs;
  const book = priceBook([series]);
  const first = lookback - 1;
  const decisionTs = (i: number): number => series.ts[i]! + tf;
  const windows = series.length > first ? selectionWindows(decisionTs(first), decisionTs(series.length - 1) + 1, o.trainBars * tf, o.testBars * tf) : [];
  const baseline = createPersonaAgent(o.persona, { id });
  const journal = new Journal();
  const history: ScoredCall[] = [];
  const out: PersonaMetaWindow[] = [];
  let seq = 0;
  let agent = baseline;
  let current: FactorWeights = prior;
  let w = -1;
  let window: { calls: number; pnl: number; priorPnl: number } = { calls: 0, pnl: 0, priorPnl: 0 };
  let learnedFrom = { samples: 0, learned: false };
  const close = (): void => {
    if (w < 0) return;
    const win = windows[w]!;
    out.push({ ...win, weights: current, samples: learnedFrom.samples, learned: learnedFrom.learned, ...window });
  };
  for (let i = first; i < series.length; i += every) {
    const ts = decisionTs(i);
    // Entering a new window: learn from what is known now, switch weights, journal the change.
    while (w + 1 < windows.length && ts >= windows[w + 1]!.from) {
      close();
      w++;
      const from = windows[w]!.from;
      const l = learnFactorWeights(prior, history.filter((c) => c.outcome.knownAt <= from), o);
      learnedFrom = { samples: l.samples, learned: l.learned };
      if (Object.keys(l.weights).some((f) => l.weights[f] !== current[f])) {
        journal.append('config_change', {
          key: `agents.${id}.factorWeights`, before: current, after: l.weights, by: 'meta-learning',
          reason: `learned from ${l.samples} calls with outcomes known by ${new Date(from).toISOString()}`,
        }, from);
      }
      current = l.weights;
      agent = createPersonaAgent(o.persona, { id, overrides: { weights: current } });
      window = { calls: 0, pnl: 0, priorPnl: 0 };
    }
    const inWindow = w >= 0 && ts < windows[w]!.to;
    const d = decideAt(agent, series, i, lookback);
    const scored = scoreCalls(callsFromDecision(journalDecision(journal, d, ++seq)).calls, book, horizon);
    history.push(...scored);
    if (inWindow && scored.length > 0) {
      const b = agent === baseline ? d : decideAt(baseline, series, i, lookback);
      window.calls++;
      window.pnl += scored[0]!.pnl;
      const dir = b.recommendation.action === 'buy' ? 1 : b.recommendation.action === 'sell' ? -1 : 0;
      window.priorPnl += dir * scored[0]!.outcome.ret;
    }
  }
  close();
  return { agentId: id, prior, windows: out, journal: journal.entries() };
}
