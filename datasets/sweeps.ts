import { blobValue, type DuckDBBlobValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { InputError } from '../engine/errors.ts';
import { canonicalJson } from '../engine/hash.ts';
import { finiteJson as json, hasTables, type Store } from './store.ts';

/**
 * Sweep results in the same DuckDB file as the data. `sweeps` holds one row per sweep (its full
 * definition, so a rerun under the same id can be checked against it); `sweep_runs` one row per
 * run, keyed by (sweep_id, run_key): storing a run twice is a no-op, which is what makes a sweep
 * resumable and a retried queue job harmless. Every scalar metric has its own DOUBLE column so
 * "best by X" is plain SQL; the full metrics object (benchmark block included) is kept as JSON.
 */

/** The scalar metrics stored as columns, by the engine's metric names. */
export const METRIC_COLUMNS = [
  'totalReturn', 'cagr', 'volatility', 'sharpe', 'sortino', 'calmar', 'maxDrawdown', 'maxDrawdownDuration',
  'maxDrawdownDurationMs', 'winRate', 'profitFactor', 'expectancy', 'exposure', 'turnover', 'numTrades',
  'avgHoldingTime', 'periods',
] as const;
export type MetricName = (typeof METRIC_COLUMNS)[number];

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const metricColumn = (m: MetricName): string => `m_${snake(m)}`;

export interface SweepDefinition {
  readonly sweepId: string;
  readonly strategy: string;
  readonly codeHash: string;
  readonly datasetHash: string;
  /** Everything that decides which runs the sweep makes and what they compute. */
  readonly definition: unknown;
}

export interface SweepRow {
  readonly sweepId: string;
  readonly runKey: string;
  /** Order in which the optimiser proposed the run (stable across resumes and worker counts). */
  readonly seq: number;
  /** Parameters as the strategy saw them (defaults filled in). */
  readonly params: unknown;
  readonly seed: number;
  readonly datasetHash: string;
  readonly codeHash: string;
  readonly resultHash: string;
  readonly metrics: Readonly<Record<string, unknown>>;
  /** Per-bar returns of the run's equity (table sweep_returns); absent on rows read without them. */
  readonly returns?: Float32Array;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sweeps (
  sweep_id VARCHAR PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL, strategy VARCHAR NOT NULL, code_hash VARCHAR NOT NULL,
  dataset_hash VARCHAR NOT NULL, definition JSON NOT NULL);
CREATE TABLE IF NOT EXISTS sweep_runs (
  sweep_id VARCHAR NOT NULL, run_key VARCHAR NOT NULL, seq INTEGER NOT NULL, created_at TIMESTAMPTZ NOT NULL,
  params JSON NOT NULL, seed BIGINT NOT NULL, dataset_hash VARCHAR NOT NULL, code_hash VARCHAR NOT NULL,
  result_hash VARCHAR NOT NULL, metrics JSON NOT NULL,
  ${METRIC_COLUMNS.map((m) => `${metricColumn(m)} DOUBLE`).join(', ')},
  PRIMARY KEY (sweep_id, run_key));
CREATE TABLE IF NOT EXISTS sweep_returns (
  sweep_id VARCHAR NOT NULL, run_key VARCHAR NOT NULL, returns BLOB NOT NULL, PRIMARY KEY (sweep_id, run_key));
`;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

async function ensureSchema(conn: DuckDBConnection): Promise<void> {
  await conn.run(SCHEMA);
}

/**
 * Records a sweep's definition, or checks it against the one stored under the same id: reusing an
 * id for a different sweep would mix results that are not comparable.
 */
export async function beginSweep(store: Store, def: SweepDefinition): Promise<{ resumed: boolean }> {
  return store.withConnection(async (conn) => {
    await ensureSchema(conn);
    const r = await conn.runAndReadAll('SELECT definition::VARCHAR, code_hash, dataset_hash FROM sweeps WHERE sweep_id = $id', { id: def.sweepId });
    const row = r.getRows()[0];
    const canonical = canonicalJson(def.definition);
    if (row) {
      const stored = canonicalJson(JSON.parse(String(row[0])));
      if (stored !== canonical || String(row[1]) !== def.codeHash || String(row[2]) !== def.datasetHash) {
        throw new InputError(`sweep id ${def.sweepId} already holds a different sweep (other strategy code, data or settings); choose another --sweep-id`);
      }
      return { resumed: true };
    }
    await conn.run('INSERT INTO sweeps VALUES ($id, now(), $strategy, $code, $data, $def::JSON)', {
      id: def.sweepId,
      strategy: def.strategy,
      code: def.codeHash,
      data: def.datasetHash,
      def: canonical,
    });
    return { resumed: false };
  });
}

/** Stores runs; a run already stored under its key is left as it is (never duplicated). */
export async function saveSweepRuns(store: Store, rows: readonly SweepRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  return store.withConnection(async (conn) => {
    await ensureSchema(conn);
    const cols = METRIC_COLUMNS.map((m) => metricColumn(m));
    const stmt = await conn.prepare(
      `INSERT INTO sweep_runs (sweep_id, run_key, seq, created_at, params, seed, dataset_hash, code_hash, result_hash, metrics, ${cols.join(', ')})
       VALUES ($1, $2, $3, now(), $4::JSON, $5, $6, $7, $8, $9::JSON, ${cols.map((_, i) => `$${10 + i}`).join(', ')})
       ON CONFLICT DO NOTHING`,
    );
    const ret = await conn.prepare('INSERT INTO sweep_returns VALUES ($1, $2, $3) ON CONFLICT DO NOTHING');
    let inserted = 0;
    await conn.run('BEGIN TRANSACTION');
    try {
      for (const r of rows) {
        const values: DuckDBValue[] = [r.sweepId, r.runKey, r.seq, json(r.params), r.seed, r.datasetHash, r.codeHash, r.resultHash, json(r.metrics), ...METRIC_COLUMNS.map((m) => num(r.metrics[m]))];
        stmt.bind(values);
        const res = await stmt.run();
        inserted += Number(res.rowsChanged);
        if (r.returns) {
          // In the same transaction as the row: a stored run always has its returns.
          ret.bind([r.sweepId, r.runKey, blobValue(new Uint8Array(r.returns.buffer, r.returns.byteOffset, r.returns.byteLength))]);
          await ret.run();
        }
      }
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
    return inserted;
  });
}

function rowFrom(r: readonly DuckDBValue[]): SweepRow {
  return {
    sweepId: String(r[0]),
    runKey: String(r[1]),
    seq: Number(r[2]),
    params: JSON.parse(String(r[3])),
    seed: Number(r[4]),
    datasetHash: String(r[5]),
    codeHash: String(r[6]),
    resultHash: String(r[7]),
    metrics: JSON.parse(String(r[8])) as Record<string, unknown>,
  };
}

const ROW_SQL = 'SELECT sweep_id, run_key, seq, params::VARCHAR, seed, dataset_hash, code_hash, result_hash, metrics::VARCHAR FROM sweep_runs';

/** Every stored run of a sweep, in proposal order. */
export async function loadSweepRuns(store: Store, sweepId: string): Promise<SweepRow[]> {
  return store.withConnection(async (conn) => {
    if (!(await hasTables(conn, 'sweeps', 'sweep_runs'))) return [];
    const r = await conn.runAndReadAll(`${ROW_SQL} WHERE sweep_id = $id ORDER BY seq, run_key`, { id: sweepId });
    return r.getRows().map(rowFrom);
  });
}

/**
 * Every stored run's per-bar returns, by run key. The BLOB holds little-endian float32s (the byte
 * order of every platform Node runs on); they are copied out because a BLOB's bytes need not be
 * 4-byte aligned.
 */
export async function loadSweepReturns(store: Store, sweepId: string): Promise<Map<string, Float32Array>> {
  return store.withConnection(async (conn) => {
    const out = new Map<string, Float32Array>();
    if (!(await hasTables(conn, 'sweeps', 'sweep_runs', 'sweep_returns'))) return out;
    const r = await conn.runAndReadAll('SELECT run_key, returns FROM sweep_returns WHERE sweep_id = $id', { id: sweepId });
    for (const [key, blob] of r.getRows()) {
      const bytes = (blob as DuckDBBlobValue).bytes;
      if (bytes.length % 4 !== 0) throw new Error(`sweep ${sweepId} run ${String(key)}: stored returns of ${bytes.length} bytes are not float32s`);
      const f = new Float32Array(bytes.length / 4);
      new Uint8Array(f.buffer).set(bytes);
      out.set(String(key), f);
    }
    return out;
  });
}

/** Runs with their returns attached (a run stored before returns were kept has none). */
export async function loadSweepRunsWithReturns(store: Store, sweepId: string): Promise<SweepRow[]> {
  const rows = await loadSweepRuns(store, sweepId);
  const returns = await loadSweepReturns(store, sweepId);
  return rows.map((r) => {
    const x = returns.get(r.runKey);
    return x ? { ...r, returns: x } : r;
  });
}

/** The best `limit` runs by a metric (NaN/null last), ties broken by proposal order. */
export async function bestSweepRuns(store: Store, sweepId: string, metric: MetricName, opts: { limit?: number; ascending?: boolean } = {}): Promise<SweepRow[]> {
  return store.withConnection(async (conn) => {
    if (!(await hasTables(conn, 'sweeps', 'sweep_runs'))) return [];
    const r = await conn.runAndReadAll(
      `${ROW_SQL} WHERE sweep_id = $id ORDER BY ${metricColumn(metric)} ${opts.ascending ? 'ASC' : 'DESC'} NULLS LAST, seq LIMIT $n`,
      { id: sweepId, n: opts.limit ?? 10 },
    );
    return r.getRows().map(rowFrom);
  });
}

export interface SweepInfo {
  readonly sweepId: string;
  readonly strategy: string;
  readonly codeHash: string;
  readonly datasetHash: string;
  readonly definition: unknown;
  /** Runs stored: the number of trials a deflated Sharpe ratio must account for. */
  readonly runs: number;
}

export async function listSweeps(store: Store): Promise<SweepInfo[]> {
  return store.withConnection(async (conn) => {
    if (!(await hasTables(conn, 'sweeps', 'sweep_runs'))) return [];
    const r = await conn.runAndReadAll(
      `SELECT s.sweep_id, s.strategy, s.code_hash, s.dataset_hash, s.definition::VARCHAR, (SELECT count(*) FROM sweep_runs r WHERE r.sweep_id = s.sweep_id)::DOUBLE
       FROM sweeps s ORDER BY s.created_at, s.sweep_id`,
    );
    return r.getRows().map((x) => ({
      sweepId: String(x[0]),
      strategy: String(x[1]),
      codeHash: String(x[2]),
      datasetHash: String(x[3]),
      definition: JSON.parse(String(x[4])),
      runs: Number(x[5]),
    }));
  });
}
