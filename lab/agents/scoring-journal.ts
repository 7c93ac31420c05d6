import type { DecisionRecord } from '../../engine/decision.ts';
import type { JournalEntry } from '../../engine/journal.ts';
import type { AgentCall, CallAction, ConsensusCall, Vote } from './scoring.ts';

/**
 * Reads agent calls out of a run's journal.
 *
 * A decision entry yields:
 * - the calls of every agent decision found in `detail` (an AgentDecision: an object with agentId
 *   and recommendation.action/confidence; found at the top, in the last of its `rounds` (a debate's
 *   ConsensusRecord), else in its arrays), their factors being
 *   the agents' signal scores;
 * - when `detail` holds two or more agent decisions, a consensus call: the vote's outcome
 *   (`detail.outcome.action`, the desk's view) or else the record's action,
 *   with one vote per agent weighted by `votes[].weight` when the detail has such a list (the
 *   debate's ConsensusRecord: the vote's share of all confidence), else by the agent's confidence;
 * - with no agent decision in `detail`, one call from the record itself (a plain strategy: its
 *   numeric and boolean factors, 1/0). `close` and `cancel` decisions are not calls: they say
 *   nothing about the direction the agent expects.
 * Abstentions are skipped.
 */
export interface JournalCalls {
  readonly calls: AgentCall[];
  readonly consensus: ConsensusCall[];
}

interface AgentDecisionLike {
  readonly agentId: string;
  readonly symbol?: string;
  readonly ts?: number;
  readonly signals?: readonly { readonly name: string; readonly score: number }[];
  readonly synthesis?: { readonly weights?: Readonly<Record<string, number>> };
  readonly recommendation: { readonly action: CallAction; readonly confidence: number };
  readonly abstained?: unknown;
}

const ACTIONS: readonly string[] = ['buy', 'sell', 'hold'];

function isAgentDecision(x: unknown): x is AgentDecisionLike {
  if (!x || typeof x !== 'object') return false;
  const d = x as Record<string, unknown>;
  const r = d.recommendation as Record<string, unknown> | undefined;
  return typeof d.agentId === 'string' && !!r && typeof r === 'object' && ACTIONS.includes(r.action as string) && typeof r.confidence === 'number';
}

/** Agent decisions in a decision's detail: the detail itself, or the members of its arrays. */
export function agentDecisionsIn(detail: unknown): AgentDecisionLike[] {
  if (isAgentDecision(detail)) return [detail];
  if (!detail || typeof detail !== 'object') return [];
  // A debate's `rounds` is a list of lists, oldest round first: the last round holds the calls.
  const rounds = (detail as Record<string, unknown>).rounds;
  if (Array.isArray(rounds) && Array.isArray(rounds.at(-1))) {
    const last = (rounds.at(-1) as unknown[]).filter(isAgentDecision);
    if (last.length > 0) return last;
  }
  const out: AgentDecisionLike[] = [];
  for (const v of Object.values(detail as Record<string, unknown>)) {
    if (Array.isArray(v)) for (const x of v) if (isAgentDecision(x)) out.push(x);
  }
  // The same agent may appear in several rounds of a debate: its last answer is its call.
  const last = new Map<string, AgentDecisionLike>();
  for (const d of out) last.set(d.agentId, d);
  return [...last.values()];
}

function voteWeights(detail: unknown): Map<string, number> {
  const m = new Map<string, number>();
  const votes = detail && typeof detail === 'object' ? (detail as Record<string, unknown>).votes : undefined;
  if (Array.isArray(votes)) {
    for (const v of votes) {
      if (v && typeof v === 'object' && typeof v.agentId === 'string' && typeof v.weight === 'number' && Number.isFinite(v.weight)) m.set(v.agentId, v.weight);
    }
  }
  return m;
}

function numericFactors(f: Readonly<Record<string, unknown>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(f)) {
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
    else if (typeof v === 'boolean') out[k] = v ? 1 : 0;
  }
  return out;
}

function fromAgent(d: AgentDecisionLike, rec: DecisionRecord): AgentCall {
  const factors: Record<string, number> = {};
  for (const s of d.signals ?? []) if (typeof s.score === 'number' && Number.isFinite(s.score)) factors[s.name] = s.score;
  return {
    agentId: d.agentId,
    ts: rec.ts,
    symbol: d.symbol ?? rec.symbol,
    action: d.recommendation.action,
    confidence: d.recommendation.confidence,
    factors,
    weights: { ...(d.synthesis?.weights ?? {}) },
    decisionId: rec.id,
  };
}

export function callsFromDecision(rec: DecisionRecord): JournalCalls {
  const agents = agentDecisionsIn(rec.detail).filter((d) => !d.abstained);
  if (agents.length === 0) {
    if (!ACTIONS.includes(rec.action)) return { calls: [], consensus: [] };
    const call: AgentCall = {
      agentId: rec.agentId, ts: rec.ts, symbol: rec.symbol, action: rec.action as CallAction,
      confidence: rec.confidence, factors: numericFactors(rec.factors), weights: { ...rec.weights }, decisionId: rec.id,
    };
    return { calls: [call], consensus: [] };
  }
  const calls = agents.map((d) => fromAgent(d, rec));
  if (calls.length < 2) return { calls, consensus: [] };
  const w = voteWeights(rec.detail);
  const votes: Vote[] = calls.map((c) => ({ agentId: c.agentId, action: c.action, weight: w.get(c.agentId) ?? c.confidence }));
  const action = consensusAction(rec);
  return { calls, consensus: [{ decisionId: rec.id, ts: rec.ts, symbol: rec.symbol, action, votes }] };
}

/**
 * The desk's call: the vote's outcome when the detail records it (a long-only desk journals a buy
 * while already long as a hold, and a sell as a close, but its view was buy or sell), else the
 * record's action; a bare `close` is no direction.
 */
function consensusAction(rec: DecisionRecord): CallAction {
  const outcome = rec.detail && typeof rec.detail === 'object' ? (rec.detail as Record<string, unknown>).outcome : undefined;
  const a = outcome && typeof outcome === 'object' ? (outcome as Record<string, unknown>).action : undefined;
  if (typeof a === 'string' && ACTIONS.includes(a)) return a as CallAction;
  return ACTIONS.includes(rec.action) ? (rec.action as CallAction) : 'hold';
}

export function callsFromJournal(entries: readonly JournalEntry[]): JournalCalls {
  const calls: AgentCall[] = [];
  const consensus: ConsensusCall[] = [];
  for (const e of entries) {
    if (e.type !== 'decision') continue;
    const r = callsFromDecision(e.payload);
    calls.push(...r.calls);
    consensus.push(...r.consensus);
  }
  return { calls, consensus };
}
