import { basename, extname } from 'node:path';
import { existsSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { z } from 'zod';
import { InputError } from '../engine/errors.ts';
import type { Store } from './store.ts';
import { sqlString } from './import.ts';

/**
 * Time-stamped sentiment in the store: a Fear & Greed index history (one value 0–100 per
 * timestamp) and scored headlines (ts, symbol, source, title, score in [-1, 1]). Files come in
 * through DuckDB's own CSV/JSON readers; every row is then checked with zod (file and row named
 * on error) before one transaction writes them, so a bad file changes nothing.
 */
export interface FearGreedRow {
  readonly ts: number;
  readonly value: number;
  readonly source: string;
}

export interface HeadlineRow {
  readonly ts: number;
  /** 'BTC/USDT', 'BTC' or '*' (market-wide). */
  readonly symbol: string;
  readonly source: string;
  readonly title: string;
  readonly score: number;
}

/** Both kinds, each sorted by ts (then symbol, source, title). */
export interface SentimentRows {
  readonly fearGreed: readonly FearGreedRow[];
  readonly headlines: readonly HeadlineRow[];
}

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS sentiment_fear_greed (
  ts BIGINT NOT NULL PRIMARY KEY, value DOUBLE NOT NULL, source VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS sentiment_headlines (
  ts BIGINT NOT NULL, symbol VARCHAR NOT NULL, source VARCHAR NOT NULL, title VARCHAR NOT NULL, score DOUBLE NOT NULL,
  PRIMARY KEY (ts, symbol, source, title));
`;

/** Epoch seconds (10 digits), epoch ms, or an ISO 8601 date/time (UTC when it names no zone). */
export function parseStamp(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? (Math.abs(v) < 1e11 ? v * 1000 : v) : null;
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (/^-?\d+(\.\d+)?$/.test(s)) return parseStamp(Number(s));
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : /[zZ]|[+-]\d{2}:?\d{2}$/.test(s) ? s : `${s.replace(' ', 'T')}Z`;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
}

const stamp = z.unknown().transform((v, ctx) => {
  const t = parseStamp(v);
  if (t === null || !Number.isInteger(t)) {
    ctx.addIssue({ code: 'custom', message: `cannot read ${JSON.stringify(v)} as a time (epoch s/ms or ISO 8601)` });
    return z.NEVER;
  }
  return t;
});
const num = z.union([z.number(), z.string().trim().min(1).transform(Number)]).pipe(z.number().finite());

const fearGreedRowSchema = z.object({
  ts: stamp,
  value: num.pipe(z.number().min(0, 'must be 0–100').max(100, 'must be 0–100')),
  source: z.string().trim().min(1).default('fear-greed'),
});

const headlineRowSchema = z.object({
  ts: stamp,
  symbol: z.string().trim().min(1).default('*'),
  source: z.string().trim().min(1),
  title: z.string().trim().min(1, 'must not be empty').max(2000),
  /** Absent → scored by the lexicon scorer given to the import. */
  score: num.pipe(z.number().min(-1, 'must be in [-1, 1]').max(1, 'must be in [-1, 1]')).optional(),
});

/** Column names people use for the same thing (alternative.me, news exports). */
const ALIASES: Record<string, readonly string[]> = {
  ts: ['ts', 'timestamp', 'time', 'date', 'datetime', 'published', 'published_at', 'publishedat', 'created_at'],
  value: ['value', 'index', 'fng', 'fear_greed', 'score'],
  source: ['source', 'feed', 'publisher'],
  symbol: ['symbol', 'asset', 'coin', 'currency', 'ticker'],
  title: ['title', 'headline', 'text'],
  score: ['score', 'sentiment'],
};

function pick(row: Record<string, unknown>, field: string, avoid: readonly string[] = []): unknown {
  const lower = new Map(Object.keys(row).map((k) => [k.toLowerCase(), k]));
  for (const a of ALIASES[field]!) {
    const k = lower.get(a);
    if (k !== undefined && !avoid.includes(a)) return row[k] === null ? undefined : row[k];
  }
  return undefined;
}

/** Rows of a CSV or JSON file (array of objects, or alternative.me's `{ "data": [...] }`), as text/JSON values. */
async function readRows(conn: DuckDBConnection, file: string): Promise<Record<string, unknown>[]> {
  const ext = extname(file).toLowerCase();
  const f = sqlString(file);
  let sql: string;
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt') sql = `SELECT * FROM read_csv(${f}, header = true, all_varchar = true)`;
  else if (ext === '.json' || ext === '.jsonl' || ext === '.ndjson') {
    const desc = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_json(${f})`)).getRowObjectsJson();
    const data = desc.find((d) => String(d.column_name).toLowerCase() === 'data' && /\[\]$|^STRUCT|LIST/.test(String(d.column_type)));
    sql = data ? `SELECT unnest(data, recursive := true) FROM read_json(${f})` : `SELECT * FROM read_json(${f})`;
  } else throw new InputError(`${file}: give a .csv or .json file (got "${ext || 'no extension'}")`);
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } catch (err) {
    throw new InputError(`${file}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

function where(file: string, i: number, csv: boolean): string {
  return csv ? `${basename(file)} line ${i + 2}` : `${basename(file)} item ${i + 1}`;
}

function issue(file: string, i: number, csv: boolean, e: z.ZodError): InputError {
  const first = e.issues[0]!;
  return new InputError(`${where(file, i, csv)}: ${first.path.join('.') || 'row'}: ${first.message}`);
}

export interface ImportResult {
  readonly kind: 'fear-greed' | 'headlines';
  readonly rows: number;
  readonly first: number | null;
  readonly last: number | null;
}

/**
 * Imports a Fear & Greed history or a headlines file. `scoreText` scores headlines that carry no
 * score (lab/agents/sentiment.ts passes the lexicon scorer); a row without a score and no scorer
 * is an error.
 */
export async function importSentimentFile(store: Store, file: string, kind: 'fear-greed' | 'headlines', scoreText?: (title: string) => number): Promise<ImportResult> {
  if (!existsSync(file)) throw new InputError(`${file}: no such file`);
  if (store.readOnly) throw new InputError(`${store.path} is open read-only`);
  const csv = /\.(csv|tsv|txt)$/i.test(file);
  const defaultSource = basename(file, extname(file));
  return store.withConnection(async (conn) => {
    await conn.run(SCHEMA_SQL);
    const raw = await readRows(conn, file);
    if (raw.length === 0) throw new InputError(`${file}: no rows`);
    if (kind === 'fear-greed') {
      const rows = raw.map((r, i) => {
        const p = fearGreedRowSchema.safeParse({ ts: pick(r, 'ts'), value: pick(r, 'value'), source: pick(r, 'source') ?? 'fear-greed' });
        if (!p.success) throw issue(file, i, csv, p.error);
        return p.data;
      });
      checkUnique(rows.map((r) => String(r.ts)), file, csv, 'timestamp');
      await writeAll(conn, 'sentiment_fear_greed', rows.length, (app, i) => {
        const r = rows[i]!;
        app.appendBigInt(BigInt(r.ts));
        app.appendDouble(r.value);
        app.appendVarchar(r.source);
      });
      return { kind, rows: rows.length, first: Math.min(...rows.map((r) => r.ts)), last: Math.max(...rows.map((r) => r.ts)) };
    }
    const rows = raw.map((r, i) => {
      const p = headlineRowSchema.safeParse({
        ts: pick(r, 'ts'),
        symbol: pick(r, 'symbol'),
        source: pick(r, 'source') ?? defaultSource,
        title: pick(r, 'title'),
        score: pick(r, 'score'),
      });
      if (!p.success) throw issue(file, i, csv, p.error);
      let score = p.data.score;
      if (score === undefined) {
        if (!scoreText) throw new InputError(`${where(file, i, csv)}: score: missing, and no text scorer was given`);
        score = scoreText(p.data.title);
      }
      return { ...p.data, score } as HeadlineRow;
    });
    checkUnique(rows.map((r) => `${r.ts}|${r.symbol}|${r.source}|${r.title}`), file, csv, 'headline (ts, symbol, source, title)');
    await writeAll(conn, 'sentiment_headlines', rows.length, (app, i) => {
      const r = rows[i]!;
      app.appendBigInt(BigInt(r.ts));
      app.appendVarchar(r.symbol);
      app.appendVarchar(r.source);
      app.appendVarchar(r.title);
      app.appendDouble(r.score);
    });
    return { kind, rows: rows.length, first: Math.min(...rows.map((r) => r.ts)), last: Math.max(...rows.map((r) => r.ts)) };
  });
}

function checkUnique(keys: readonly string[], file: string, csv: boolean, what: string): void {
  const seen = new Map<string, number>();
  keys.forEach((k, i) => {
    const j = seen.get(k);
    if (j !== undefined) throw new InputError(`${where(file, i, csv)}: duplicate ${what}, first at ${where(file, j, csv)}`);
    seen.set(k, i);
  });
}

type Appender = Awaited<ReturnType<DuckDBConnection['createAppender']>>;

/** Stages the rows in a temp table, then upserts them in one transaction (rows with the same key are replaced). */
async function writeAll(conn: DuckDBConnection, table: string, n: number, row: (app: Appender, i: number) => void): Promise<void> {
  const stage = `_stage_${table}`;
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${stage} AS SELECT * FROM ${table} LIMIT 0`);
  try {
    const app = await conn.createAppender(stage, null, 'temp');
    try {
      for (let i = 0; i < n; i++) {
        row(app, i);
        app.endRow();
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
    await conn.run('BEGIN TRANSACTION');
    try {
      await conn.run(`INSERT OR REPLACE INTO ${table} SELECT * FROM ${stage}`);
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK');
      throw err;
    }
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${stage}`);
  }
}

/** The asset a symbol is about: 'BTC/USDT' → 'BTC'; '*' stays '*'. */
export function assetKey(symbol: string): string {
  return symbol === '*' ? '*' : (symbol.split('/')[0] ?? symbol).trim().toUpperCase();
}

export interface SentimentQuery {
  /** Only rows stamped at or before this (the fence). */
  readonly to: number;
  /** Only rows stamped at or after this (default: all history). */
  readonly from?: number;
  /** Headlines about these symbols' assets, plus market-wide ones (default: all). */
  readonly symbols?: readonly string[];
}

/** Rows for a run or a question, sorted by ts; empty when the store has no sentiment tables. */
export async function loadSentiment(store: Store, q: SentimentQuery): Promise<SentimentRows> {
  return store.withConnection(async (conn) => {
    const have = (await conn.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE table_name IN ('sentiment_fear_greed', 'sentiment_headlines')`)).getRowsJson().map((r) => String(r[0]));
    const range = `ts <= ${Math.floor(q.to)}${q.from !== undefined ? ` AND ts >= ${Math.floor(q.from)}` : ''}`;
    let fearGreed: FearGreedRow[] = [];
    let headlines: HeadlineRow[] = [];
    if (have.includes('sentiment_fear_greed')) {
      fearGreed = (await conn.runAndReadAll(`SELECT ts::DOUBLE, value, source FROM sentiment_fear_greed WHERE ${range} ORDER BY ts`)).getRowsJson().map((r) => ({ ts: Number(r[0]), value: Number(r[1]), source: String(r[2]) }));
    }
    if (have.includes('sentiment_headlines')) {
      const keys = q.symbols ? [...new Set(['*', ...q.symbols.map(assetKey)])] : null;
      const rows = (await conn.runAndReadAll(`SELECT ts::DOUBLE, symbol, source, title, score FROM sentiment_headlines WHERE ${range} ORDER BY ts, symbol, source, title`)).getRowsJson();
      headlines = rows
        .map((r) => ({ ts: Number(r[0]), symbol: String(r[1]), source: String(r[2]), title: String(r[3]), score: Number(r[4]) }))
        .filter((h) => keys === null || keys.includes(assetKey(h.symbol)));
    }
    return { fearGreed, headlines };
  });
}
