import { AsyncLocalStorage } from 'node:async_hooks';
import type { FencedFeed, SentimentReading } from '../../engine/agents/types.ts';

/**
 * Outside data the agent strategies read (sentiment; on-chain and macro features), for the run
 * being executed. It is not a strategy parameter: it is data, like the bars, loaded by the runner
 * for the run's symbols and range (lab/backtest.ts does it for `cs backtest`), and every feed is
 * fenced at the replay clock, so an agent can only see items stamped at or before `ctx.now`.
 */
export interface AgentData {
  readonly sentiment?: FencedFeed<SentimentReading>;
  /** Named features by symbol (e.g. `onchain:netflow`), pre-scaled to [-1, 1] by their provider. */
  readonly features?: FencedFeed<Readonly<Record<string, number>>>;
}

const current = new AsyncLocalStorage<AgentData>();

/** Runs `fn` (a backtest) with `data` visible to the agent strategies it runs. */
export function withAgentData<T>(data: AgentData, fn: () => T): T {
  return current.run(data, fn);
}

/** The data of the run in progress, or none (e.g. in a sweep's worker thread). */
export function currentAgentData(): AgentData {
  return current.getStore() ?? {};
}
