import { closeSync, fstatSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import type { DuckDBConnection, DuckDBValue, DuckDBVector } from '@duckdb/node-api';
import { Field, Float64, makeData, RecordBatch, RecordBatchFileWriter, Schema, Struct, tableFromIPC } from 'apache-arrow';
import type { BarColumns } from '../engine/types.ts';
export { sliceBars } from '../engine/types.ts';
import { canonicalJson, hashFloatColumns } from '../engine/hash.ts';

/**
 * Moving bars between DuckDB, Arrow IPC cache files and typed arrays.
 *
 * Measured on this machine (test/bench/duckdb-load.ts, 10 M bars): DuckDB's JS value path is tens
 * of seconds, streaming its 2,048-row chunks several seconds, so `loadBars` reads DuckDB once per
 * dataset version into an Arrow IPC file and afterwards maps that file's buffers straight into
 * Float64Arrays without copying (the arrays are views on the file's bytes).
 */

export const BAR_FIELDS = ['ts', 'open', 'high', 'low', 'close', 'volume'] as const;
export type BarField = (typeof BAR_FIELDS)[number];

export interface BarKey {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: string;
}

/** Six columns of `n` float64s carved out of ONE buffer, so a worker gets the set in one transfer. */
export function allocBarArrays(n: number, shared: boolean): Record<BarField, Float64Array> {
  const bytes = n * 8 * BAR_FIELDS.length;
  const buf = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  const out = {} as Record<BarField, Float64Array>;
  BAR_FIELDS.forEach((f, j) => (out[f] = new Float64Array(buf, j * n * 8, n)));
  return out;
}

export function barColumns(symbol: string, timeframeMs: number, a: Record<BarField, Float64Array>): BarColumns {
  return { symbol, timeframeMs, length: a.ts.length, ts: a.ts, open: a.open, high: a.high, low: a.low, close: a.close, volume: a.volume };
}

/** First index with ts[i] >= t (ts ascending). */
export function lowerBound(ts: Float64Array, t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The content hash that travels with every result: the exact bytes of the six columns, prefixed
 * by the canonical key, so equal data under another symbol or timeframe hashes differently.
 */
export function datasetHash(key: BarKey, c: BarColumns): string {
  return hashFloatColumns([c.ts, c.open, c.high, c.low, c.close, c.volume], canonicalJson({ exchange: key.exchange, symbol: key.symbol, timeframe: key.timeframe }));
}

/**
 * The underlying Float64Array of a DOUBLE vector. The node-api keeps it private; reading it
 * avoids one JS number per cell, which is what makes the chunked path ~5× faster than getColumns().
 */
export function doubleItems(v: DuckDBVector): Float64Array {
  const items = (v as unknown as { items?: unknown }).items;
  if (items instanceof Float64Array) return items;
  throw new Error(`expected a DOUBLE vector, got ${v.type.toString()}`);
}

/**
 * Streams a query whose columns are all DOUBLE (NOT NULL) into preallocated arrays, chunk by chunk,
 * so the only memory beyond the result is one DuckDB chunk. `rows` must be the exact row count.
 */
export async function streamDoubles(
  conn: DuckDBConnection,
  sql: string,
  params: Record<string, DuckDBValue>,
  out: readonly Float64Array[],
  rows: number,
): Promise<number> {
  const result = await conn.stream(sql, params);
  let n = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const rc = chunk.rowCount;
    if (n + rc > rows) throw new Error(`dataset grew while being read (more than ${rows} rows)`);
    for (let j = 0; j < out.length; j++) out[j]!.set(doubleItems(chunk.getColumnVector(j)).subarray(0, rc), n);
    n += rc;
  }
  return n;
}

function copyToShared(a: Float64Array): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

// ---- Arrow IPC cache ---------------------------------------------------------------------------

export interface CacheMeta {
  readonly key: BarKey;
  readonly version: string;
  readonly hash: string;
}

/** Where each column's values start in a cache file: lets a scan read any window of rows directly. */
export interface CacheIndex {
  readonly key: BarKey;
  readonly version: string;
  readonly hash: string;
  readonly rows: number;
  readonly firstTs: number;
  readonly lastTs: number;
  /** Byte offset of each of BAR_FIELDS' float64 data in the .arrow file. */
  readonly offsets: readonly number[];
}

export const indexFileOf = (arrowFile: string): string => `${arrowFile}.idx.json`;

/**
 * Writes one record batch (so each column is one contiguous buffer on read) to `file` atomically:
 * a crash mid-write leaves a `.tmp` file that is never read, never a truncated cache. Beside it goes
 * a small index with the byte offset of each column, recorded as the writer hands out the columns'
 * own buffers, so a chunked scan can read rows [i, j) of a column with one pread.
 */
export async function writeArrowCache(file: string, c: BarColumns, meta: CacheMeta): Promise<CacheIndex> {
  const fields = BAR_FIELDS.map((f) => new Field(f, new Float64(), false));
  const schema = new Schema(
    fields,
    new Map([
      ['cryptosentinel.key', canonicalJson(meta.key)],
      ['cryptosentinel.version', meta.version],
      ['cryptosentinel.hash', meta.hash],
    ]),
  );
  const children = BAR_FIELDS.map((f) => makeData({ type: new Float64(), length: c.length, nullCount: 0, data: c[f] }));
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: c.length, nullCount: 0, children }));
  const tmp = `${file}.${process.pid}.tmp`;
  const offsets: number[] = BAR_FIELDS.map(() => -1);
  const fd = openSync(tmp, 'w');
  try {
    const writer = new RecordBatchFileWriter();
    writer.write(batch);
    writer.finish();
    // Iterating the writer hands out its pieces (views on the columns for the body), so the
    // file is written without assembling a second copy of the data in memory.
    let pos = 0;
    for await (const piece of writer) {
      BAR_FIELDS.forEach((f, j) => {
        const col = c[f];
        if (offsets[j] === -1 && col.length > 0 && piece.buffer === col.buffer && piece.byteOffset === col.byteOffset && piece.byteLength >= col.byteLength) offsets[j] = pos;
      });
      let off = 0;
      while (off < piece.byteLength) off += writeSync(fd, piece, off, piece.byteLength - off);
      pos += piece.byteLength;
    }
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  const index: CacheIndex = {
    key: meta.key,
    version: meta.version,
    hash: meta.hash,
    rows: c.length,
    firstTs: c.length ? c.ts[0]! : NaN,
    lastTs: c.length ? c.ts[c.length - 1]! : NaN,
    offsets,
  };
  writeFileSync(`${tmp}.idx`, JSON.stringify(index));
  renameSync(tmp, file);
  renameSync(`${tmp}.idx`, indexFileOf(file));
  return index;
}

export function readCacheIndex(file: string, meta: Omit<CacheMeta, 'hash'>): CacheIndex | undefined {
  try {
    const idx = JSON.parse(readFileSync(indexFileOf(file), 'utf8')) as CacheIndex;
    if (canonicalJson(idx.key) !== canonicalJson(meta.key) || idx.version !== meta.version) return undefined;
    if (idx.rows > 0 && idx.offsets.some((o) => !(o >= 0))) return undefined;
    return idx;
  } catch {
    return undefined;
  }
}

/**
 * Rows [from, to) of a cache file, `chunkRows` at a time, into six buffers reused for every chunk:
 * memory stays at 48 bytes × chunkRows whatever the history's length, and reused memory costs no
 * page faults. Each yielded chunk is valid only until the next one is requested.
 */
export function* scanArrowCache(file: string, idx: CacheIndex, from: number, to: number, chunkRows: number): Generator<Record<BarField, Float64Array>> {
  const size = Math.max(1, Math.min(chunkRows, to - from));
  const bufs = allocBarArrays(size, false);
  const fd = openSync(file, 'r');
  try {
    for (let i = from; i < to; i += size) {
      const n = Math.min(size, to - i);
      const out = {} as Record<BarField, Float64Array>;
      BAR_FIELDS.forEach((f, j) => {
        const dst = new Uint8Array(bufs[f].buffer, bufs[f].byteOffset, n * 8);
        let off = 0;
        while (off < dst.byteLength) {
          const r = readSync(fd, dst, off, dst.byteLength - off, idx.offsets[j]! + i * 8 + off);
          if (r === 0) throw new Error(`cache file ${file} is shorter than its index says`);
          off += r;
        }
        out[f] = bufs[f].subarray(0, n);
      });
      yield out;
    }
  } finally {
    closeSync(fd);
  }
}

/** One value of a column, read in place (binary searches over a cached ts column). */
export function readCachedValue(fd: number, idx: CacheIndex, field: BarField, row: number): number {
  const b = new Float64Array(1);
  readSync(fd, new Uint8Array(b.buffer), 0, 8, idx.offsets[BAR_FIELDS.indexOf(field)]! + row * 8);
  return b[0]!;
}

/**
 * Reads a cache file into one (Shared)ArrayBuffer and returns Float64Array views on it: no copy
 * after the read itself. Returns undefined when the file is not a cache of exactly `meta`.
 */
/**
 * A load buffer kept between loads. A fresh buffer costs first-touch page faults on every page —
 * on this class of VM more than reading the file — while a reload into a resident buffer does not.
 * The columns of a load are views of `bytes`, valid until the next load into the same holder.
 */
export interface LoadBuffer {
  bytes?: Uint8Array;
}

export function readArrowCache(file: string, meta: Omit<CacheMeta, 'hash'>, shared: boolean, reuse?: LoadBuffer): { columns: Record<BarField, Float64Array>; hash: string } | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  let bytes: Uint8Array;
  try {
    const size = fstatSync(fd).size;
    const kept = reuse?.bytes;
    if (kept !== undefined && kept.byteLength >= size && kept.buffer instanceof SharedArrayBuffer === shared) bytes = kept.subarray(0, size);
    else {
      bytes = new Uint8Array(shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
      if (reuse !== undefined) reuse.bytes = bytes;
    }
    let off = 0;
    while (off < size) {
      const n = readSync(fd, bytes, off, size - off, off);
      if (n === 0) return undefined;
      off += n;
    }
  } finally {
    closeSync(fd);
  }
  let table;
  try {
    table = tableFromIPC(bytes);
  } catch {
    return undefined;
  }
  const md = table.schema.metadata;
  if (md.get('cryptosentinel.key') !== canonicalJson(meta.key) || md.get('cryptosentinel.version') !== meta.version) return undefined;
  const hash = md.get('cryptosentinel.hash');
  if (!hash) return undefined;
  const columns = {} as Record<BarField, Float64Array>;
  for (const f of BAR_FIELDS) {
    const v = table.getChild(f);
    if (!v || v.data.length !== 1) return undefined;
    const values = v.data[0]!.values as unknown;
    if (!(values instanceof Float64Array) || values.length !== table.numRows) return undefined;
    // apache-arrow copies a misaligned buffer into a private one; keep the shared promise anyway.
    columns[f] = shared && values.buffer !== bytes.buffer ? copyToShared(values) : values;
  }
  return { columns, hash };
}
