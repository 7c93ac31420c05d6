import { InputError } from '../engine/errors.ts';
import { hashValue } from '../engine/hash.ts';
import type { BarColumns } from '../engine/types.ts';
import type { Store } from '../datasets/store.ts';
import { allocBarArrays, BAR_FIELDS, barColumns, datasetHash as hashDataset, type BarKey } from '../datasets/columns.ts';
import { validateBars } from '../datasets/validate.ts';
import { pickExchange, usesAgentData, type DatasetRef } from './backtest.ts';
import { loadRunSentiment } from './agents/environment.ts';
import type { SentimentRows } from '../datasets/sentiment.ts';
import type { RunConfig } from './evaluate.ts';

/**
 * Market data loaded once for many runs (a sweep, the windows of a walk-forward), validated, and
 * backed by SharedArrayBuffers so worker threads read the same memory instead of a copy each.
 */

/** Market data held in memory for many runs. */
export interface Market {
  readonly series: readonly BarColumns[];
  readonly datasets: readonly DatasetRef[];
  /** One hash for all the series (the per-symbol hash when there is one). */
  readonly datasetHash: string;
  /**
   * Sentiment rows for agent strategies (persona:*, debate, llm:*) when the store has any in the
   * range: plain data, so it reaches worker threads by structured clone; runParams makes the feed.
   * Not in datasetHash (that stays the bars' hash, as in a run's report); a sweep's id adds it.
   */
  readonly sentiment?: SentimentRows;
}

export function combinedHash(datasets: readonly { datasetHash: string }[]): string {
  return datasets.length === 1 ? datasets[0]!.datasetHash : hashValue(datasets.map((d) => d.datasetHash));
}

/** Loads and validates the series a config names, into SharedArrayBuffers by default. */
export async function loadMarket(store: Store, config: RunConfig, opts: { shared?: boolean } = {}): Promise<Market> {
  const series: BarColumns[] = [];
  const datasets: DatasetRef[] = [];
  for (const symbol of config.symbols) {
    const exchange = config.exchange ?? (await pickExchange(store, symbol, config.timeframe));
    const key: BarKey = { exchange, symbol, timeframe: config.timeframe };
    const range = { ...(config.from !== undefined ? { from: config.from } : {}), ...(config.to !== undefined ? { to: config.to } : {}) };
    const { columns, datasetHash } = await store.loadBars(key, range, { shared: opts.shared ?? true });
    if (columns.length === 0) throw new InputError(`no ${symbol} ${config.timeframe} bars on ${exchange} in the requested range`);
    datasets.push(checkedRef(key, columns, datasetHash, config.allowBadData));
    series.push(columns);
  }
  const sentiment = usesAgentData(config.strategy) ? await loadRunSentiment(store, config.symbols, series) : undefined;
  return { series, datasets, datasetHash: combinedHash(datasets), ...(sentiment ? { sentiment } : {}) };
}

/** Wraps columns already in memory (generated, sliced for a walk-forward window) as a market. */
export function marketFromColumns(series: readonly BarColumns[], exchange = 'memory', allowBadData = false): Market {
  const datasets = series.map((c) => {
    const key: BarKey = { exchange, symbol: c.symbol, timeframe: timeframeName(c.timeframeMs) };
    return checkedRef(key, c, hashDataset(key, c), allowBadData);
  });
  return { series, datasets, datasetHash: combinedHash(datasets) };
}

function timeframeName(ms: number): string {
  const units: [number, string][] = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'm'], [1000, 's']];
  for (const [u, s] of units) if (ms % u === 0) return `${ms / u}${s}`;
  return `${ms}ms`;
}

function checkedRef(key: BarKey, columns: BarColumns, datasetHash: string, allowBadData: boolean): DatasetRef {
  const validation = validateBars(columns);
  if (!validation.ok && !allowBadData) {
    const bad = Object.entries(validation.checks)
      .filter(([, c]) => c.level === 'error' && c.count > 0)
      .map(([name, c]) => `${name}: ${c.count}`);
    throw new InputError(`${key.exchange} ${key.symbol} ${key.timeframe} has data errors — ${bad.join('; ')}. Fix the data (cs data validate) or rerun with --allow-bad-data`);
  }
  return { exchange: key.exchange, symbol: key.symbol, timeframe: key.timeframe, rows: columns.length, first: columns.ts[0]!, last: columns.ts[columns.length - 1]!, datasetHash, validation };
}

/** Copies columns into one SharedArrayBuffer per series unless they already live in one. */
export function shareMarket(m: Market): Market {
  const series = m.series.map((c): BarColumns => {
    if (BAR_FIELDS.every((f) => c[f].buffer instanceof SharedArrayBuffer)) return c;
    const a = allocBarArrays(c.length, true);
    for (const f of BAR_FIELDS) a[f].set(c[f]);
    return barColumns(c.symbol, c.timeframeMs, a);
  });
  return { ...m, series };
}
