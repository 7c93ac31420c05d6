import type { Store } from './store.ts';
import type { ClosedTrade } from '../engine/metrics.ts';

/**
 * Reads one stored backtest (datasets/runs.ts writes them) back by id, with its equity curve: what
 * the gate, Monte Carlo and promotion start from. Kept apart from runs.ts, which another module owns;
 * it reads the same tables and creates nothing.
 */
export interface RunRecord {
  readonly runId: string;
  readonly strategy: string;
  readonly strategySource: string;
  readonly codeHash: string;
  readonly params: Record<string, unknown>;
  readonly seed: number;
  readonly symbols: readonly string[];
  readonly timeframe: string;
  readonly fromTs: number;
  readonly toTs: number;
  readonly datasetHash: string;
  readonly resultHash: string;
  /** As computeMetrics produced them; non-finite values were stored as null. */
  readonly metrics: Record<string, number | null>;
  readonly trades: readonly ClosedTrade[];
  readonly curve: { readonly ts: Float64Array; readonly equity: Float64Array };
}

export async function loadRun(store: Store, runId: string): Promise<RunRecord | undefined> {
  return store.withConnection(async (conn) => {
    const t = await conn.runAndReadAll(`SELECT count(*)::INTEGER FROM duckdb_tables() WHERE table_name IN ('runs', 'run_equity') AND schema_name = 'main' AND NOT temporary`);
    if (Number(t.getRows()[0]![0]) !== 2) return undefined;
    const r = await conn.runAndReadAll(
      `SELECT run_id, strategy, strategy_source, code_hash, params::VARCHAR, seed, to_json(symbols)::VARCHAR, timeframe, from_ts, to_ts,
              dataset_hash, result_hash, metrics::VARCHAR, trades::VARCHAR FROM runs WHERE run_id = $id`,
      { id: runId },
    );
    const row = r.getRows()[0];
    if (!row) return undefined;
    const c = await conn.runAndReadAll('SELECT ts, equity FROM run_equity WHERE run_id = $id ORDER BY ts', { id: runId });
    const pts = c.getRows();
    return {
      runId: String(row[0]),
      strategy: String(row[1]),
      strategySource: String(row[2]),
      codeHash: String(row[3]),
      params: JSON.parse(String(row[4])) as Record<string, unknown>,
      seed: Number(row[5]),
      symbols: JSON.parse(String(row[6])) as string[],
      timeframe: String(row[7]),
      fromTs: Number(row[8]),
      toTs: Number(row[9]),
      datasetHash: String(row[10]),
      resultHash: String(row[11]),
      metrics: JSON.parse(String(row[12])) as Record<string, number | null>,
      trades: JSON.parse(String(row[13])) as ClosedTrade[],
      curve: { ts: Float64Array.from(pts, (x) => Number(x[0])), equity: Float64Array.from(pts, (x) => Number(x[1])) },
    };
  });
}
