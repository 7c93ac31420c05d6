import { AsyncLocalStorage } from 'node:async_hooks';
import type Anthropic from '@anthropic-ai/sdk';
import { PromptMissing } from '../../../engine/agents/types.ts';
import type { CacheMode, LlmRequest, PromptCache } from './cache.ts';
import { addUsage, emptyTotals, type ModelPrice, type UsageTotals } from './cost.ts';
import type { RetryPolicy } from './fetch.ts';
import type { LlmAgent } from './agent.ts';

/**
 * The async side of LLM agents. A backtest is a synchronous fold, so an agent cannot wait for the
 * API; instead it throws `PromptMissing`, and `runWithPromptCache` fetches that one prompt, stores
 * it, and runs the whole (deterministic) backtest again: every earlier prompt is now answered from
 * the cache, so each pass gets one decision further and the loop ends when a pass completes. Agents
 * stop asking when their token budget is spent (they abstain), which bounds the number of fetches.
 */
export interface LlmSessionOptions {
  readonly cache: PromptCache;
  readonly mode: CacheMode;
  /** Defaults to a client built from ANTHROPIC_API_KEY, on the first fetch only. */
  readonly client?: Anthropic;
  readonly retry?: Partial<RetryPolicy>;
  /** Hard stop on fetches in one session, whatever the budgets say. */
  readonly maxFetches?: number;
  readonly prices?: Readonly<Record<string, ModelPrice>>;
  /** Progress after each fetch (the CLI prints it on stderr). */
  readonly onFetch?: (info: { key: string; fetches: number; tokens: number }) => void;
}

export interface LlmRunSummary {
  readonly mode: CacheMode;
  readonly cache: string | null;
  /** Passes of the backtest (1 when everything was cached). */
  readonly passes: number;
  /** Prompts fetched from the API in this session, and what they cost (estimate). */
  readonly fetched: UsageTotals;
  readonly retries: number;
  /** Per agent: the answers its decisions used in the final pass (cached or fetched), and their cost. */
  readonly agents: Readonly<Record<string, UsageTotals>>;
  /** The sum over agents: what the run would cost without the cache (estimate). */
  readonly total: UsageTotals;
}

export class LlmSession {
  readonly agents = new Map<string, LlmAgent>();
  constructor(readonly options: LlmSessionOptions) {}

  get cache(): PromptCache {
    return this.options.cache;
  }
  get mode(): CacheMode {
    return this.options.mode;
  }

  /** Called by an LLM strategy at the start of each pass; the last pass's agents make the summary. */
  register(agent: LlmAgent): void {
    this.agents.set(agent.id, agent);
  }
}

const current = new AsyncLocalStorage<LlmSession>();

/** The session the current run belongs to, if it runs inside `runWithPromptCache`. */
export function currentLlmSession(): LlmSession | undefined {
  return current.getStore();
}

export async function runWithPromptCache<T>(runOnce: () => Promise<T> | T, options: LlmSessionOptions): Promise<{ result: T; llm: LlmRunSummary }> {
  const session = new LlmSession(options);
  const retry: RetryPolicy = { maxRetries: 5, baseDelayMs: 1000, maxDelayMs: 60_000, ...options.retry };
  const fetched = emptyTotals();
  const stats = { retries: 0 };
  const maxFetches = options.maxFetches ?? 10_000;
  let client = options.client;
  let passes = 0;
  let lastKey: string | null = null;
  for (;;) {
    passes++;
    session.agents.clear();
    let result: T;
    try {
      result = await current.run(session, runOnce);
    } catch (err) {
      if (!(err instanceof PromptMissing)) throw err;
      if (err.key === lastKey) throw new Error(`prompt ${err.key} is still missing after it was fetched and stored (is the cache in use the session's?)`);
      if (fetched.calls >= maxFetches) throw new Error(`stopped after ${maxFetches} fetches (maxFetches); the run is not complete — raise the limit or the agents' budgets decide when to stop`);
      lastKey = err.key;
      // The SDK loads only when something must be fetched: strategy loading (sweep workers
      // included) and replays never pay for it.
      const { clientFromEnv, createMessage } = await import('./fetch.ts');
      client ??= clientFromEnv();
      const request = err.request as LlmRequest;
      const response = options.cache.put(request, await createMessage(client, request, retry, stats));
      addUsage(fetched, response.usage, response.model, options.prices);
      options.onFetch?.({ key: err.key, fetches: fetched.calls, tokens: fetched.totalTokens });
      continue;
    }
    const agents: Record<string, UsageTotals> = {};
    const total = emptyTotals();
    for (const [id, a] of [...session.agents].sort(([x], [y]) => (x < y ? -1 : 1))) {
      agents[id] = { ...a.usage };
      mergeTotals(total, a.usage);
    }
    return { result, llm: { mode: options.mode, cache: options.cache.path, passes, fetched, retries: stats.retries, agents, total } };
  }
}

function mergeTotals(t: UsageTotals, u: UsageTotals): void {
  t.calls += u.calls;
  t.inputTokens += u.inputTokens;
  t.outputTokens += u.outputTokens;
  t.cacheWriteTokens += u.cacheWriteTokens;
  t.cacheReadTokens += u.cacheReadTokens;
  t.totalTokens += u.totalTokens;
  t.costUsd = t.costUsd === null || u.costUsd === null ? null : t.costUsd + u.costUsd;
}
