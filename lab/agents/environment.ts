import { AsyncLocalStorage } from 'node:async_hooks';
import type { FencedFeed, SentimentReading } from '../../engine/agents/types.ts';
import { hashValue } from '../../engine/hash.ts';
import type { BarColumns } from '../../engine/types.ts';
import type { Store } from '../../datasets/store.ts';
import { loadSentiment, type SentimentRows } from '../../datasets/sentiment.ts';
import { DEFAULT_SENTIMENT, SentimentFeed } from './sentiment.ts';

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

/** The data of the run in progress, or none. */
export function currentAgentData(): AgentData {
  return current.getStore() ?? {};
}

/**
 * Agent data as plain rows: what a sweep loads once with its market and hands to worker threads
 * (structured clone) and to the inline executor, so a run there reads the same feed as the same
 * `cs backtest`. Only non-empty kinds are present.
 */
export interface AgentRows {
  readonly sentiment?: SentimentRows;
}

/**
 * The sentiment rows a run over these series reads: stamped up to the last bar's close, from the
 * first bar minus the feed's look-back (items older than that can never be read, see
 * SentimentFeed). One range for `cs backtest`, sweeps and walk-forward, so they agree. Undefined
 * when the store has none in the range: then agents see no sentiment, as with an empty feed.
 */
export async function loadRunSentiment(store: Store, symbols: readonly string[], series: readonly BarColumns[]): Promise<SentimentRows | undefined> {
  const live = series.filter((c) => c.length > 0);
  if (live.length === 0) return undefined;
  const from = Math.min(...live.map((c) => c.ts[0]!)) - Math.max(DEFAULT_SENTIMENT.headlineWindowMs, DEFAULT_SENTIMENT.fearGreedMaxAgeMs);
  const to = Math.max(...live.map((c) => c.ts[c.length - 1]! + c.timeframeMs));
  const rows = await loadSentiment(store, { from, to, symbols });
  return rows.fearGreed.length + rows.headlines.length > 0 ? rows : undefined;
}

/** Built once per rows object (a worker builds its feed on its first run and keeps it). */
const feeds = new WeakMap<SentimentRows, SentimentFeed>();

export function agentDataOf(rows: AgentRows): AgentData {
  if (!rows.sentiment) return {};
  let feed = feeds.get(rows.sentiment);
  if (!feed) feeds.set(rows.sentiment, (feed = new SentimentFeed(rows.sentiment)));
  return { sentiment: feed };
}

/** Runs `fn` with the rows' feeds visible to agent strategies; with none, in the caller's context. */
export function withAgentRows<T>(rows: AgentRows | undefined, fn: () => T): T {
  return rows?.sentiment ? withAgentData(agentDataOf(rows), fn) : fn();
}

/** What identifies the rows in a sweep's definition (absent rows: no entry, so older ids hold). */
export function agentRowsHash(rows: AgentRows): string | undefined {
  return rows.sentiment ? hashValue(rows.sentiment) : undefined;
}
