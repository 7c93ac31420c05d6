/**
 * Decision records: why an order was placed. Every order carries one, even from simple strategies,
 * so "why did it trade?" always has an answer in the journal.
 */
export type FactorValue = number | boolean | string;

export interface DecisionReason {
  /** Named inputs the decision was based on (e.g. { rsi: 27.4, trendUp: true }). */
  readonly factors?: Readonly<Record<string, FactorValue>>;
  /** How much each factor counted; free-form weights, usually summing to 1. */
  readonly weights?: Readonly<Record<string, number>>;
  /** 0–100. */
  readonly confidence?: number;
  readonly reasoning?: string;
  /**
   * Structured evidence behind the decision (an agent's five-step analysis, a debate's votes), as
   * plain JSON. Journaled and hashed with the decision; the engine never reads it.
   */
  readonly detail?: unknown;
}

export type DecisionAction = 'buy' | 'sell' | 'close' | 'cancel' | 'hold';

export type DecisionOutcome =
  | { readonly status: 'filled'; readonly price: number; readonly amount: number; readonly ts: number }
  | { readonly status: 'partially_filled'; readonly price: number; readonly amount: number; readonly ts: number }
  | { readonly status: 'rejected'; readonly limit: string; readonly message: string }
  | { readonly status: 'cancelled' | 'expired'; readonly ts: number };

export interface DecisionRecord {
  readonly id: string;
  readonly ts: number;
  readonly agentId: string;
  readonly symbol: string;
  readonly action: DecisionAction;
  readonly factors: Readonly<Record<string, FactorValue>>;
  readonly weights: Readonly<Record<string, number>>;
  readonly confidence: number;
  readonly reasoning: string;
  readonly orderIds: readonly string[];
  /** See DecisionReason.detail; absent when the strategy gave none. */
  readonly detail?: unknown;
  outcome?: DecisionOutcome;
}
