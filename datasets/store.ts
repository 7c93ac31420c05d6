import { closeSync, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DuckDBDataChunk, DuckDBDoubleType, DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { z } from 'zod';
import type { BarColumns } from '../engine/types.ts';
import { InputError, describeIssues } from '../engine/errors.ts';
import { canonicalJson, sha256Hex } from '../engine/hash.ts';
import { timeframeToMs } from '../engine/timeframe.ts';
import {
  allocBarArrays,
  BAR_FIELDS,
  barColumns,
  datasetHash,
  doubleItems,
  lowerBound,
  readArrowCache,
  readCacheIndex,
  readCachedValue,
  scanArrowCache,
  sliceBars,
  streamDoubles,
  writeArrowCache,
  type BarKey,
  type CacheIndex,
  type LoadBuffer,
} from './columns.ts';

export type { BarKey, LoadBuffer } from './columns.ts';

/**
 * The DuckDB store: one file holding bars, trades and quotes.
 *
 * `ts` is a BIGINT of epoch milliseconds, not a TIMESTAMP: it is exactly the engine's `ts`, so no
 * conversion (and no session time zone) stands between the file and a backtest, and reading it as
 * DOUBLE is lossless for every ms timestamp. The view `bars_utc` shows it as a UTC TIMESTAMP for
 * people querying the file by hand.
 */

/** Only the arrays and their length: a `BarColumns` fits, so does a generator's output. */
export type BarData = Pick<BarColumns, 'length' | 'ts' | 'open' | 'high' | 'low' | 'close' | 'volume'>;

export interface TimeRange {
  /** Inclusive, epoch ms. */
  readonly from?: number;
  /** Exclusive, epoch ms. */
  readonly to?: number;
}

export interface LoadOptions {
  /** Back the columns with a SharedArrayBuffer so worker threads can read them without copies. */
  readonly shared?: boolean;
  /** Use (and build) the Arrow IPC cache; default true for file databases. */
  readonly cache?: boolean;
  /**
   * Read the Arrow cache file into this holder's buffer (allocated, or grown, on first use)
   * instead of a fresh one: repeated loads skip the page faults. Columns of an earlier load through
   * the same holder are overwritten. A load that (re)builds the cache reads into fresh arrays.
   */
  readonly reuse?: LoadBuffer;
}

export interface LoadedBars {
  readonly columns: BarColumns;
  /** Content hash of exactly the rows returned plus the key (see columns.ts datasetHash). */
  readonly datasetHash: string;
}

export interface DatasetInfo {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: string;
  readonly rows: number;
  /** Open time of the first and last bar, epoch ms. */
  readonly first: number;
  readonly last: number;
}

export interface WriteResult {
  readonly rows: number;
  readonly version: string;
}

export interface Store {
  readonly path: string;
  readonly readOnly: boolean;
  /** Upserts: rows whose ts already exists for the key are replaced; all or nothing. */
  writeBars(key: BarKey, cols: BarData): Promise<WriteResult>;
  loadBars(key: BarKey, range?: TimeRange, opts?: LoadOptions): Promise<LoadedBars>;
  /**
   * The same rows as `loadBars`, `chunkRows` (default 1,048,576) at a time in buffers reused for
   * every chunk, so memory stays bounded on long histories. A chunk is valid until the next one.
   */
  scanBars(key: BarKey, range?: TimeRange, opts?: { chunkRows?: number }): AsyncGenerator<BarColumns>;
  listDatasets(): Promise<DatasetInfo[]>;
  /** Open time of the newest stored bar, or undefined when there is none (for resuming downloads). */
  lastTs(key: BarKey): Promise<number | undefined>;
  close(): Promise<void>;
  /**
   * For datasets/ modules (import, export, resample): runs `fn` with the connection while no
   * other store call runs. Not for engine or lab code.
   */
  withConnection<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T>;
  /**
   * For datasets/import.ts: moves the rows of `stagingTable` (a table or parenthesised query with
   * columns ts BIGINT, open … volume DOUBLE) into `bars` under `key` in one transaction. Call inside
   * `withConnection`.
   */
  commitStaged(conn: DuckDBConnection, key: BarKey, stagingTable: string): Promise<WriteResult>;
}

const keySchema = z.object({
  exchange: z.string().trim().min(1, 'exchange must not be empty'),
  symbol: z.string().trim().min(1, 'symbol must not be empty'),
  timeframe: z.string().refine((tf) => {
    try {
      timeframeToMs(tf);
      return true;
    } catch {
      return false;
    }
  }, 'timeframe must look like 1m, 5m, 1h, 4h, 1d'),
});

export function parseKey(key: BarKey): BarKey {
  const r = keySchema.safeParse(key);
  if (!r.success) throw new InputError(`dataset key: ${describeIssues(r.error, '(key)')}`);
  return r.data;
}

export function describeKey(key: BarKey): string {
  return `${key.exchange} ${key.symbol} ${key.timeframe}`;
}

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS bars (
  exchange VARCHAR NOT NULL, symbol VARCHAR NOT NULL, timeframe VARCHAR NOT NULL, ts BIGINT NOT NULL,
  open DOUBLE NOT NULL, high DOUBLE NOT NULL, low DOUBLE NOT NULL, close DOUBLE NOT NULL, volume DOUBLE NOT NULL,
  PRIMARY KEY (exchange, symbol, timeframe, ts));
CREATE TABLE IF NOT EXISTS trades (
  exchange VARCHAR NOT NULL, symbol VARCHAR NOT NULL, ts BIGINT NOT NULL, seq BIGINT NOT NULL,
  price DOUBLE NOT NULL, amount DOUBLE NOT NULL, side VARCHAR,
  PRIMARY KEY (exchange, symbol, ts, seq));
CREATE TABLE IF NOT EXISTS quotes (
  exchange VARCHAR NOT NULL, symbol VARCHAR NOT NULL, ts BIGINT NOT NULL, seq BIGINT NOT NULL,
  bid DOUBLE NOT NULL, bid_size DOUBLE NOT NULL, ask DOUBLE NOT NULL, ask_size DOUBLE NOT NULL,
  PRIMARY KEY (exchange, symbol, ts, seq));
CREATE TABLE IF NOT EXISTS dataset_versions (
  exchange VARCHAR NOT NULL, symbol VARCHAR NOT NULL, timeframe VARCHAR NOT NULL,
  version VARCHAR NOT NULL, rows BIGINT NOT NULL, first_ts BIGINT, last_ts BIGINT, updated_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (exchange, symbol, timeframe));
CREATE OR REPLACE VIEW bars_utc AS
  SELECT exchange, symbol, timeframe, make_timestamp(ts * 1000) AS time, open, high, low, close, volume FROM bars;
`;

const KEY_WHERE = 'exchange = $exchange AND symbol = $symbol AND timeframe = $timeframe';

function keyParams(key: BarKey): Record<string, DuckDBValue> {
  return { exchange: key.exchange, symbol: key.symbol, timeframe: key.timeframe };
}

function isInMemory(path: string): boolean {
  return path === '' || path === ':memory:' || path.startsWith(':memory:');
}

function openError(path: string, err: unknown): InputError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/lock/i.test(msg)) {
    const holder = /held in (.*?)(?:\.|$)/.exec(msg)?.[1];
    return new InputError(
      `${path}: another process has this database open${holder ? ` (${holder.trim()})` : ''}; close it or use --db for another file`,
      { cause: err },
    );
  }
  return new InputError(`${path}: cannot open as a DuckDB database: ${msg.split('\n')[0]}`, { cause: err });
}

export async function openStore(path: string, opts: { readOnly?: boolean } = {}): Promise<Store> {
  const readOnly = opts.readOnly ?? false;
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(path, { access_mode: readOnly ? 'READ_ONLY' : 'READ_WRITE' });
  } catch (err) {
    throw openError(path, err);
  }
  const conn = await instance.connect();
  try {
    // Text timestamps without a zone are UTC everywhere in this project, whatever the machine's zone.
    await conn.run(`SET TimeZone = 'UTC'`);
    if (!readOnly) await conn.run(SCHEMA_SQL);
  } catch (err) {
    conn.closeSync();
    instance.closeSync();
    throw openError(path, err);
  }
  return new DuckStore(path, readOnly, instance, conn);
}

class DuckStore implements Store {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private stageSeq = 0;
  private readonly cacheDir: string | undefined;

  constructor(
    readonly path: string,
    readonly readOnly: boolean,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {
    // Under .cs-cache/ (git-ignored) beside the database; the file name keeps two stores apart.
    this.cacheDir = isInMemory(path) ? undefined : join(dirname(resolve(path)), '.cs-cache', basename(path));
  }

  withConnection<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`store ${this.path} is closed`));
    const run = this.queue.then(() => fn(this.conn));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private assertWritable(): void {
    if (this.readOnly) throw new InputError(`${this.path} is open read-only; writing needs a read-write store`);
  }

  async writeBars(rawKey: BarKey, cols: BarData): Promise<WriteResult> {
    this.assertWritable();
    const key = parseKey(rawKey);
    checkBarData(cols);
    return this.withConnection(async (conn) => {
      const stage = `_stage_bars_${process.pid}_${++this.stageSeq}`;
      await conn.run(`CREATE OR REPLACE TEMP TABLE ${stage} (ts DOUBLE, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE)`);
      try {
        await appendColumns(conn, stage, BAR_FIELDS.map((f) => cols[f]), cols.length);
        return await this.commitStaged(conn, key, `(SELECT ts::BIGINT AS ts, open, high, low, close, volume FROM ${stage})`);
      } finally {
        await conn.run(`DROP TABLE IF EXISTS ${stage}`);
      }
    });
  }

  async commitStaged(conn: DuckDBConnection, rawKey: BarKey, stagingTable: string): Promise<WriteResult> {
    this.assertWritable();
    const key = parseKey(rawKey);
    const p = keyParams(key);
    await conn.run('BEGIN TRANSACTION');
    try {
      // OR REPLACE costs a conflict probe per row (about 3x the plain insert measured here); new
      // keys and appends (downloads, synthetic data) have nothing to replace.
      const overlap = await conn.runAndReadAll(
        `SELECT count(*)::DOUBLE FROM bars WHERE ${KEY_WHERE}
           AND ts BETWEEN (SELECT min(ts) FROM ${stagingTable}) AND (SELECT max(ts) FROM ${stagingTable})`,
        p,
      );
      const verb = Number(overlap.getRows()[0]![0]) > 0 ? 'INSERT OR REPLACE' : 'INSERT';
      const ins = await conn.run(
        `${verb} INTO bars SELECT $exchange, $symbol, $timeframe, ts, open, high, low, close, volume FROM ${stagingTable}`,
        p,
      );
      const rows = Number(ins.rowsChanged);
      const v = await conn.runAndReadAll(
        `INSERT OR REPLACE INTO dataset_versions
           SELECT $exchange, $symbol, $timeframe, gen_random_uuid()::VARCHAR, count(*), min(ts), max(ts), now()
           FROM bars WHERE ${KEY_WHERE}
         RETURNING version`,
        p,
      );
      await conn.run('COMMIT');
      this.dropCaches(key);
      return { rows, version: String(v.getRows()[0]![0]) };
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  async loadBars(rawKey: BarKey, range: TimeRange = {}, opts: LoadOptions = {}): Promise<LoadedBars> {
    const key = parseKey(rawKey);
    const shared = opts.shared ?? false;
    const tfMs = timeframeToMs(key.timeframe);
    const from = range.from ?? -Infinity;
    const to = range.to ?? Infinity;
    if (from > to) throw new InputError(`range: from (${range.from}) is after to (${range.to})`);
    return this.withConnection(async (conn) => {
      const ver = await this.versionOf(conn, key);
      if (!ver) throw new InputError(`${this.path}: no bars for ${describeKey(key)} (see \`cs data ls\`; import or download them first)`);
      const cacheFile = opts.cache === false || !this.cacheDir ? undefined : join(this.cacheDir, `${keyId(key)}-${ver.version}.arrow`);
      if (cacheFile) {
        let full = readArrowCache(cacheFile, { key, version: ver.version }, shared, opts.reuse);
        let hash = full?.hash;
        if (!full || full.columns.ts.length !== ver.rows) {
          const arrays = allocBarArrays(ver.rows, shared);
          await this.readRange(conn, key, -Infinity, Infinity, arrays, ver.rows);
          const cols = barColumns(key.symbol, tfMs, arrays);
          hash = datasetHash(key, cols);
          await this.writeCache(cacheFile, key, cols, ver.version, hash);
          full = { columns: arrays, hash };
        }
        const all = barColumns(key.symbol, tfMs, full.columns);
        const i0 = Number.isFinite(from) ? lowerBound(all.ts, from) : 0;
        const i1 = Number.isFinite(to) ? lowerBound(all.ts, to) : all.length;
        if (i0 === 0 && i1 === all.length) return { columns: all, datasetHash: hash! };
        const part = sliceBars(all, i0, i1);
        return { columns: part, datasetHash: datasetHash(key, part) };
      }
      const n = await this.countRange(conn, key, from, to);
      const arrays = allocBarArrays(n, shared);
      await this.readRange(conn, key, from, to, arrays, n);
      const cols = barColumns(key.symbol, tfMs, arrays);
      return { columns: cols, datasetHash: datasetHash(key, cols) };
    });
  }

  async *scanBars(rawKey: BarKey, range: TimeRange = {}, opts: { chunkRows?: number } = {}): AsyncGenerator<BarColumns> {
    const key = parseKey(rawKey);
    const chunkRows = opts.chunkRows ?? 1 << 20;
    if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new InputError(`chunkRows must be a positive integer, got ${chunkRows}`);
    const tfMs = timeframeToMs(key.timeframe);
    const from = range.from ?? -Infinity;
    const to = range.to ?? Infinity;
    const prepared = await this.withConnection(async (conn) => {
      const ver = await this.versionOf(conn, key);
      if (!ver) throw new InputError(`${this.path}: no bars for ${describeKey(key)} (see \`cs data ls\`; import or download them first)`);
      const file = this.cacheDir ? join(this.cacheDir, `${keyId(key)}-${ver.version}.arrow`) : undefined;
      const idx = file ? readCacheIndex(file, { key, version: ver.version }) : undefined;
      if (file && idx && idx.rows === ver.rows) return { file, idx };
      const arrays = allocBarArrays(ver.rows, false);
      await this.readRange(conn, key, -Infinity, Infinity, arrays, ver.rows);
      const cols = barColumns(key.symbol, tfMs, arrays);
      const built = file ? await this.writeCache(file, key, cols, ver.version, datasetHash(key, cols)) : undefined;
      return file && built ? { file, idx: built, cols: undefined } : { cols };
    });
    if (prepared.cols) {
      // No cache to read from (in-memory database, unwritable directory): slices of what was read.
      const all = prepared.cols;
      const i0 = Number.isFinite(from) ? lowerBound(all.ts, from) : 0;
      const i1 = Number.isFinite(to) ? lowerBound(all.ts, to) : all.length;
      for (let i = i0; i < i1; i += chunkRows) yield sliceBars(all, i, Math.min(i1, i + chunkRows));
      return;
    }
    const { file, idx } = prepared as { file: string; idx: CacheIndex };
    const fd = openSync(file, 'r');
    let i0: number, i1: number;
    try {
      const bound = (t: number): number => {
        let lo = 0, hi = idx.rows;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (readCachedValue(fd, idx, 'ts', mid) < t) lo = mid + 1;
          else hi = mid;
        }
        return lo;
      };
      i0 = Number.isFinite(from) ? bound(from) : 0;
      i1 = Number.isFinite(to) ? bound(to) : idx.rows;
    } finally {
      closeSync(fd);
    }
    for (const a of scanArrowCache(file, idx, i0, i1, chunkRows)) yield barColumns(key.symbol, tfMs, a);
  }

  async listDatasets(): Promise<DatasetInfo[]> {
    return this.withConnection(async (conn) => {
      if (!(await hasTables(conn, 'bars'))) return [];
      const r = await conn.runAndReadAll(
        `SELECT exchange, symbol, timeframe, count(*)::DOUBLE, min(ts)::DOUBLE, max(ts)::DOUBLE
         FROM bars GROUP BY ALL ORDER BY exchange, symbol, timeframe`,
      );
      return r.getRows().map(([exchange, symbol, timeframe, rows, first, last]) => ({
        exchange: String(exchange),
        symbol: String(symbol),
        timeframe: String(timeframe),
        rows: Number(rows),
        first: Number(first),
        last: Number(last),
      }));
    });
  }

  async lastTs(rawKey: BarKey): Promise<number | undefined> {
    const key = parseKey(rawKey);
    return this.withConnection(async (conn) => {
      if (!(await hasTables(conn, 'bars'))) return undefined;
      const r = await conn.runAndReadAll(`SELECT max(ts)::DOUBLE FROM bars WHERE ${KEY_WHERE}`, keyParams(key));
      const v = r.getRows()[0]?.[0];
      return v === null || v === undefined ? undefined : Number(v);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    this.conn.closeSync();
    this.instance.closeSync();
  }

  // ---- internals ------------------------------------------------------------------------------

  private async versionOf(conn: DuckDBConnection, key: BarKey): Promise<{ version: string; rows: number } | undefined> {
    if (!(await hasTables(conn, 'dataset_versions'))) return undefined;
    // The recorded row count is checked against the table so that rows changed behind the store's
    // back (another tool writing the file) never serve a stale cache.
    const r = await conn.runAndReadAll(
      `SELECT v.version, v.rows::DOUBLE, (SELECT count(*) FROM bars WHERE ${KEY_WHERE})::DOUBLE
       FROM dataset_versions v WHERE v.exchange = $exchange AND v.symbol = $symbol AND v.timeframe = $timeframe`,
      keyParams(key),
    );
    const row = r.getRows()[0];
    if (!row) return undefined;
    const [version, rows, actual] = row;
    if (Number(actual) === 0) return undefined;
    const stale = Number(rows) !== Number(actual);
    return { version: stale ? `${String(version)}-drift${Number(actual)}` : String(version), rows: Number(actual) };
  }

  private async countRange(conn: DuckDBConnection, key: BarKey, from: number, to: number): Promise<number> {
    const r = await conn.runAndReadAll(`SELECT count(*)::DOUBLE FROM bars WHERE ${KEY_WHERE}${rangeSql(from, to)}`, rangeParams(key, from, to));
    return Number(r.getRows()[0]![0]);
  }

  private async readRange(conn: DuckDBConnection, key: BarKey, from: number, to: number, out: Record<(typeof BAR_FIELDS)[number], Float64Array>, rows: number): Promise<void> {
    const sql = `SELECT ts::DOUBLE, open, high, low, close, volume FROM bars WHERE ${KEY_WHERE}${rangeSql(from, to)} ORDER BY ts`;
    const n = await streamDoubles(conn, sql, rangeParams(key, from, to), BAR_FIELDS.map((f) => out[f]), rows);
    if (n !== rows) throw new Error(`expected ${rows} rows for ${describeKey(key)}, read ${n}`);
  }

  private async writeCache(file: string, key: BarKey, cols: BarColumns, version: string, hash: string): Promise<CacheIndex | undefined> {
    try {
      mkdirSync(dirname(file), { recursive: true });
      this.dropCaches(key);
      return await writeArrowCache(file, cols, { key, version, hash });
    } catch {
      // The cache only saves time: a read-only directory or a full disk must not fail the load.
      return undefined;
    }
  }

  private dropCaches(key: BarKey): void {
    if (!this.cacheDir) return;
    const prefix = `${keyId(key)}-`;
    let names: string[];
    try {
      names = readdirSync(this.cacheDir);
    } catch {
      return;
    }
    for (const n of names) if (n.startsWith(prefix)) rmSync(join(this.cacheDir, n), { force: true });
  }
}

function keyId(key: BarKey): string {
  return sha256Hex(canonicalJson({ exchange: key.exchange, symbol: key.symbol, timeframe: key.timeframe })).slice(0, 16);
}

function rangeSql(from: number, to: number): string {
  return (Number.isFinite(from) ? ' AND ts >= $from' : '') + (Number.isFinite(to) ? ' AND ts < $to' : '');
}

function rangeParams(key: BarKey, from: number, to: number): Record<string, DuckDBValue> {
  const p = keyParams(key);
  if (Number.isFinite(from)) p.from = BigInt(Math.ceil(from));
  if (Number.isFinite(to)) p.to = BigInt(Math.ceil(to));
  return p;
}

/** JSON with non-finite numbers as null (a profit factor can be Infinity, an efficiency ratio NaN). */
export const finiteJson = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x));

/** Whether all these tables exist (readers must also work on a read-only file that never held them). */
export async function hasTables(conn: DuckDBConnection, ...names: string[]): Promise<boolean> {
  const r = await conn.runAndReadAll(
    `SELECT count(*)::INTEGER FROM duckdb_tables() WHERE table_name IN (${names.map((_, i) => `$t${i}`).join(', ')}) AND schema_name = 'main' AND NOT temporary`,
    Object.fromEntries(names.map((n, i) => [`t${i}`, n])),
  );
  return Number(r.getRows()[0]![0]) === names.length;
}

/** Rejects, before anything is written, what the table would store but no backtest should see. */
export function checkBarData(cols: BarData): void {
  const n = cols.length;
  for (const f of BAR_FIELDS) {
    if (!(cols[f] instanceof Float64Array)) throw new InputError(`bars: column ${f} must be a Float64Array`);
    if (cols[f].length !== n) throw new InputError(`bars: column ${f} has ${cols[f].length} values, expected ${n}`);
  }
  const { ts, open, high, low, close, volume } = cols;
  let increasing = true;
  for (let i = 0; i < n; i++) {
    const t = ts[i]!;
    if (!Number.isSafeInteger(t)) throw new InputError(`bars row ${i}: ts ${t} is not an integer epoch-ms timestamp`);
    if (i > 0 && t <= ts[i - 1]!) increasing = false;
    // One test for all five: a NaN or an infinity makes the product non-finite (0 · ∞ is NaN too).
    if (!Number.isFinite(open[i]! * 0 + high[i]! * 0 + low[i]! * 0 + close[i]! * 0 + volume[i]! * 0)) {
      for (const f of ['open', 'high', 'low', 'close', 'volume'] as const) {
        if (!Number.isFinite(cols[f][i]!)) throw new InputError(`bars row ${i}, field ${f}: ${cols[f][i]} is not a finite number`);
      }
    }
  }
  if (increasing) return;
  // Only unsorted input needs the slower duplicate search.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ts[a]! - ts[b]! || a - b);
  for (let k = 1; k < n; k++) {
    if (ts[order[k]!] === ts[order[k - 1]!]) {
      throw new InputError(`bars row ${order[k]}: duplicate timestamp ${new Date(ts[order[k]!]!).toISOString()} (also row ${order[k - 1]})`);
    }
  }
}

/**
 * Bulk load into a temp table of DOUBLE columns through the appender, 2,048-row DataChunks filled
 * from the typed arrays directly. For datasets/ modules.
 */
export async function appendColumns(conn: DuckDBConnection, table: string, columns: readonly Float64Array[], length: number): Promise<void> {
  const appender = await conn.createAppender(table, null, 'temp');
  const CHUNK = 2048;
  const types = columns.map(() => DuckDBDoubleType.instance);
  try {
    // The appender copies each chunk, so one chunk serves the whole load (half the time of a new one each).
    const chunk = DuckDBDataChunk.create(types, CHUNK);
    for (let off = 0; off < length; off += CHUNK) {
      const rc = Math.min(CHUNK, length - off);
      chunk.rowCount = rc;
      columns.forEach((c, j) => {
        const v = chunk.getColumnVector(j);
        doubleItems(v).set(c.subarray(off, off + rc));
        v.flush();
      });
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}
