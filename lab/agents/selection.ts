import type { MarketRegime } from '../../engine/agents/types.ts';
import { walkForwardOptionsSchema, planWindows } from '../walkforward.ts';
import { groupBy, type ScoredCall } from './scoring.ts';

/**
 * Dynamic weighting of agents by market regime, evaluated walk-forward.
 *
 * Learning: in each regime, an agent's weight ∝ max(0, mean call P&L) over its past calls in that
 * regime (direction × r per call); an agent with fewer than `minSamples` calls in the regime takes
 * its all-regime figure instead; when no agent has a positive figure the desk falls back to equal
 * weights. So an agent that lost money in trends is switched off in trends, and back on if it
 * starts to earn.
 *
 * Evaluation: the calls made at one moment (same symbol and decision time) are combined into one
 * desk call, direction = sign(Σ w_a · dir_a · confidence_a), earning direction × r. Window k uses
 * weights learned only from calls whose outcome was known when window k opened (knownAt ≤ start),
 * so the selection itself is out of sample. The same desk with equal weights is the baseline.
 */
export type RegimeKey = MarketRegime | 'warm-up';
export type AgentWeights = Readonly<Record<string, number>>;

export interface SelectionOptions {
  /** Calls an agent needs in a regime before its regime figure is trusted (default 10). */
  readonly minSamples?: number;
}

export interface RegimeWeights {
  readonly all: AgentWeights;
  readonly byRegime: Readonly<Partial<Record<RegimeKey, AgentWeights>>>;
}

const regimeOf = (c: ScoredCall): RegimeKey => c.outcome.regime ?? 'warm-up';

function normalise(raw: Record<string, number>, agents: readonly string[]): AgentWeights {
  const sum = agents.reduce((s, a) => s + (raw[a] ?? 0), 0);
  const out: Record<string, number> = {};
  for (const a of agents) out[a] = sum > 0 ? (raw[a] ?? 0) / sum : 1 / agents.length;
  return out;
}

function edge(cs: readonly ScoredCall[]): { mean: number; n: number } {
  const d = cs.filter((c) => c.dir !== 0);
  return { mean: d.length ? d.reduce((s, c) => s + c.pnl, 0) / d.length : 0, n: d.length };
}

export function learnRegimeWeights(history: readonly ScoredCall[], agents: readonly string[], opts: SelectionOptions = {}): RegimeWeights {
  const min = opts.minSamples ?? 10;
  const byAgent = groupBy(history, (c) => c.agentId);
  const overall: Record<string, number> = {};
  for (const a of agents) overall[a] = Math.max(0, edge(byAgent.get(a) ?? []).mean);
  const byRegime: Partial<Record<RegimeKey, AgentWeights>> = {};
  for (const [regime, cs] of groupBy(history, regimeOf)) {
    const g = groupBy(cs, (c) => c.agentId);
    const raw: Record<string, number> = {};
    for (const a of agents) {
      const e = edge(g.get(a) ?? []);
      raw[a] = e.n >= min ? Math.max(0, e.mean) : overall[a]!;
    }
    byRegime[regime] = normalise(raw, agents);
  }
  return { all: normalise(overall, agents), byRegime };
}

export function weightsFor(w: RegimeWeights, regime: RegimeKey): AgentWeights {
  return w.byRegime[regime] ?? w.all;
}

/** One desk call per moment: Σ w·dir·confidence decides the direction. */
export function deskPnl(calls: readonly ScoredCall[], weights: (regime: RegimeKey) => AgentWeights): { moments: number; pnl: number; hits: number; trades: number } {
  let pnl = 0, hits = 0, trades = 0, moments = 0;
  const byMoment = groupBy(calls, (c) => `${c.symbol}\u0000${c.ts}`);
  for (const cs of byMoment.values()) {
    moments++;
    const w = weights(regimeOf(cs[0]!));
    const score = cs.reduce((s, c) => s + (w[c.agentId] ?? 0) * c.dir * c.confidence, 0);
    const dir = Math.sign(score);
    if (dir === 0) continue;
    const r = dir * cs[0]!.outcome.ret;
    trades++;
    pnl += r;
    if (r > 0) hits++;
  }
  return { moments, pnl, hits, trades };
}

export interface SelectionWindowResult {
  readonly from: number;
  readonly to: number;
  /** Calls with outcomes known when the window opened: what its weights were learned from. */
  readonly trainedOn: number;
  readonly weights: RegimeWeights;
  readonly moments: number;
  readonly pnl: number;
  readonly hitRate: number;
  readonly equalPnl: number;
}

export interface SelectionReport {
  readonly agents: readonly string[];
  readonly windows: readonly SelectionWindowResult[];
  /** Sums over the windows (out of sample). */
  readonly pnl: number;
  readonly equalPnl: number;
}

export function selectionWalkForward(calls: readonly ScoredCall[], windows: readonly { from: number; to: number }[], opts: SelectionOptions = {}): SelectionReport {
  const agents = [...new Set(calls.map((c) => c.agentId))].sort();
  const equal = Object.fromEntries(agents.map((a) => [a, 1 / agents.length]));
  const out = windows.map((w): SelectionWindowResult => {
    const history = calls.filter((c) => c.outcome.knownAt <= w.from);
    const weights = learnRegimeWeights(history, agents, opts);
    const inWindow = calls.filter((c) => c.ts >= w.from && c.ts < w.to);
    const sel = deskPnl(inWindow, (r) => weightsFor(weights, r));
    const eq = deskPnl(inWindow, () => equal);
    return { ...w, trainedOn: history.length, weights, moments: sel.moments, pnl: sel.pnl, hitRate: sel.trades ? sel.hits / sel.trades : NaN, equalPnl: eq.pnl };
  });
  return { agents, windows: out, pnl: out.reduce((s, w) => s + w.pnl, 0), equalPnl: out.reduce((s, w) => s + w.equalPnl, 0) };
}

/**
 * Back-to-back test windows of `testMs` after a first training span of `trainMs`, as the
 * walk-forward optimiser plans them (anchored: each window learns from everything before it).
 */
export function selectionWindows(t0: number, tEnd: number, trainMs: number, testMs: number): { from: number; to: number }[] {
  const o = walkForwardOptionsSchema.parse({ isMs: trainMs, oosMs: testMs, anchored: true });
  return planWindows(t0, tEnd, o).map((w) => ({ from: w.oosFrom, to: w.oosTo }));
}
