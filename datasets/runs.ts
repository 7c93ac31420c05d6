import type { ClosedTrade } from '../engine/metrics.ts';
import { appendColumns, finiteJson as json, hasTables, type Store } from './store.ts';

/**
 * Backtest results in the same DuckDB file as the data: one row per run (queryable with SQL) and
 * its equity and benchmark curves, so reports and sweeps can find a run by id later. A run id is
 * derived from the result hash, so storing the same run twice replaces it instead of duplicating.
 */
/** What identifies a stored run and pins it to code, parameters and data. */
export interface RunIdentity {
  readonly runId: string;
  readonly strategy: string;
  readonly strategySource: string;
  readonly codeHash: string;
  readonly seed: number;
  readonly symbols: readonly string[];
  readonly timeframe: string;
  readonly datasetHash: string;
  readonly resultHash: string;
}

export interface StoredRun extends RunIdentity {
  readonly params: unknown;
  readonly fromTs: number;
  readonly toTs: number;
  readonly metrics: unknown;
  readonly trades: unknown;
  readonly curve: { readonly ts: Float64Array; readonly equity: Float64Array; readonly benchmark: Float64Array };
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  run_id VARCHAR PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL, strategy VARCHAR NOT NULL, strategy_source VARCHAR NOT NULL,
  code_hash VARCHAR NOT NULL, params JSON NOT NULL, seed BIGINT NOT NULL, symbols VARCHAR[] NOT NULL, timeframe VARCHAR NOT NULL,
  from_ts BIGINT NOT NULL, to_ts BIGINT NOT NULL, dataset_hash VARCHAR NOT NULL, result_hash VARCHAR NOT NULL,
  metrics JSON NOT NULL, trades JSON NOT NULL);
CREATE TABLE IF NOT EXISTS run_equity (run_id VARCHAR NOT NULL, ts DOUBLE NOT NULL, equity DOUBLE NOT NULL, benchmark DOUBLE NOT NULL);
`;

export async function saveRun(store: Store, run: StoredRun): Promise<void> {
  await store.withConnection(async (conn) => {
    await conn.run(SCHEMA);
    await conn.run('BEGIN TRANSACTION');
    try {
      await conn.run('DELETE FROM runs WHERE run_id = $id', { id: run.runId });
      await conn.run('DELETE FROM run_equity WHERE run_id = $id', { id: run.runId });
      await conn.run(
        `INSERT INTO runs VALUES ($id, now(), $strategy, $source, $code, $params::JSON, $seed, $symbols::VARCHAR[], $tf, $from, $to, $dh, $rh, $metrics::JSON, $trades::JSON)`,
        {
          id: run.runId,
          strategy: run.strategy,
          source: run.strategySource,
          code: run.codeHash,
          params: json(run.params),
          seed: run.seed,
          symbols: json(run.symbols),
          tf: run.timeframe,
          from: run.fromTs,
          to: run.toTs,
          dh: run.datasetHash,
          rh: run.resultHash,
          metrics: json(run.metrics),
          trades: json(run.trades),
        },
      );
      await conn.run('CREATE OR REPLACE TEMP TABLE run_curve_stage (ts DOUBLE, equity DOUBLE, benchmark DOUBLE)');
      await appendColumns(conn, 'run_curve_stage', [run.curve.ts, run.curve.equity, run.curve.benchmark], run.curve.ts.length);
      await conn.run('INSERT INTO run_equity SELECT $id, ts, equity, benchmark FROM run_curve_stage', { id: run.runId });
      await conn.run('DROP TABLE run_curve_stage');
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

export interface RunSummary {
  readonly runId: string;
  readonly strategy: string;
  readonly params: unknown;
  readonly seed: number;
  readonly timeframe: string;
  readonly resultHash: string;
  readonly metrics: Record<string, unknown>;
}

export async function listRuns(store: Store): Promise<RunSummary[]> {
  return store.withConnection(async (conn) => {
    await conn.run(SCHEMA);
    const r = await conn.runAndReadAll('SELECT run_id, strategy, params::VARCHAR, seed, timeframe, result_hash, metrics::VARCHAR FROM runs ORDER BY created_at');
    return r.getRows().map((row) => ({
      runId: String(row[0]),
      strategy: String(row[1]),
      params: JSON.parse(String(row[2])),
      seed: Number(row[3]),
      timeframe: String(row[4]),
      resultHash: String(row[5]),
      metrics: JSON.parse(String(row[6])) as Record<string, unknown>,
    }));
  });
}

/**
 * Reads one stored backtest (datasets/runs.ts writes them) back by id, with its equity curve: what
 * the gate, Monte Carlo and promotion start from.
 */
export interface RunRecord extends RunIdentity {
  readonly params: Record<string, unknown>;
  readonly fromTs: number;
  readonly toTs: number;
  /** As computeMetrics produced them; non-finite values were stored as null. */
  readonly metrics: Record<string, number | null>;
  readonly trades: readonly ClosedTrade[];
  /** `benchmark`: the buy-and-hold equity stored with the run, for reports. */
  readonly curve: { readonly ts: Float64Array; readonly equity: Float64Array; readonly benchmark?: Float64Array };
}

export async function loadRun(store: Store, runId: string): Promise<RunRecord | undefined> {
  return store.withConnection(async (conn) => {
    if (!(await hasTables(conn, 'runs', 'run_equity'))) return undefined;
    const r = await conn.runAndReadAll(
      `SELECT run_id, strategy, strategy_source, code_hash, params::VARCHAR, seed, to_json(symbols)::VARCHAR, timeframe, from_ts, to_ts,
              dataset_hash, result_hash, metrics::VARCHAR, trades::VARCHAR FROM runs WHERE run_id = $id`,
      { id: runId },
    );
    const row = r.getRows()[0];
    if (!row) return undefined;
    const c = await conn.runAndReadAll('SELECT ts, equity, benchmark FROM run_equity WHERE run_id = $id ORDER BY ts', { id: runId });
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
      curve: { ts: Float64Array.from(pts, (x) => Number(x[0])), equity: Float64Array.from(pts, (x) => Number(x[1])), benchmark: Float64Array.from(pts, (x) => Number(x[2])) },
    };
  });
}
