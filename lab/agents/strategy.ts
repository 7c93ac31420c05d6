import { readdirSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { debate, type ConsensusConfig, type ConsensusRecord } from '../../engine/agents/consensus.ts';
import { isBuiltinPersona } from '../../engine/agents/profile.ts';
import type { Agent, AgentAction, AgentDecision, AgentInput, BarWindow } from '../../engine/agents/types.ts';
import type { DecisionReason, FactorValue } from '../../engine/decision.ts';
import { InputError } from '../../engine/errors.ts';
import { sha256Hex } from '../../engine/hash.ts';
import { defineStrategy, type AnyStrategy, type StrategyContext } from '../../engine/strategy.ts';
import type { BarView } from '../../engine/types.ts';
import { currentAgentData, type AgentData } from './environment.ts';
import { agentListSchema, BUILTIN_PERSONAS, buildAgents, consensusSchema, personaOverridesSchema } from './personas.ts';

/**
 * Agents as strategies: `persona:<name>` (one rule-based agent) and `debate` (several, debating
 * and voting), usable wherever a strategy name is (cs backtest, cs sweep, walk-forward…).
 *
 * Every `decideEvery` bars after `warmup` bars, the strategy builds the AgentInput from ITS OWN
 * history of the bars it was handed (so nothing after ctx.now exists for it), the sentiment and
 * feature feeds of the run (fenced at ctx.now), the position and the equity; then it acts,
 * long-only: a buy opens a long when flat (a bracket with the agents' stop and target when
 * `exits` is 'bracket'), a sell closes the long, and anything else — including a buy while long
 * or a sell while flat — is journaled with ctx.hold. So every decision point is in the journal,
 * with factors = signal values, weights = synthesis weights (an agent) or vote weights (a
 * debate), the confidence, the reasoning, and `detail` as documented in docs/agents.md.
 */
const commonShape = {
  /** Decide every n-th bar. */
  decideEvery: z.number().int().min(1).default(1),
  /** Bars the agents see (the BarWindow length). */
  window: z.number().int().min(60).max(5000).default(200),
  /** Bars seen before the first decision. */
  warmup: z.number().int().min(1).max(5000).default(50),
  /** Use the run's sentiment feed when there is one. */
  sentiment: z.boolean().default(true),
  /** 'bracket': entries carry the agents' take-profit and stop-loss; 'signal': exits only on a sell call. */
  exits: z.enum(['bracket', 'signal']).default('bracket'),
};

export const personaParamsSchema = z.strictObject({ ...commonShape, ...personaOverridesSchema.shape });

export const debateParamsSchema = z.strictObject({
  ...commonShape,
  ...consensusSchema.shape,
  agents: agentListSchema.default(['conservative', 'aggressive', 'trend-follower']),
});

type CommonParams = z.output<z.ZodObject<typeof commonShape>>;

export const PERSONA_PREFIX = 'persona:';
export const DEBATE_REF = 'debate';

/** Closed bars of one symbol in typed arrays; the window is a view on the last `window` of them. */
class BarHistory {
  private n = 0;
  private readonly cols: Float64Array[];
  private readonly cap: number;

  constructor(
    readonly symbol: string,
    readonly timeframeMs: number,
    readonly window: number,
  ) {
    this.cap = 2 * window;
    this.cols = Array.from({ length: 6 }, () => new Float64Array(this.cap));
  }

  /** Bars pushed so far (not only those kept). */
  seen = 0;

  push(bar: BarView): void {
    if (this.n === this.cap) {
      // Keep the last window − 1 bars: one copy per `window` bars, not per bar.
      for (const c of this.cols) c.copyWithin(0, this.n - (this.window - 1), this.n);
      this.n = this.window - 1;
    }
    const i = this.n++;
    const [ts, o, h, l, c, v] = this.cols as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    ts[i] = bar.ts;
    o[i] = bar.open;
    h[i] = bar.high;
    l[i] = bar.low;
    c[i] = bar.close;
    v[i] = bar.volume;
    this.seen++;
  }

  /** The last `window` bars; views, valid until the next push (agents decide synchronously). */
  view(): BarWindow {
    const from = Math.max(0, this.n - this.window);
    const [ts, o, h, l, c, v] = this.cols.map((a) => a.subarray(from, this.n)) as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    return { symbol: this.symbol, timeframeMs: this.timeframeMs, ts, open: o, high: h, low: l, close: c, volume: v, length: this.n - from };
  }
}

/** A compact line per agent per debate round (the full decisions of the last round are kept whole). */
export interface RoundEntry {
  readonly agentId: string;
  readonly action: AgentAction;
  readonly confidence: number;
  readonly score: number;
}

/** `detail` of a debate's decision (see docs/agents.md). */
export interface DebateDetail {
  readonly kind: 'debate';
  /** Every agent's decision after the last round: what was voted on. */
  readonly decisions: readonly AgentDecision[];
  readonly rounds: readonly (readonly RoundEntry[])[];
  readonly votes: ConsensusRecord['votes'];
  readonly tally: ConsensusRecord['tally'];
  readonly participation: ConsensusRecord['participation'];
  readonly outcome: Pick<ConsensusRecord, 'action' | 'winner' | 'weight' | 'confidence' | 'size' | 'stopLoss' | 'target' | 'blockedBy' | 'explanation'>;
  readonly config: ConsensusConfig;
}

export function debateDetail(r: ConsensusRecord): DebateDetail {
  return {
    kind: 'debate',
    decisions: r.rounds[r.rounds.length - 1]!,
    rounds: r.rounds.map((round) => round.map((d) => ({ agentId: d.agentId, action: d.recommendation.action, confidence: d.recommendation.confidence, score: d.synthesis.score }))),
    votes: r.votes,
    tally: r.tally,
    participation: r.participation,
    outcome: { action: r.action, winner: r.winner, weight: r.weight, confidence: r.confidence, size: r.size, stopLoss: r.stopLoss, target: r.target, blockedBy: r.blockedBy, explanation: r.explanation },
    config: r.config,
  };
}

/** Signal readings as journal factors (first agent to report a name wins: the facts are shared). */
function factorsOf(decisions: readonly AgentDecision[], input: AgentInput): Record<string, FactorValue> {
  const f: Record<string, FactorValue> = {};
  for (const d of decisions) for (const s of d.signals) if (!(s.name in f)) f[s.name] = s.value;
  f.position = input.positionQty;
  return f;
}

export interface Call {
  readonly action: AgentAction;
  readonly size: number;
  readonly stopLoss: number | null;
  readonly target: number | null;
  readonly reason: DecisionReason;
}

function agentCall(d: AgentDecision, input: AgentInput): Call {
  const r = d.recommendation;
  const factors = factorsOf([d], input);
  if (d.abstained) factors.abstained = d.abstained.reason;
  return { action: r.action, size: r.size, stopLoss: r.stopLoss, target: r.target, reason: { factors, weights: d.synthesis.weights, confidence: r.confidence, reasoning: d.reasoning, detail: d } };
}

function debateCall(rec: ConsensusRecord, input: AgentInput): Call {
  const detail = debateDetail(rec);
  const weights: Record<string, number> = {};
  for (const v of rec.votes) weights[v.agentId] = v.weight;
  return {
    action: rec.action,
    size: rec.size,
    stopLoss: rec.stopLoss,
    target: rec.target,
    reason: { factors: factorsOf(detail.decisions, input), weights, confidence: rec.confidence, reasoning: rec.explanation, detail },
  };
}

function withNote(reason: DecisionReason, note: string): DecisionReason {
  return { ...reason, reasoning: `${reason.reasoning ?? ''} → ${note}` };
}

/** Long-only execution of a call; every path journals exactly one decision. */
function act(ctx: StrategyContext<DriverParams>, symbol: string, price: number, qty: number, call: Call): void {
  const { reason } = call;
  if (call.action === 'buy') {
    if (qty > 0) return void ctx.hold(symbol, withNote(reason, 'already long: hold'));
    if (qty < 0) return void ctx.hold(symbol, withNote(reason, 'short position (not opened by this strategy): hold'));
    if (ctx.openOrders(symbol).some((o) => o.side === 'buy' && o.parentId === undefined)) return void ctx.hold(symbol, withNote(reason, 'entry order pending: hold'));
    if (!(call.size > 0)) return void ctx.hold(symbol, withNote(reason, 'size 0: hold'));
    const size = call.size >= 1 ? ctx.sizing.allIn() : ctx.sizing.fraction(call.size);
    const before = ctx.decisions.length;
    const { stopLoss, target } = call;
    const id =
      ctx.params.exits === 'bracket' && stopLoss !== null && target !== null && stopLoss < price && price < target
        ? ctx.bracket(symbol, 'buy', { size, takeProfit: target, stopLoss, reason })
        : ctx.buy(symbol, { size, reason });
    // null with nothing journaled: the size rounded to nothing (a rejection is journaled by the engine).
    if (id === null && ctx.decisions.length === before) ctx.hold(symbol, withNote(reason, 'size rounds to nothing: hold'));
    return;
  }
  if (call.action === 'sell') {
    if (qty <= 0) return void ctx.hold(symbol, withNote(reason, 'nothing to sell (long-only): hold'));
    // The bracket's resting exits go with the position.
    ctx.cancelAll(symbol);
    if (ctx.close(symbol, reason) === null) ctx.hold(symbol, withNote(reason, 'close placed nothing: hold'));
    return;
  }
  ctx.hold(symbol, reason);
}

/** Params the driver reads itself: the feeds it hands the agents, and how `act` exits. */
type DriverParams = Pick<CommonParams, 'sentiment' | 'exits'>;

/** One run's decider and cadence: bars kept per symbol, bars seen before the first decision, decide every n-th bar. */
export interface AgentRun {
  readonly history: number;
  readonly warmup: number;
  readonly every: number;
  readonly decide: (input: AgentInput) => Call;
}

interface RunState extends AgentRun {
  histories: Map<string, BarHistory>;
  data: AgentData;
}

/** persona:* and debate: `window` bars kept, `warmup` bars before the first decision, every `decideEvery` bars. */
function commonRun(p: CommonParams, decide: (input: AgentInput) => Call): AgentRun {
  return { history: p.window, warmup: p.warmup, every: p.decideEvery, decide };
}

/**
 * The shared driver (persona:*, debate, llm:*): `makeRun` gives a run its decider and cadence.
 * State lives per run (keyed by the run's ctx), so one definition can run many times, in turn or
 * interleaved.
 */
export function agentStrategy<S extends z.ZodType<DriverParams>>(
  name: string,
  description: string,
  params: S,
  makeRun: (p: z.output<S>, ctx: StrategyContext<z.output<S>>) => AgentRun,
): AnyStrategy {
  const runs = new WeakMap<object, RunState>();
  const def = defineStrategy({
    name,
    description,
    params,
    init(ctx) {
      const histories = new Map<string, BarHistory>();
      const data = currentAgentData();
      runs.set(ctx, { histories, data, ...makeRun(ctx.params, ctx) });
    },
    onBar(ctx, bar) {
      const st = runs.get(ctx)!;
      const p = ctx.params as DriverParams;
      let h = st.histories.get(bar.symbol);
      if (!h) st.histories.set(bar.symbol, (h = new BarHistory(bar.symbol, bar.timeframeMs, st.history)));
      h.push(bar);
      if (h.seen < st.warmup || (h.seen - st.warmup) % st.every !== 0) return;
      const qty = ctx.position(bar.symbol).qty;
      const input: AgentInput = {
        symbol: bar.symbol,
        now: ctx.now,
        bars: h.view(),
        sentiment: p.sentiment && st.data.sentiment ? st.data.sentiment.at(bar.symbol, ctx.now) : null,
        features: st.data.features?.at(bar.symbol, ctx.now) ?? {},
        positionQty: qty,
        equity: ctx.portfolio.equity,
      };
      act(ctx as unknown as StrategyContext<DriverParams>, bar.symbol, bar.close, qty, st.decide(input));
    },
  });
  return def as unknown as AnyStrategy;
}

export function personaStrategy(persona: string): AnyStrategy {
  if (!isBuiltinPersona(persona)) throw new InputError(`unknown persona "${persona}" in ${PERSONA_PREFIX}${persona} (known: ${BUILTIN_PERSONAS.map((p) => PERSONA_PREFIX + p).join(', ')})`);
  return agentStrategy(`${PERSONA_PREFIX}${persona}`, `rule-based ${persona} agent (five steps, long-only)`, personaParamsSchema, (p) => {
    const { decideEvery: _d, window: _w, warmup: _u, sentiment: _s, exits: _e, ...overrides } = p;
    const [agent] = buildAgents([persona], overrides) as [Agent];
    return commonRun(p, (input) => agentCall(agent.decide(input), input));
  });
}

export function debateStrategy(): AnyStrategy {
  return agentStrategy(DEBATE_REF, 'debate of agents (rule-based personas, or llm:<persona> from a prompt cache), then a confidence-weighted vote (long-only)', debateParamsSchema, (p) => {
    const agents = buildAgents(p.agents);
    const config: ConsensusConfig = { rounds: p.rounds, quorum: p.quorum, minWeight: p.minWeight, tie: p.tie, vetoOnAnyAgent: p.vetoOnAnyAgent, riskAgents: p.riskAgents };
    return commonRun(p, (input) => debateCall(debate(agents, input, config), input));
  });
}

export function isAgentStrategyRef(ref: string): boolean {
  return ref === DEBATE_REF || ref.startsWith(PERSONA_PREFIX);
}

/** What a promotion record pins for an agent strategy: the agents' code (engine and lab parts). */
export function agentCodeHash(): string {
  const parts: string[] = [];
  for (const dir of [new URL('../../engine/agents/', import.meta.url), new URL('./', import.meta.url)]) {
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && (dir.pathname.includes('engine') || /^(strategy|personas|environment|sentiment)\.ts$/.test(f))).sort();
    for (const f of files) parts.push(`${f}\n${readFileSync(new URL(f, dir), 'utf8')}`);
  }
  return sha256Hex(parts.join('\n'));
}

export function loadAgentStrategy(ref: string): { strategy: AnyStrategy; source: string; codeHash: string } {
  const strategy = ref === DEBATE_REF ? debateStrategy() : personaStrategy(ref.slice(PERSONA_PREFIX.length));
  return { strategy, source: `builtin:${ref}`, codeHash: agentCodeHash() };
}
