import { closeSync, fsyncSync, openSync } from 'node:fs';
import { open, readFile, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { InputError } from '../engine/errors.ts';
import { canonicalJson } from '../engine/hash.ts';
import { GENESIS, makeEntry, verify, type ChainHead, type EntryType, type JournalEntry, type JournalPayloads } from '../engine/journal.ts';
import type { Store } from './store.ts';

/**
 * Journal storage.
 *
 * (a) DuckDB, for backtests: table `journal(run_id, seq, ts, type, payload JSON, prev_hash, hash)`,
 *     one row per entry, queryable with SQL (`payload->>'$.breach.limit'`). `writeJournal` verifies
 *     the chain first and writes a run all-or-nothing; a run id is written once.
 * (b) An append-only JSONL file, for live use (`FileJournal`): one entry per line. `append`
 *     resolves only after the line is written and fsync'd; appends made in the same tick share
 *     one write + fsync (group commit). Reopening validates the whole chain, and a torn last line
 *     (a write cut by a crash: no trailing newline, or unparsable) is cut off. Acknowledged
 *     entries are never in a torn line, because they were fsync'd before being acknowledged.
 */

type Target = Store | DuckDBConnection;

const COLUMNS_SQL = `run_id VARCHAR NOT NULL, seq BIGINT NOT NULL, ts BIGINT NOT NULL, type VARCHAR NOT NULL,
  payload JSON NOT NULL, prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL`;
const TABLE_SQL = `CREATE TABLE IF NOT EXISTS journal (${COLUMNS_SQL}, PRIMARY KEY (run_id, seq))`;

async function withConn<T>(t: Target, fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  return 'withConnection' in t ? t.withConnection(fn) : fn(t);
}

/** Store one run's entries (all or nothing). Refuses a broken chain or an existing run id. */
export async function writeJournal(t: Target, runId: string, entries: readonly JournalEntry[]): Promise<number> {
  if (!runId.trim()) throw new InputError('run id must not be empty');
  const v = verify(entries);
  if (!v.ok) throw new InputError(`journal of run ${runId} does not verify: ${v.problem} at entry ${v.index + 1}, ${v.message}`);
  return withConn(t, async (c) => {
    await c.run(TABLE_SQL);
    const have = await c.runAndReadAll('SELECT count(*) AS n FROM journal WHERE run_id = $1', [runId]);
    if (Number(have.getRows()[0]![0]) > 0) throw new InputError(`run ${runId} already has a journal in the store`);
    await insertEntries(c, runId, entries);
    return entries.length;
  });
}

/** An entry's chain columns (seq, ts, type, payload, prev_hash, hash), appended in that order. */
export function appendEntryColumns(ap: DuckDBAppender, e: JournalEntry): void {
  ap.appendBigInt(BigInt(e.seq));
  ap.appendBigInt(BigInt(e.ts));
  ap.appendVarchar(e.type);
  ap.appendVarchar(canonicalJson(e.payload));
  ap.appendVarchar(e.prevHash);
  ap.appendVarchar(e.hash);
}

/** Append rows in one transaction, as they are (no chain check: exports of a damaged journal must work). */
async function insertEntries(c: DuckDBConnection, runId: string, entries: readonly JournalEntry[]): Promise<void> {
  await c.run('BEGIN TRANSACTION');
  try {
    const ap = await c.createAppender('journal');
    for (const e of entries) {
      ap.appendVarchar(runId);
      appendEntryColumns(ap, e);
      ap.endRow();
    }
    ap.flushSync();
    ap.closeSync();
    await c.run('COMMIT');
  } catch (err) {
    await c.run('ROLLBACK');
    throw err;
  }
}

/** The run's entries in seq order, exactly as written (not verified: call `verify`). */
export async function readJournal(t: Target, runId: string): Promise<JournalEntry[]> {
  return withConn(t, async (c) => {
    if (!(await hasTable(c))) return [];
    const r = await c.runAndReadAll(
      'SELECT seq, ts, type, payload::VARCHAR, prev_hash, hash FROM journal WHERE run_id = $1 ORDER BY seq',
      [runId],
    );
    return r.getRows().map(([seq, ts, type, payload, prevHash, hash]) => ({
      seq: Number(seq), ts: Number(ts), type: type as EntryType, payload: JSON.parse(String(payload)),
      prevHash: String(prevHash), hash: String(hash),
    }) as JournalEntry);
  });
}

export interface JournalRunInfo {
  readonly runId: string;
  readonly entries: number;
  readonly firstTs: number;
  readonly lastTs: number;
}

export async function listJournalRuns(t: Target): Promise<JournalRunInfo[]> {
  return withConn(t, async (c) => {
    if (!(await hasTable(c))) return [];
    const r = await c.runAndReadAll('SELECT run_id, count(*), min(ts), max(ts) FROM journal GROUP BY run_id ORDER BY min(ts), run_id');
    return r.getRows().map(([runId, n, a, b]) => ({ runId: String(runId), entries: Number(n), firstTs: Number(a), lastTs: Number(b) }));
  });
}

async function hasTable(c: DuckDBConnection): Promise<boolean> {
  const r = await c.runAndReadAll("SELECT count(*) FROM information_schema.tables WHERE table_name = 'journal'");
  return Number(r.getRows()[0]![0]) > 0;
}

export type JournalExportFormat = 'jsonl' | 'csv' | 'parquet';

/**
 * Write entries to a file. CSV and Parquet go through DuckDB's writers (payload as JSON text);
 * JSONL is the same line format as `FileJournal`, so an export can be verified like a live journal.
 */
export async function exportJournal(entries: readonly JournalEntry[], format: JournalExportFormat, outPath: string, runId = ''): Promise<void> {
  if (format === 'jsonl') {
    await writeFile(outPath, entries.map((e) => JSON.stringify(e) + '\n').join(''));
    return;
  }
  // Loaded here only: a live process appending to a file journal should not pay for DuckDB.
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    // No primary key here: a damaged journal (duplicate seqs) must still export for inspection.
    await c.run(`CREATE TABLE journal (${COLUMNS_SQL})`);
    await insertEntries(c, runId, entries);
    const opts = format === 'csv' ? '(FORMAT csv, HEADER true)' : '(FORMAT parquet)';
    await c.run(`COPY (SELECT * FROM journal ORDER BY seq) TO '${outPath.replaceAll("'", "''")}' ${opts}`);
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

// ---------------------------------------------------------------------------------------------
// JSONL file journal

export interface ReadFileResult {
  readonly entries: JournalEntry[];
  /** Bytes after the last complete, parsable line (a write cut by a crash), 0 if none. */
  readonly tornBytes: number;
  /** Length of the valid prefix in bytes. */
  readonly validBytes: number;
}

/** Parse a JSONL journal without changing it. A bad line other than the last → InputError with its line. */
export async function readJournalFile(path: string): Promise<ReadFileResult> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError(`${path}: no such journal file`);
    throw err;
  }
  const entries: JournalEntry[] = [];
  let pos = 0;
  let line = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    line++;
    if (nl < 0) break; // no newline: the write of this line never finished
    const text = buf.toString('utf8', pos, nl);
    let e: JournalEntry;
    try {
      e = JSON.parse(text) as JournalEntry;
    } catch {
      // Only the very last line can be torn; a bad line with more after it is damage.
      if (nl + 1 < buf.length) throw new InputError(`${path}:${line}: not a JSON journal entry`);
      break;
    }
    entries.push(e);
    pos = nl + 1;
  }
  return { entries, tornBytes: buf.length - pos, validBytes: pos };
}

export interface OpenedInfo {
  readonly entries: number;
  /** Bytes of a torn last line that were cut off on open. */
  readonly truncatedBytes: number;
}

export class FileJournal {
  private pending: string[] = [];
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  private flushing = false;
  private failure: unknown = null;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private last: ChainHead,
    private readonly list: JournalEntry[] | null,
    readonly opened: OpenedInfo,
  ) {}

  /**
   * Open (creating it if missing), validate the chain, cut a torn last line, continue the chain.
   * A chain that does not verify → InputError naming the line; nothing is changed in that case.
   * `keepEntries: false` keeps memory flat for long live sessions (then `entries()` is empty).
   */
  static async open(path: string, opts: { keepEntries?: boolean } = {}): Promise<FileJournal> {
    let entries: JournalEntry[] = [];
    let truncatedBytes = 0;
    const created = !(await exists(path));
    if (!created) {
      const r = await readJournalFile(path);
      const v = verify(r.entries);
      if (!v.ok) throw new InputError(`${path}:${v.index + 1}: ${v.problem}, ${v.message}`);
      entries = r.entries;
      if (r.tornBytes > 0) {
        await truncate(path, r.validBytes);
        truncatedBytes = r.tornBytes;
      }
    }
    const fh = await open(path, 'a');
    if (truncatedBytes > 0) await fh.sync();
    if (created) fsyncDir(dirname(path));
    const head = entries.length ? entries[entries.length - 1]! : GENESIS;
    const keep = opts.keepEntries ?? true;
    return new FileJournal(path, fh, { seq: head.seq, hash: head.hash }, keep ? entries : null, { entries: entries.length, truncatedBytes });
  }

  get head(): ChainHead {
    return { seq: this.last.seq, hash: this.last.hash };
  }

  entries(): readonly JournalEntry[] {
    return this.list ?? [];
  }

  /** Resolves with the entry once it is on disk (written and fsync'd). */
  append<T extends EntryType>(type: T, payload: JournalPayloads[T], ts: number): Promise<JournalEntry> {
    if (this.closed) return Promise.reject(new Error(`${this.path}: journal is closed`));
    if (this.failure) return Promise.reject(this.failure);
    const e = makeEntry(this.last, type, payload, ts);
    this.last = e;
    this.list?.push(e);
    this.pending.push(JSON.stringify(e) + '\n');
    const done = new Promise<JournalEntry>((resolve, reject) => this.waiters.push({ resolve: () => resolve(e), reject }));
    if (!this.scheduled && !this.flushing) {
      this.scheduled = true;
      // setImmediate, not a microtask: everything appended in this tick joins the same fsync.
      setImmediate(() => void this.flush());
    }
    return done;
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.flushing = true;
    while (this.pending.length > 0 && !this.failure) {
      const buf = Buffer.from(this.pending.join(''));
      const waiters = this.waiters;
      this.pending = [];
      this.waiters = [];
      try {
        for (let off = 0; off < buf.length; ) off += (await this.fh.write(buf, off)).bytesWritten;
        await this.fh.sync();
        for (const w of waiters) w.resolve();
      } catch (err) {
        // The in-memory chain is now ahead of the file: refuse everything after this.
        this.failure = err;
        for (const w of [...waiters, ...this.waiters]) w.reject(err);
        this.waiters = [];
      }
    }
    this.flushing = false;
  }

  /** Waits for pending appends, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing || this.scheduled || this.pending.length) {
      if (!this.flushing && !this.scheduled) await this.flush();
      else await new Promise((r) => setImmediate(r));
    }
    await this.fh.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Make a new file's directory entry durable too (a fsync'd file in a lost directory entry is lost). */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the file's own fsync still holds.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
