/**
 * The agent contract: an agent turns what it may see at the replay clock into a structured decision
 * following five steps (situation → signals → synthesis → risk → recommendation). Rule-based
 * personas, LLM agents and the debate all produce and consume these types, and the decision journal
 * stores them, so "why did the agent trade?" has one shape whoever decided.
 *
 * `decide` is synchronous on purpose: the engine is a synchronous fold. An agent that needs I/O (an
 * LLM) answers from a prompt cache; when an answer is missing it throws `PromptMissing` and the lab's
 * driver fetches it and replays the run, which is deterministic, so earlier answers are identical.
 */
import type { FactorValue } from '../decision.ts';

export type Persona = 'conservative' | 'aggressive' | 'trend-follower' | (string & {});
export type Stance = 'bullish' | 'bearish' | 'neutral';
export type AgentAction = 'buy' | 'sell' | 'hold';
export type SignalKind = 'technical' | 'sentiment' | 'volume' | 'onchain' | 'macro';

/** Past, closed bars of one symbol, oldest first; the last element is the bar that just closed. */
export interface BarWindow {
  readonly symbol: string;
  readonly timeframeMs: number;
  readonly ts: ArrayLike<number>;
  readonly open: ArrayLike<number>;
  readonly high: ArrayLike<number>;
  readonly low: ArrayLike<number>;
  readonly close: ArrayLike<number>;
  readonly volume: ArrayLike<number>;
  readonly length: number;
}

/** One time-stamped sentiment reading; `score` in [-1, 1] (negative = fear/bearish). */
export interface SentimentReading {
  readonly ts: number;
  readonly source: string;
  readonly score: number;
  /** Items it was computed from (headlines, index values), for the record. */
  readonly samples: number;
  readonly detail?: string;
}

/**
 * Time-stamped outside data, fenced at the replay clock: an implementation must never return
 * anything stamped after `at`. Pluggable features (on-chain, macro) use the same shape.
 */
export interface FencedFeed<T> {
  at(symbol: string, at: number): T | null;
}

/** Everything an agent may see when it decides. Built by the caller, fenced at `now`. */
export interface AgentInput {
  readonly symbol: string;
  /** The replay clock: the close time of the last bar in `bars`. */
  readonly now: number;
  readonly bars: BarWindow;
  readonly sentiment: SentimentReading | null;
  /** Extra features by name (on-chain, macro…), already fenced at `now`. */
  readonly features: Readonly<Record<string, number>>;
  /** The agent's current signed position in base units and the portfolio's equity. */
  readonly positionQty: number;
  readonly equity: number;
}

export interface SituationAnalysis {
  readonly price: number;
  readonly trend: 'up' | 'down' | 'flat';
  /** Annualised volatility of recent returns (fraction). */
  readonly volatility: number;
  readonly regime: MarketRegime;
  readonly summary: string;
}

export type MarketRegime = 'trend-up' | 'trend-down' | 'range' | 'volatile';

export interface Signal {
  readonly name: string;
  readonly kind: SignalKind;
  /** The raw reading (e.g. RSI 27.4). */
  readonly value: FactorValue;
  /** Its vote in [-1, 1] (positive = bullish). */
  readonly score: number;
  readonly note?: string;
}

export interface Synthesis {
  /** Persona weight per signal name (non-negative, summing to 1 over the signals present). */
  readonly weights: Readonly<Record<string, number>>;
  /** Weighted score in [-1, 1]. */
  readonly score: number;
  readonly stance: Stance;
}

export interface RiskAssessment {
  /** Reasons this agent itself refuses to act (e.g. "volatility 140% > 90% cap"); empty when fine. */
  readonly vetoes: readonly string[];
  readonly stopLoss: number | null;
  readonly target: number | null;
  /** Largest position it would hold, as a fraction of equity. */
  readonly maxFraction: number;
}

export interface Recommendation {
  readonly action: AgentAction;
  /** 0–100. */
  readonly confidence: number;
  readonly target: number | null;
  readonly stopLoss: number | null;
  /** Position size as a fraction of equity, 0 for hold. */
  readonly size: number;
}

export interface AgentDecision {
  readonly agentId: string;
  readonly persona: Persona;
  readonly symbol: string;
  readonly ts: number;
  readonly situation: SituationAnalysis;
  readonly signals: readonly Signal[];
  readonly synthesis: Synthesis;
  readonly risk: RiskAssessment;
  readonly recommendation: Recommendation;
  readonly reasoning: string;
  /** Set when the agent could not decide (e.g. an LLM answer failed validation twice). */
  readonly abstained?: { readonly reason: string };
}

export interface Agent {
  readonly id: string;
  readonly persona: Persona;
  decide(input: AgentInput): AgentDecision;
  /**
   * One debate round: see the others' decisions (their evidence) and keep or revise one's own.
   * Agents without it keep their first answer.
   */
  revise?(own: AgentDecision, others: readonly AgentDecision[], round: number, input: AgentInput): AgentDecision;
}

/**
 * Thrown by an agent whose answer is not in its cache (record/live modes). Carries what to fetch;
 * the lab's driver fetches it, stores it, and replays the run.
 */
export class PromptMissing extends Error {
  constructor(
    readonly key: string,
    readonly request: unknown,
  ) {
    super(`prompt ${key} is not in the cache`);
    this.name = 'PromptMissing';
  }
}
