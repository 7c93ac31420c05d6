import type { Agent, AgentAction, AgentDecision, AgentInput } from './types.ts';

/**
 * Debate and vote. Every agent decides alone (round 0); then, for `rounds` rounds, each sees the
 * others' previous-round decisions and may revise (all at once, so the agents' order does not
 * matter); then the last round's recommendations are put to a confidence-weighted vote.
 *
 * The vote, precisely. Each agent that did not abstain casts its action a ∈ {buy, sell, hold}
 * with its confidence c ∈ [0, 100]. W(a) = Σ c over the votes for a, and
 *   weight(a) = W(a) / (W(buy) + W(sell) + W(hold))      (0 when every confidence is 0)
 * is the share of all confidence behind a. The action with the largest W wins; equal largest
 * W is a tie, settled by `tie`: 'hold' (no action), 'risk-off' (sell before hold before buy),
 * or 'chair' (the first listed agent whose vote is among the tied). The winner is then turned
 * into hold when: fewer than ⌈quorum × N⌉ of the N agents voted; its weight is below
 * `minWeight`; or it is a buy and a risk veto applies — any agent's own veto (its risk step
 * refused to go long) when `vetoOnAnyAgent`, or a veto or a sell vote from an agent listed in
 * `riskAgents`. A sell only reduces a long-only book, so vetoes never block it.
 *
 * Confidence of the outcome = round(weight × mean confidence of the winner's voters) (0 when
 * blocked); size = confidence-weighted mean of their sizes; stop = the tightest of theirs
 * (highest for a buy), target = the nearest (lowest for a buy).
 */
export interface ConsensusConfig {
  readonly rounds: number;
  readonly quorum: number;
  readonly minWeight: number;
  readonly tie: 'hold' | 'risk-off' | 'chair';
  readonly vetoOnAnyAgent: boolean;
  readonly riskAgents: readonly string[];
}

export const DEFAULT_CONSENSUS: ConsensusConfig = Object.freeze({
  rounds: 1,
  quorum: 0.5,
  minWeight: 0,
  tie: 'hold',
  vetoOnAnyAgent: true,
  riskAgents: [],
});

export interface Vote {
  readonly agentId: string;
  readonly persona: string;
  readonly action: AgentAction;
  readonly confidence: number;
  readonly abstained: boolean;
  /** This vote's share of all confidence cast, c / ΣW (0 for an abstention). */
  readonly weight: number;
}

export interface TallyRow {
  readonly count: number;
  /** W(a): the sum of the confidences. */
  readonly confidence: number;
  /** W(a) / ΣW. */
  readonly weight: number;
}

export interface ConsensusOutcome {
  readonly action: AgentAction;
  /** The vote's winner before quorum, threshold and veto ('tie' when the tie rule said hold). */
  readonly winner: AgentAction | 'tie';
  /** weight(winner); for a tie, the tied actions' common weight. */
  readonly weight: number;
  readonly confidence: number;
  readonly size: number;
  readonly stopLoss: number | null;
  readonly target: number | null;
  /** Why the winner did not stand (no quorum, below minWeight, vetoed), or null. */
  readonly blockedBy: string | null;
  readonly explanation: string;
}

export interface ConsensusRecord extends ConsensusOutcome {
  readonly symbol: string;
  readonly ts: number;
  readonly config: ConsensusConfig;
  /** rounds[0] are the independent answers; the vote is over the last. */
  readonly rounds: readonly (readonly AgentDecision[])[];
  readonly votes: readonly Vote[];
  readonly tally: Readonly<Record<AgentAction, TallyRow>>;
  readonly participation: { readonly voted: number; readonly total: number; readonly needed: number };
}

const ACTIONS: readonly AgentAction[] = ['buy', 'sell', 'hold'];
const RISK_OFF_ORDER: readonly AgentAction[] = ['sell', 'hold', 'buy'];

export function votesOf(decisions: readonly AgentDecision[]): Vote[] {
  const total = decisions.reduce((a, d) => a + (d.abstained ? 0 : d.recommendation.confidence), 0);
  return decisions.map((d) => {
    const confidence = d.abstained ? 0 : d.recommendation.confidence;
    return {
      agentId: d.agentId,
      persona: d.persona,
      action: d.abstained ? 'hold' : d.recommendation.action,
      confidence,
      abstained: d.abstained !== undefined,
      weight: total > 0 ? confidence / total : 0,
    };
  });
}

export function tallyVotes(votes: readonly Vote[]): Record<AgentAction, TallyRow> {
  const w: Record<AgentAction, number> = { buy: 0, sell: 0, hold: 0 };
  const n: Record<AgentAction, number> = { buy: 0, sell: 0, hold: 0 };
  for (const v of votes) {
    if (v.abstained) continue;
    w[v.action] += v.confidence;
    n[v.action]++;
  }
  const total = w.buy + w.sell + w.hold;
  const row = (a: AgentAction): TallyRow => ({ count: n[a], confidence: w[a], weight: total > 0 ? w[a] / total : 0 });
  return { buy: row('buy'), sell: row('sell'), hold: row('hold') };
}

const STANCE_WORD: Record<AgentAction, string> = { buy: 'bullish', sell: 'bearish', hold: 'neutral' };

/** "2 bullish at 87 and 64, 1 bearish at 72" (confidences high to low; abstentions counted). */
export function describeVotes(votes: readonly Vote[]): string {
  const parts: string[] = [];
  for (const a of ACTIONS) {
    const cs = votes.filter((v) => !v.abstained && v.action === a).map((v) => v.confidence).sort((x, y) => y - x);
    if (cs.length === 0) continue;
    const list = cs.length === 1 ? String(cs[0]) : `${cs.slice(0, -1).join(', ')} and ${cs[cs.length - 1]}`;
    parts.push(`${cs.length} ${STANCE_WORD[a]} at ${list}`);
  }
  const abst = votes.filter((v) => v.abstained).length;
  if (abst > 0) parts.push(`${abst} abstained`);
  return parts.join(', ') || 'no votes';
}

/** The vote over one set of (final) decisions. Pure; `decisions` in the agents' listed order. */
export function vote(decisions: readonly AgentDecision[], config: ConsensusConfig = DEFAULT_CONSENSUS): ConsensusOutcome & Pick<ConsensusRecord, 'votes' | 'tally' | 'participation'> {
  const votes = votesOf(decisions);
  const tally = tallyVotes(votes);
  const voted = votes.filter((v) => !v.abstained).length;
  const total = votes.length;
  const needed = Math.ceil(config.quorum * total - 1e-9);
  const best = Math.max(tally.buy.confidence, tally.sell.confidence, tally.hold.confidence);
  const top = ACTIONS.filter((a) => tally[a].confidence === best && (best > 0 || tally[a].count > 0));
  let winner: AgentAction | 'tie';
  if (voted === 0 || best === 0) winner = 'hold';
  else if (top.length === 1) winner = top[0]!;
  else if (config.tie === 'risk-off') winner = RISK_OFF_ORDER.find((a) => top.includes(a))!;
  else if (config.tie === 'chair') winner = votes.find((v) => !v.abstained && top.includes(v.action))!.action;
  else winner = 'tie';
  const weight = winner === 'tie' ? tally[top[0]!].weight : tally[winner].weight;

  let blockedBy: string | null = null;
  if (voted < needed) blockedBy = `no quorum: ${voted} of ${total} voted, ${needed} needed`;
  else if (winner !== 'tie' && winner !== 'hold' && weight < config.minWeight) blockedBy = `weight ${weight.toFixed(2)} below ${config.minWeight}`;
  else if (winner === 'buy') {
    const vetoes: string[] = [];
    for (const d of decisions) {
      if (d.abstained) continue;
      const listed = config.riskAgents.includes(d.agentId);
      if ((config.vetoOnAnyAgent || listed) && d.risk.vetoes.length > 0) vetoes.push(`${d.agentId}: ${d.risk.vetoes.join('; ')}`);
      else if (listed && d.recommendation.action === 'sell') vetoes.push(`${d.agentId} (risk agent) votes sell`);
    }
    if (vetoes.length > 0) blockedBy = `vetoed by ${vetoes.join(' | ')}`;
  }

  const action: AgentAction = blockedBy !== null || winner === 'tie' ? 'hold' : winner;
  const supporters = winner === 'tie' ? [] : decisions.filter((d) => !d.abstained && d.recommendation.action === winner);
  const sumC = supporters.reduce((a, d) => a + d.recommendation.confidence, 0);
  const meanC = supporters.length > 0 ? sumC / supporters.length : 0;
  const confidence = blockedBy !== null || winner === 'tie' ? 0 : Math.round(weight * meanC);
  let size = 0;
  let stopLoss: number | null = null;
  let target: number | null = null;
  if (action === 'buy' || action === 'sell') {
    size = sumC > 0 ? supporters.reduce((a, d) => a + d.recommendation.confidence * d.recommendation.size, 0) / sumC : supporters.reduce((a, d) => a + d.recommendation.size, 0) / supporters.length;
    const stops = supporters.map((d) => d.recommendation.stopLoss).filter((x): x is number => x !== null);
    const targets = supporters.map((d) => d.recommendation.target).filter((x): x is number => x !== null);
    if (stops.length) stopLoss = action === 'buy' ? Math.max(...stops) : Math.min(...stops);
    if (targets.length) target = action === 'buy' ? Math.min(...targets) : Math.max(...targets);
  }
  const verdict = winner === 'tie' ? `tie between ${top.map((a) => a.toUpperCase()).join(' and ')} → HOLD` : `${winner.toUpperCase()}, weight ${weight.toFixed(2)}`;
  const explanation = `${describeVotes(votes)} → ${verdict}${blockedBy !== null ? ` → HOLD (${blockedBy})` : ''}`;
  return { action, winner, weight, confidence, size, stopLoss, target, blockedBy, explanation, votes, tally, participation: { voted, total, needed } };
}

/** Debate `config.rounds` rounds, then vote. Agents are asked in their listed order; ids must be unique. */
export function debate(agents: readonly Agent[], input: AgentInput, config: ConsensusConfig = DEFAULT_CONSENSUS): ConsensusRecord {
  if (agents.length === 0) throw new RangeError('a debate needs at least one agent');
  const ids = new Set(agents.map((a) => a.id));
  if (ids.size !== agents.length) throw new RangeError(`agent ids must be unique (got ${agents.map((a) => a.id).join(', ')})`);
  const rounds: AgentDecision[][] = [agents.map((a) => a.decide(input))];
  for (let r = 1; r <= config.rounds; r++) {
    const prev = rounds[r - 1]!;
    rounds.push(agents.map((a, i) => (a.revise ? a.revise(prev[i]!, prev.filter((_, j) => j !== i), r, input) : prev[i]!)));
  }
  const outcome = vote(rounds[rounds.length - 1]!, config);
  return { symbol: input.symbol, ts: input.now, config, rounds, ...outcome };
}
