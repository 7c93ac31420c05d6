import type { LlmUsage } from './cache.ts';

/**
 * Token accounting and an ESTIMATE of what the tokens cost: list prices in US dollars per million
 * tokens from Anthropic's pricing page (platform.claude.com/docs/en/about-claude/pricing, as read in
 * 2026-11): base input, 5-minute prompt-cache write, cache hit, output. Matched on the exact model id
 * (a `-YYYYMMDD` snapshot suffix is ignored); a model not in the table has no cost estimate (null),
 * never a guessed one. Batch discounts and long-context surcharges are not modelled. Invoices are the
 * truth; pass your own table to override.
 */
export interface ModelPrice {
  readonly inputPerMTok: number;
  readonly cacheWritePerMTok: number;
  readonly cacheReadPerMTok: number;
  readonly outputPerMTok: number;
}

const p = (inputPerMTok: number, cacheWritePerMTok: number, cacheReadPerMTok: number, outputPerMTok: number): ModelPrice => ({ inputPerMTok, cacheWritePerMTok, cacheReadPerMTok, outputPerMTok });

export const PRICES: Readonly<Record<string, ModelPrice>> = Object.freeze({
  'claude-fable-5-1': p(10, 12.5, 0.25, 50),
  'claude-mythos-5-1': p(10, 12.5, 0.25, 50),
  'claude-fable-5': p(10, 12.5, 1, 50),
  'claude-mythos-5': p(10, 12.5, 1, 50),
  'claude-opus-5-5': p(4, 5, 0.2, 20),
  'claude-opus-5': p(5, 6.25, 0.5, 25),
  'claude-opus-4-8': p(5, 6.25, 0.5, 25),
  'claude-opus-4-7': p(5, 6.25, 0.5, 25),
  'claude-opus-4-6': p(5, 6.25, 0.5, 25),
  'claude-opus-4-5': p(5, 6.25, 0.5, 25),
  'claude-opus-4-1': p(15, 18.75, 1.5, 75),
  'claude-opus-4-0': p(15, 18.75, 1.5, 75),
  'claude-sonnet-5-5': p(2, 2.5, 0.1, 10),
  'claude-sonnet-5': p(2, 2.5, 0.2, 10),
  'claude-sonnet-4-6': p(3, 3.75, 0.3, 15),
  'claude-sonnet-4-5': p(3, 3.75, 0.3, 15),
  'claude-sonnet-4-0': p(3, 3.75, 0.3, 15),
  // Haiku 5.5's price for prompts up to 100k tokens (an agent's prompt is far smaller).
  'claude-haiku-5-5': p(0.1, 0.125, 0.01, 0.5),
  'claude-haiku-4-5': p(1, 1.25, 0.1, 5),
  'claude-3-5-haiku': p(0.8, 1, 0.08, 4),
});

export function priceOf(model: string, table: Readonly<Record<string, ModelPrice>> = PRICES): ModelPrice | null {
  const id = model.replace(/-\d{8}$/, '');
  return Object.hasOwn(table, id) ? table[id]! : null;
}

/** Every token the request was billed for: what a budget counts. */
export function totalTokens(u: LlmUsage): number {
  return u.input_tokens + u.output_tokens + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0);
}

export function costOf(u: LlmUsage, price: ModelPrice | null): number | null {
  if (!price) return null;
  return (
    (u.input_tokens * price.inputPerMTok + (u.cache_creation_input_tokens ?? 0) * price.cacheWritePerMTok + (u.cache_read_input_tokens ?? 0) * price.cacheReadPerMTok + u.output_tokens * price.outputPerMTok) / 1e6
  );
}

export interface UsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  totalTokens: number;
  /** US dollars, estimated from PRICES; null when a model used has no price. */
  costUsd: number | null;
}

export function emptyTotals(): UsageTotals {
  return { calls: 0, inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0, totalTokens: 0, costUsd: 0 };
}

export function addUsage(t: UsageTotals, u: LlmUsage, model: string, table?: Readonly<Record<string, ModelPrice>>): void {
  t.calls++;
  t.inputTokens += u.input_tokens;
  t.outputTokens += u.output_tokens;
  t.cacheWriteTokens += u.cache_creation_input_tokens ?? 0;
  t.cacheReadTokens += u.cache_read_input_tokens ?? 0;
  t.totalTokens += totalTokens(u);
  const c = costOf(u, priceOf(model, table));
  t.costUsd = t.costUsd === null || c === null ? null : t.costUsd + c;
}
