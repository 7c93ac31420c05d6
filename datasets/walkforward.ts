import { finiteJson as json, hasTables, type Store } from './store.ts';

/**
 * Walk-forward results in the DuckDB file, next to the runs: one row per analysis (the report as
 * JSON, queryable with DuckDB's JSON functions) and its stitched out-of-sample equity curve. The id
 * is derived from the inputs and results, so storing the same analysis twice replaces it.
 */

export interface StoredWalkForward {
  readonly id: string;
  readonly strategy: string;
  readonly codeHash: string;
  readonly datasetHash: string;
  readonly timeframe: string;
  readonly symbols: readonly string[];
  /** The JSON report (walkForwardJson): windows, OOS metrics, efficiency, stability, overfitting. */
  readonly report: Record<string, unknown>;
  readonly curve: { readonly ts: Float64Array; readonly equity: Float64Array };
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS walkforwards (
  id VARCHAR PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL, strategy VARCHAR NOT NULL, code_hash VARCHAR NOT NULL,
  dataset_hash VARCHAR NOT NULL, timeframe VARCHAR NOT NULL, symbols JSON NOT NULL, report JSON NOT NULL);
CREATE TABLE IF NOT EXISTS walkforward_equity (id VARCHAR NOT NULL, ts DOUBLE NOT NULL, equity DOUBLE NOT NULL);
`;

export async function saveWalkForward(store: Store, wf: StoredWalkForward): Promise<void> {
  await store.withConnection(async (conn) => {
    await conn.run(SCHEMA);
    await conn.run('BEGIN TRANSACTION');
    try {
      await conn.run('DELETE FROM walkforwards WHERE id = $id', { id: wf.id });
      await conn.run('DELETE FROM walkforward_equity WHERE id = $id', { id: wf.id });
      await conn.run('INSERT INTO walkforwards VALUES ($id, now(), $strategy, $code, $dh, $tf, $symbols::JSON, $report::JSON)', {
        id: wf.id,
        strategy: wf.strategy,
        code: wf.codeHash,
        dh: wf.datasetHash,
        tf: wf.timeframe,
        symbols: json(wf.symbols),
        report: json(wf.report),
      });
      const app = await conn.createAppender('walkforward_equity');
      try {
        for (let i = 0; i < wf.curve.ts.length; i++) {
          app.appendVarchar(wf.id);
          app.appendDouble(wf.curve.ts[i]!);
          app.appendDouble(wf.curve.equity[i]!);
          app.endRow();
        }
        app.flushSync();
      } finally {
        app.closeSync();
      }
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

export async function loadWalkForward(store: Store, id: string): Promise<StoredWalkForward | undefined> {
  return store.withConnection(async (conn) => {
    if (!(await hasTables(conn, 'walkforwards', 'walkforward_equity'))) return undefined;
    const r = await conn.runAndReadAll('SELECT strategy, code_hash, dataset_hash, timeframe, symbols::VARCHAR, report::VARCHAR FROM walkforwards WHERE id = $id', { id });
    const row = r.getRows()[0];
    if (!row) return undefined;
    const c = await conn.runAndReadAll('SELECT ts, equity FROM walkforward_equity WHERE id = $id ORDER BY ts', { id });
    const rows = c.getRows();
    return {
      id,
      strategy: String(row[0]),
      codeHash: String(row[1]),
      datasetHash: String(row[2]),
      timeframe: String(row[3]),
      symbols: JSON.parse(String(row[4])) as string[],
      report: JSON.parse(String(row[5])) as Record<string, unknown>,
      curve: { ts: Float64Array.from(rows, (x) => Number(x[0])), equity: Float64Array.from(rows, (x) => Number(x[1])) },
    };
  });
}

export async function listWalkForwards(store: Store): Promise<{ id: string; strategy: string; timeframe: string }[]> {
  return store.withConnection(async (conn) => {
    if (!(await hasTables(conn, 'walkforwards', 'walkforward_equity'))) return [];
    const r = await conn.runAndReadAll('SELECT id, strategy, timeframe FROM walkforwards ORDER BY created_at');
    return r.getRows().map((x) => ({ id: String(x[0]), strategy: String(x[1]), timeframe: String(x[2]) }));
  });
}
