import type { MarketRegime } from '../../engine/agents/types.ts';
import { detectRegimes, type RegimeOptions } from '../../engine/agents/regime.ts';

/**
 * Agent scoring: what each agent's calls were worth, measured against the prices that followed.
 *
 * Definitions (docs/agents.md repeats them):
 * - A call is an agent's action (buy / sell / hold) on a symbol at a decision time `ts` (the replay
 *   clock: the close time of the last closed bar). Its direction is +1 buy, −1 sell, 0 hold.
 * - Its outcome over a horizon of h bars is the close-to-close return from the last bar closed at
 *   `ts` to the close h bars later: r = close[i+h] / close[i] − 1. Calls whose horizon runs past the
 *   data have no outcome and are left out of every figure but `n`.
 * - Call P&L = direction × r: the return of staking one unit of equity on the call for h bars, no
 *   costs. An agent's P&L is the sum over its calls (hold calls earn 0).
 * - Hit: a directional call is right when direction × r > 0 (a flat market is a miss). Hit rate =
 *   right / directional calls. Hold calls are not scored for hits or calibration.
 * - Brier score: confidence/100 read as the probability p that the call is right, o = 1 if right
 *   else 0; Brier = mean (p − o)² over directional calls (0 perfect, 0.25 for a coin flip at 50).
 * - Consensus attribution: a consensus decision's P&L (its direction × r) is split among the agents
 *   that voted FOR the consensus action, in proportion to their vote weights; dissenters and
 *   abstainers get none. The shares sum to the consensus P&L exactly, so the per-agent column adds
 *   up to the desk's signal P&L.
 */

export type CallAction = 'buy' | 'sell' | 'hold';

/** One agent's call, whoever made it (persona, LLM, a plain strategy's decision record). */
export interface AgentCall {
  readonly agentId: string;
  readonly ts: number;
  readonly symbol: string;
  readonly action: CallAction;
  /** 0–100. */
  readonly confidence: number;
  /** Numeric factor readings behind the call (an agent's signal votes in [−1, 1] when it has them). */
  readonly factors: Readonly<Record<string, number>>;
  readonly weights: Readonly<Record<string, number>>;
  /** The journaled decision it came from. */
  readonly decisionId?: string;
}

export interface Vote {
  readonly agentId: string;
  readonly action: CallAction;
  /** Non-negative weight of this vote in the tally (e.g. confidence × persona weight). */
  readonly weight: number;
}

/** A desk decision reached by vote. */
export interface ConsensusCall {
  readonly decisionId: string;
  readonly ts: number;
  readonly symbol: string;
  readonly action: CallAction;
  readonly votes: readonly Vote[];
}

/** Closes of one symbol; `ts` are bar open times (the store's convention). */
export interface PriceSeries {
  readonly symbol: string;
  readonly timeframeMs: number;
  readonly length: number;
  readonly ts: ArrayLike<number>;
  readonly close: ArrayLike<number>;
}

/** Price series by symbol, with their regime labels (computed once, causally). */
export interface PriceBook {
  readonly series: ReadonlyMap<string, PriceSeries>;
  readonly regimes: ReadonlyMap<string, readonly (MarketRegime | null)[]>;
}

export function priceBook(series: readonly PriceSeries[], regime: RegimeOptions = {}): PriceBook {
  return {
    series: new Map(series.map((s) => [s.symbol, s])),
    regimes: new Map(series.map((s) => [s.symbol, detectRegimes(s.close, regime)])),
  };
}

export interface Outcome {
  /** Index of the last bar closed at the decision time. */
  readonly index: number;
  readonly ret: number;
  /** Close time of the bar the outcome is read at: the outcome is known from this time on. */
  readonly knownAt: number;
  readonly regime: MarketRegime | null;
}

/** Index of the last bar whose close time (open + timeframe) is ≤ ts, or −1. */
export function lastClosedBar(s: PriceSeries, ts: number): number {
  let lo = 0, hi = s.length;
  const open = ts - s.timeframeMs;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s.ts[mid]! <= open) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

export function outcomeAt(book: PriceBook, symbol: string, ts: number, horizon: number): Outcome | null {
  const s = book.series.get(symbol);
  if (!s) return null;
  const i = lastClosedBar(s, ts);
  const j = i + horizon;
  if (i < 0 || j >= s.length) return null;
  return { index: i, ret: s.close[j]! / s.close[i]! - 1, knownAt: s.ts[j]! + s.timeframeMs, regime: book.regimes.get(symbol)?.[i] ?? null };
}

export const direction = (a: CallAction): -1 | 0 | 1 => (a === 'buy' ? 1 : a === 'sell' ? -1 : 0);

export interface ScoredCall extends AgentCall {
  readonly outcome: Outcome;
  readonly dir: -1 | 0 | 1;
  /** direction × r. */
  readonly pnl: number;
  /** null for hold calls. */
  readonly right: boolean | null;
}

export function scoreCall(call: AgentCall, o: Outcome): ScoredCall {
  const dir = direction(call.action);
  const pnl = dir * o.ret;
  // Fields listed, not spread: a spread of the call builds each result on V8's slow path (15 µs a call).
  const r: { -readonly [K in keyof ScoredCall]: ScoredCall[K] } = {
    agentId: call.agentId, ts: call.ts, symbol: call.symbol, action: call.action, confidence: call.confidence,
    factors: call.factors, weights: call.weights, outcome: o, dir, pnl, right: dir === 0 ? null : pnl > 0,
  };
  if (call.decisionId !== undefined) r.decisionId = call.decisionId;
  return r;
}

/** Calls with an outcome over `horizon` bars; calls without one are dropped. */
export function scoreCalls(calls: readonly AgentCall[], book: PriceBook, horizon: number): ScoredCall[] {
  checkHorizon(horizon);
  const out: ScoredCall[] = [];
  for (const c of calls) {
    const o = outcomeAt(book, c.symbol, c.ts, horizon);
    if (o) out.push(scoreCall(c, o));
  }
  return out;
}

export function checkHorizon(h: number): void {
  if (!Number.isInteger(h) || h < 1) throw new RangeError(`horizon must be an integer ≥ 1 bar, got ${h}`);
}

/** Brier score of probabilities p against binary outcomes o: mean (p − o)². NaN when empty. */
export function brierScore(p: readonly number[], o: readonly (0 | 1 | boolean)[]): number {
  if (p.length !== o.length) throw new RangeError(`brierScore: ${p.length} probabilities for ${o.length} outcomes`);
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const d = p[i]! - Number(o[i]);
    s += d * d;
  }
  return p.length ? s / p.length : NaN;
}

export interface ReliabilityBucket {
  /** Confidence range [lo, hi) (the last bucket includes 100). */
  readonly lo: number;
  readonly hi: number;
  readonly n: number;
  readonly meanConfidence: number;
  /** Share right, to set against meanConfidence / 100. */
  readonly hitRate: number;
}

/** Directional calls grouped by confidence into `buckets` equal ranges over 0–100; empty buckets kept (n 0). */
export function reliabilityTable(calls: readonly ScoredCall[], buckets = 10): ReliabilityBucket[] {
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be an integer ≥ 1, got ${buckets}`);
  const width = 100 / buckets;
  const n = new Array<number>(buckets).fill(0), conf = new Array<number>(buckets).fill(0), hit = new Array<number>(buckets).fill(0);
  for (const c of calls) {
    if (c.right === null) continue;
    const b = Math.min(buckets - 1, Math.max(0, Math.floor(c.confidence / width)));
    n[b]!++;
    conf[b]! += c.confidence;
    if (c.right) hit[b]!++;
  }
  return n.map((k, b) => ({ lo: b * width, hi: (b + 1) * width, n: k, meanConfidence: k ? conf[b]! / k : NaN, hitRate: k ? hit[b]! / k : NaN }));
}

export interface AgentScore {
  readonly agentId: string;
  /** Calls with an outcome (holds included). */
  readonly n: number;
  readonly directional: number;
  /** Σ direction × r over its own calls. */
  readonly pnl: number;
  /** pnl / directional calls. */
  readonly meanPnl: number;
  readonly hitRate: number;
  readonly brier: number;
  /** Its share of the consensus P&L (0 when no consensus decisions). */
  readonly consensusPnl: number;
}

export function agentScores(calls: readonly ScoredCall[], attribution: Readonly<Record<string, number>> = {}): AgentScore[] {
  const by = groupBy(calls, (c) => c.agentId);
  for (const id of Object.keys(attribution)) if (!by.has(id)) by.set(id, []);
  return [...by.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([agentId, cs]) => summarise(agentId, cs, attribution[agentId] ?? 0));
}

function summarise(agentId: string, cs: readonly ScoredCall[], consensusPnl: number): AgentScore {
  const dirs = cs.filter((c) => c.right !== null);
  const pnl = cs.reduce((s, c) => s + c.pnl, 0);
  return {
    agentId,
    n: cs.length,
    directional: dirs.length,
    pnl,
    meanPnl: dirs.length ? pnl / dirs.length : NaN,
    hitRate: dirs.length ? dirs.filter((c) => c.right).length / dirs.length : NaN,
    brier: brierScore(dirs.map((c) => c.confidence / 100), dirs.map((c) => c.right === true)),
    consensusPnl,
  };
}

export interface ConsensusAttribution {
  /** Σ over scored consensus decisions of direction × r. */
  readonly total: number;
  readonly decisions: number;
  readonly perAgent: Readonly<Record<string, number>>;
}

/** Splits each consensus decision's P&L over the agents that voted for its action, by vote weight. */
export function attributeConsensus(decisions: readonly ConsensusCall[], book: PriceBook, horizon: number): ConsensusAttribution {
  checkHorizon(horizon);
  const perAgent: Record<string, number> = {};
  let total = 0, n = 0;
  for (const d of decisions) {
    const dir = direction(d.action);
    const o = outcomeAt(book, d.symbol, d.ts, horizon);
    if (!o || dir === 0) continue;
    const pnl = dir * o.ret;
    const backers = d.votes.filter((v) => v.action === d.action && v.weight > 0);
    const w = backers.reduce((s, v) => s + v.weight, 0);
    n++;
    total += pnl;
    // A consensus nobody weighted (e.g. a tie rule) is still the desk's P&L: split it evenly.
    const shares = w > 0 ? backers.map((v) => [v.agentId, v.weight / w] as const) : d.votes.map((v) => [v.agentId, 1 / d.votes.length] as const);
    for (const [id, s] of shares) perAgent[id] = (perAgent[id] ?? 0) + pnl * s;
  }
  return { total, decisions: n, perAgent };
}

export interface RegimeScore extends AgentScore {
  readonly regime: MarketRegime | 'warm-up';
}

/** Per agent and regime (the regime at the decision bar). */
export function scoresByRegime(calls: readonly ScoredCall[]): RegimeScore[] {
  const out: RegimeScore[] = [];
  const byRegime = groupBy(calls, (c) => c.outcome.regime ?? 'warm-up');
  for (const regime of [...byRegime.keys()].sort()) {
    for (const s of agentScores(byRegime.get(regime)!)) out.push({ ...s, regime });
  }
  return out;
}

export function groupBy<T, K>(xs: readonly T[], key: (x: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
}
