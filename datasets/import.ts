import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { tableFromIPC } from 'apache-arrow';
import { z } from 'zod';
import { InputError } from '../engine/errors.ts';
import { timeframeToMs } from '../engine/timeframe.ts';
import { parseKey, type BarKey, type Store } from './store.ts';

/**
 * Importing bar files into the store through DuckDB's own readers (read_csv, read_parquet,
 * read_json; Arrow IPC through apache-arrow, as DuckDB's arrow extension is not available offline).
 *
 * Every format is first turned into a "raw" temp table — rn (1-based position in the file), t (the
 * time column, any type), open … volume (any type) — then one SQL pipeline converts, checks and
 * stages it, and only a fully clean file reaches `bars`, in one transaction. The first problem found
 * is reported with the file, the line (CSV) / row (Parquet, Arrow) / element (JSON) and the field.
 */

export type ImportFormat = 'csv' | 'parquet' | 'arrow' | 'json' | 'lean';
export const IMPORT_FORMATS: readonly ImportFormat[] = ['csv', 'parquet', 'arrow', 'json', 'lean'];

export interface ImportOptions extends BarKey {
  readonly format?: ImportFormat;
  /**
   * For LEAN minute/second files, whose time column counts ms since midnight: the file's date
   * (YYYY-MM-DD or YYYYMMDD). Default: the 8-digit date in the file name.
   */
  readonly date?: string;
}

export interface ImportResult {
  readonly file: string;
  readonly format: ImportFormat;
  readonly key: BarKey;
  readonly rows: number;
  readonly first: number;
  readonly last: number;
  readonly version: string;
}

const optionsSchema = z.object({
  exchange: z.string(),
  symbol: z.string(),
  timeframe: z.string(),
  format: z.enum(['csv', 'parquet', 'arrow', 'json', 'lean']).optional(),
  date: z.string().regex(/^\d{4}-?\d{2}-?\d{2}$/, 'date must be YYYY-MM-DD or YYYYMMDD').optional(),
});

type Role = 'time' | 'open' | 'high' | 'low' | 'close' | 'volume';
const PRICE_ROLES = ['open', 'high', 'low', 'close', 'volume'] as const;

const norm = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');
const TIME_NAMES = ['timestamp', 'datetime', 'date', 'time', 'opentime', 'ts', 'unix', 'unixtimestamp', 'starttime', 'timems'];
const NAMES: Record<Exclude<Role, 'time' | 'volume'>, string[]> = {
  open: ['open', 'o', 'openprice'],
  high: ['high', 'h', 'highprice'],
  low: ['low', 'l', 'lowprice'],
  close: ['close', 'c', 'closeprice'],
};

/**
 * File column → role. Volume prefers the base-currency column when a file has several
 * (CryptoDataDownload: `volume_btc` is base, `volume` is quote), because ccxt's volume is base.
 */
export function mapColumns(columns: readonly string[], symbol: string): Record<Role, string> | { missing: Role[] } {
  const byNorm = new Map<string, string>();
  for (const c of columns) if (!byNorm.has(norm(c))) byNorm.set(norm(c), c);
  const pick = (cands: string[]): string | undefined => cands.map((c) => byNorm.get(c)).find((x) => x !== undefined);
  const base = norm(symbol.split(/[/:-]/)[0] ?? '');
  const volNames = [`volume${base}`, `${base}volume`, 'volume', 'vol', 'v', 'basevolume', 'volumebase', 'baseassetvolume'];
  const found: Partial<Record<Role, string>> = {
    time: pick(TIME_NAMES),
    open: pick(NAMES.open),
    high: pick(NAMES.high),
    low: pick(NAMES.low),
    close: pick(NAMES.close),
    volume: pick(volNames),
  };
  const missing = (Object.keys(found) as Role[]).filter((r) => !found[r]);
  return missing.length ? { missing } : (found as Record<Role, string>);
}

export function detectFormat(file: string): ImportFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  if (ext === '.arrow' || ext === '.feather' || ext === '.ipc' || ext === '.arrows') return 'arrow';
  if (ext === '.json') return 'json';
  // LEAN's minute/second bar files carry their date in the name and ms-since-midnight times.
  if (/_(minute|second)_[a-z0-9]+_\d{8}_trade/i.test(basename(file))) return 'lean';
  if (ext === '.csv' || ext === '.txt' || ext === '.tsv' || ext === '') return 'csv';
  throw new InputError(`${file}: cannot tell the format from the extension "${ext}"; pass --format (${IMPORT_FORMATS.join(', ')})`);
}

export const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;

interface Raw {
  /** Temp table with rn, t, open, high, low, close, volume. */
  readonly table: string;
  /** How to name a position for a person: "line 17", "row 3", "element 5". */
  readonly where: (rn: number) => string;
  /** File column name per role, for messages. */
  readonly names: Record<Role, string>;
  /** LEAN: t is ms since this midnight. */
  readonly leanMidnight?: number;
}

let seq = 0;

export async function importFile(store: Store, file: string, rawOpts: ImportOptions): Promise<ImportResult> {
  const o = optionsSchema.parse(rawOpts);
  const key = parseKey(o);
  const tfMs = timeframeToMs(key.timeframe);
  if (!existsSync(file) || !statSync(file).isFile()) throw new InputError(`${file}: no such file`);
  const format = o.format ?? detectFormat(file);
  const name = basename(file);
  const id = `${process.pid}_${++seq}`;
  return store.withConnection(async (conn) => {
    const temps: string[] = [];
    try {
      const raw = await readRaw(conn, file, name, format, key.symbol, o.date, id, temps);
      const stage = await stageBars(conn, raw, name, tfMs, id, temps);
      const w = await store.commitStaged(conn, key, stage.table);
      return { file, format, key, rows: stage.rows, first: stage.first, last: stage.last, version: w.version };
    } finally {
      for (const t of temps.reverse()) await conn.run(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
    }
  });
}

async function readRaw(conn: DuckDBConnection, file: string, name: string, format: ImportFormat, symbol: string, date: string | undefined, id: string, temps: string[]): Promise<Raw> {
  switch (format) {
    case 'csv':
    case 'lean':
      return readCsv(conn, file, name, format, symbol, date, id, temps);
    case 'parquet':
      return readNamed(conn, `read_parquet(${sqlString(file)}, file_row_number = true)`, 'file_row_number + 1', name, symbol, (rn) => `row ${rn}`, id, temps);
    case 'json':
      return readJson(conn, file, name, symbol, id, temps);
    case 'arrow':
      return readArrow(conn, file, name, symbol, id, temps);
  }
}

async function duck<T>(file: string, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof InputError) throw err;
    const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new InputError(`${file}: cannot read as ${what}: ${msg}`, { cause: err });
  }
}

async function readCsv(conn: DuckDBConnection, file: string, name: string, format: 'csv' | 'lean', symbol: string, date: string | undefined, id: string, temps: string[]): Promise<Raw> {
  // The strict sniff finds banner lines (CryptoDataDownload); one ragged row can throw it off the
  // delimiter, which the lenient sniff survives. The reading that finds more columns wins.
  type Sniff = [string, string, string, number, boolean, { name: string }[]];
  const sniffWith = async (lenient: boolean): Promise<Sniff | undefined> => {
    try {
      const r = await conn.runAndReadAll(`SELECT Delimiter, Quote, Escape, SkipRows, HasHeader, Columns FROM sniff_csv(${sqlString(file)}${lenient ? ', ignore_errors = true' : ''})`);
      return r.getRowsJson()[0] as Sniff | undefined;
    } catch {
      return undefined;
    }
  };
  const strict = await sniffWith(false);
  const lenient = await sniffWith(true);
  const best = !strict ? lenient : !lenient ? strict : lenient[5].length > strict[5].length ? lenient : strict;
  if (!best) await duck(name, 'CSV', () => conn.run(`SELECT * FROM sniff_csv(${sqlString(file)})`));
  const [delim, quote, escape, skipRows, hasHeader, cols] = best!;
  const colNames = cols.map((c) => c.name);
  let names: Record<Role, string>;
  let leanMidnight: number | undefined;
  if (format === 'lean' || !hasHeader) {
    if (colNames.length < 6) throw new InputError(`${name}: no header and only ${colNames.length} columns; expected time, open, high, low, close, volume`);
    if (format === 'lean' && colNames.length !== 6) {
      throw new InputError(`${name}: a LEAN file with ${colNames.length} columns is a quote (bid/ask) bar file; only trade bars (time, open, high, low, close, volume) are OHLCV`);
    }
    const [time, open, high, low, close, volume] = colNames as [string, string, string, string, string, string];
    names = { time, open, high, low, close, volume };
    if (format === 'lean') leanMidnight = leanDate(name, date);
  } else {
    const m = mapColumns(colNames, symbol);
    if ('missing' in m) throw new InputError(`${name}: no column for ${m.missing.join(', ')} (columns found: ${colNames.join(', ')})`);
    names = m;
  }
  const lit = (s: string) => sqlString(s === '(empty)' ? '' : s);
  const columns = colNames.map((c) => `${sqlString(c)}: ${PRICE_ROLES.some((r) => names[r] === c) ? "'DOUBLE'" : "'VARCHAR'"}`).join(', ');
  const rejects = `_imp_rej_${id}`;
  const scans = `_imp_scan_${id}`;
  const table = `_imp_raw_${id}`;
  temps.push(rejects, scans, table);
  // Typed price columns let DuckDB itself report the exact line of any unreadable number;
  // force_not_null turns an empty field into a cast error with its line instead of a silent NULL.
  const reader = `read_csv(${sqlString(file)}, auto_detect = false, delim = ${lit(delim)}, quote = ${lit(quote)}, escape = ${lit(escape)},
      skip = ${Number(skipRows)}, header = ${hasHeader ? 'true' : 'false'}, columns = {${columns}},
      force_not_null = [${PRICE_ROLES.map((r) => sqlString(names[r])).join(', ')}],
      store_rejects = true, rejects_table = ${sqlString(rejects)}, rejects_scan = ${sqlString(scans)})`;
  await duck(name, 'CSV', () =>
    conn.run(
      `CREATE TEMP TABLE ${table} AS SELECT row_number() OVER () AS rn, ${ident(names.time)} AS t,
         ${PRICE_ROLES.map((r) => `${ident(names[r])} AS ${r}`).join(', ')} FROM ${reader}`,
    ),
  );
  const rej = await conn.runAndReadAll(`SELECT line::DOUBLE, column_idx::DOUBLE, column_name, error_type::VARCHAR, csv_line, error_message FROM ${rejects} ORDER BY line, column_idx LIMIT 1`);
  const bad = rej.getRowsJson()[0];
  if (bad) {
    const [line, colIdx, colName, type, csvLine, msg] = bad as [number, number, string | null, string, string, string];
    if (type === 'CAST') {
      const value = splitCsv(csvLine, delim === '(empty)' ? ',' : delim)[colIdx - 1] ?? '';
      throw new InputError(`${name} line ${line}, field ${colName}: ${value.trim() === '' ? 'is empty' : `'${value}' is not a number`}`);
    }
    throw new InputError(`${name} line ${line}${colName ? `, field ${colName}` : ''}: ${type.toLowerCase()} (${msg.trim()})`);
  }
  const offset = Number(skipRows) + (hasHeader ? 1 : 0);
  return { table, names, where: (rn) => `line ${rn + offset}`, ...(leanMidnight !== undefined ? { leanMidnight } : {}) };
}

function splitCsv(line: string, delim: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (const ch of line) {
    if (ch === '"') q = !q;
    else if (ch === delim && !q) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function leanDate(name: string, date: string | undefined): number {
  const d = date ?? /_(\d{8})_/.exec(name)?.[1];
  if (!d) throw new InputError(`${name}: LEAN files count ms since midnight; the file name has no YYYYMMDD date, so pass --date`);
  const digits = d.replace(/-/g, '');
  const t = Date.UTC(Number(digits.slice(0, 4)), Number(digits.slice(4, 6)) - 1, Number(digits.slice(6, 8)));
  if (!Number.isFinite(t) || new Date(t).toISOString().slice(0, 10).replace(/-/g, '') !== digits) throw new InputError(`${name}: "${d}" is not a calendar date`);
  return t;
}

/** Parquet and JSON records: columns found by name. */
async function readNamed(conn: DuckDBConnection, source: string, rnExpr: string, name: string, symbol: string, where: (rn: number) => string, id: string, temps: string[]): Promise<Raw> {
  const desc = await duck(name, 'a table', () => conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`));
  const colNames = desc.getRowsJson().map((r) => String(r[0])).filter((c) => c !== 'file_row_number');
  const m = mapColumns(colNames, symbol);
  if ('missing' in m) throw new InputError(`${name}: no column for ${m.missing.join(', ')} (columns found: ${colNames.join(', ')})`);
  const table = `_imp_raw_${id}`;
  temps.push(table);
  await duck(name, 'a table', () =>
    conn.run(`CREATE TEMP TABLE ${table} AS SELECT ${rnExpr} AS rn, ${ident(m.time)} AS t, ${PRICE_ROLES.map((r) => `${ident(m[r])} AS ${r}`).join(', ')} FROM ${source}`),
  );
  return { table, names: m, where };
}

async function readJson(conn: DuckDBConnection, file: string, name: string, symbol: string, id: string, temps: string[]): Promise<Raw> {
  const src = `read_json(${sqlString(file)}, format = 'array')`;
  const desc = await duck(name, 'JSON', () => conn.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`));
  const rows = desc.getRowsJson();
  const isArrays = rows.length === 1 && String(rows[0]![0]) === 'json' && String(rows[0]![1]).endsWith('[]');
  if (!isArrays) return readNamed(conn, src, 'row_number() OVER ()', name, symbol, (rn) => `element ${rn}`, id, temps);
  // ccxt fetchOHLCV: [[timestamp, open, high, low, close, volume], ...]
  const table = `_imp_raw_${id}`;
  temps.push(table);
  await duck(name, 'JSON', () =>
    conn.run(
      `CREATE TEMP TABLE ${table} AS SELECT row_number() OVER () AS rn, len(json) AS n, json[1] AS t,
         json[2] AS open, json[3] AS high, json[4] AS low, json[5] AS close, json[6] AS volume
       FROM read_json(${sqlString(file)}, format = 'array', records = false)`,
    ),
  );
  const short = (await conn.runAndReadAll(`SELECT rn::DOUBLE, n::DOUBLE FROM ${table} WHERE n IS NULL OR n < 6 ORDER BY rn LIMIT 1`)).getRowsJson()[0];
  if (short) throw new InputError(`${name} element ${short[0]}: expected [timestamp, open, high, low, close, volume], got ${short[1] ?? 0} values`);
  const names = { time: 'timestamp', open: 'open', high: 'high', low: 'low', close: 'close', volume: 'volume' };
  return { table, names, where: (rn) => `element ${rn}` };
}

async function readArrow(conn: DuckDBConnection, file: string, name: string, symbol: string, id: string, temps: string[]): Promise<Raw> {
  let table;
  try {
    table = tableFromIPC(readFileSync(file));
  } catch (err) {
    throw new InputError(`${name}: cannot read as Arrow IPC: ${(err as Error).message}`, { cause: err });
  }
  const colNames = table.schema.fields.map((f) => f.name);
  const m = mapColumns(colNames, symbol);
  if ('missing' in m) throw new InputError(`${name}: no column for ${m.missing.join(', ')} (columns found: ${colNames.join(', ')})`);
  const raw = `_imp_raw_${id}`;
  temps.push(raw);
  // Values go through DuckDB as text/doubles so that the same SQL converts and checks every format.
  await conn.run(`CREATE TEMP TABLE ${raw} (rn BIGINT, t VARCHAR, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE)`);
  const tv = table.getChild(m.time)!;
  const pv = PRICE_ROLES.map((r) => table.getChild(m[r])!);
  const appender = await conn.createAppender(raw, null, 'temp');
  try {
    for (let i = 0; i < table.numRows; i++) {
      appender.appendBigInt(BigInt(i + 1));
      const t = arrowTime(tv.get(i));
      if (t === null) appender.appendNull();
      else appender.appendVarchar(t);
      for (const v of pv) {
        const x = v.get(i) as unknown;
        const num = typeof x === 'bigint' ? Number(x) : typeof x === 'number' ? x : typeof x === 'string' && x.trim() !== '' ? Number(x) : null;
        if (num === null) appender.appendNull();
        else appender.appendDouble(num);
      }
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return { table: raw, names: m, where: (rn) => `row ${rn}` };
}

/** Arrow timestamps and dates come out of apache-arrow as epoch-ms numbers or Dates. */
function arrowTime(x: unknown): string | null {
  if (x === null || x === undefined) return null;
  if (x instanceof Date) return String(x.getTime());
  if (typeof x === 'bigint' || typeof x === 'number') return String(x);
  return String(x);
}

// ---- the common pipeline --------------------------------------------------------------------------

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/;
const STRPTIME_FORMATS = [
  '%Y-%m-%d %I-%p', // CryptoDataDownload hourly: 2019-10-17 09-AM
  '%Y%m%d %H:%M', // LEAN hour/daily: 20171217 10:00
  '%Y%m%d',
  '%Y-%m-%d %H:%M',
];

/**
 * Epoch numbers: the unit follows from the magnitude (seconds until the year 5138, then ms, µs,
 * ns). Converted through DECIMAL so no float rounding touches the ms value; finer units are floored.
 */
function epochExpr(col: string, maxAbs: number): string {
  const f = maxAbs < 1e11 ? '1000' : maxAbs < 1e14 ? '1' : maxAbs < 1e17 ? '0.001' : '0.000001';
  return `floor(TRY_CAST(${col} AS DECIMAL(38, 9)) * ${f})::BIGINT`;
}

async function timeExpr(conn: DuckDBConnection, raw: Raw, name: string): Promise<{ expr: string; expect: string }> {
  const type = String((await conn.runAndReadAll(`SELECT typeof(t) FROM ${raw.table} LIMIT 1`)).getRowsJson()[0]?.[0] ?? 'VARCHAR');
  if (raw.leanMidnight !== undefined) return { expr: `(TRY_CAST(t AS BIGINT) + ${raw.leanMidnight})`, expect: 'milliseconds since midnight' };
  if (/^TIMESTAMP WITH TIME ZONE$|^TIMESTAMPTZ$/.test(type)) return { expr: 'epoch_ms(t)', expect: 'a timestamp' };
  if (/^TIMESTAMP/.test(type) || type === 'DATE') return { expr: 'epoch_ms(t::TIMESTAMP)', expect: 'a timestamp' };
  const sample = `(SELECT trim(t::VARCHAR) AS s FROM ${raw.table} WHERE t IS NOT NULL LIMIT 1000)`;
  const maxAbs = async (): Promise<number> =>
    Number((await conn.runAndReadAll(`SELECT max(abs(TRY_CAST(s AS DOUBLE)))::DOUBLE FROM ${sample}`)).getRowsJson()[0]?.[0] ?? 0);
  if (NUMERIC.test(type)) return { expr: epochExpr('t', await maxAbs()), expect: 'an epoch timestamp' };
  // Text (or JSON): try each reading on a sample and keep the one that reads the most of it, so a
  // single bad value is reported at its line instead of making the whole column unreadable.
  const unq = (s: string) => `trim(${s}::VARCHAR, '"')`;
  const candidates: { read: (s: string) => string; expr: () => Promise<string>; expect: string }[] = [
    {
      read: (s) => `CASE WHEN regexp_full_match(${unq(s)}, '-?[0-9]+(\\.[0-9]+)?') THEN 1 END`,
      expr: async () => epochExpr(unq('t'), await maxAbs()),
      expect: 'an epoch timestamp',
    },
    { read: (s) => `TRY_CAST(${unq(s)} AS TIMESTAMPTZ)`, expr: async () => `epoch_ms(TRY_CAST(${unq('t')} AS TIMESTAMPTZ))`, expect: 'a date-time (ISO 8601 or YYYY-MM-DD HH:MM:SS)' },
    ...STRPTIME_FORMATS.map((fmt) => ({
      read: (s: string) => `try_strptime(${unq(s)}, ${sqlString(fmt)})`,
      expr: async () => `epoch_ms(try_strptime(${unq('t')}, ${sqlString(fmt)}))`,
      expect: `a date-time like ${fmt}`,
    })),
  ];
  let best: { c: (typeof candidates)[number]; ok: number } | undefined;
  for (const c of candidates) {
    const ok = Number((await conn.runAndReadAll(`SELECT count(*) FILTER (WHERE ${c.read('s')} IS NOT NULL)::DOUBLE FROM ${sample}`)).getRowsJson()[0]?.[0] ?? 0);
    if (ok > (best?.ok ?? 0)) best = { c, ok };
  }
  if (best) return { expr: await best.c.expr(), expect: best.c.expect };
  const first = (await conn.runAndReadAll(`SELECT s FROM ${sample} LIMIT 1`)).getRowsJson()[0]?.[0];
  throw new InputError(`${name}: cannot read column ${raw.names.time} as time (first value '${first ?? ''}'; expected epoch s/ms, ISO 8601 or YYYY-MM-DD HH:MM:SS, UTC)`);
}

const MIN_TS = Date.UTC(1990, 0, 1);
const MAX_TS = Date.UTC(2200, 0, 1);

async function stageBars(conn: DuckDBConnection, raw: Raw, name: string, tfMs: number, id: string, temps: string[]): Promise<{ table: string; rows: number; first: number; last: number }> {
  const { expr, expect } = await timeExpr(conn, raw, name);
  const stage = `_imp_stage_${id}`;
  temps.push(stage);
  const num = (c: string) => `TRY_CAST(trim(${c}::VARCHAR, '"') AS DOUBLE)`;
  await conn.run(
    `CREATE TEMP TABLE ${stage} AS SELECT rn, ${expr} AS ts, ${PRICE_ROLES.map((r) => `${num(r)} AS ${r}`).join(', ')},
       t::VARCHAR AS t_text, ${PRICE_ROLES.map((r) => `${r}::VARCHAR AS ${r}_text`).join(', ')}
     FROM ${raw.table}`,
  );
  const count = Number((await conn.runAndReadAll(`SELECT count(*)::DOUBLE FROM ${stage}`)).getRowsJson()[0]![0]);
  if (count === 0) throw new InputError(`${name}: no data rows`);

  const badField = `CASE WHEN ts IS NULL THEN 'time' ${PRICE_ROLES.map((r) => `WHEN ${r} IS NULL OR NOT isfinite(${r}) THEN '${r}'`).join(' ')} END`;
  const bad = (await conn.runAndReadAll(`SELECT rn::DOUBLE, ${badField} AS f, t_text, ${PRICE_ROLES.map((r) => `${r}_text`).join(', ')} FROM ${stage} WHERE ${badField} IS NOT NULL ORDER BY rn LIMIT 1`)).getRowsJson()[0];
  if (bad) {
    const [rn, role] = bad as [number, Role];
    const idx = role === 'time' ? 2 : 3 + PRICE_ROLES.indexOf(role as (typeof PRICE_ROLES)[number]);
    const value = bad[idx] as string | null;
    throw new InputError(
      `${name} ${raw.where(rn)}, field ${raw.names[role]}: ${value === null || value.trim() === '' ? 'is empty' : `'${value}' is not ${role === 'time' ? expect : 'a number'}`}`,
    );
  }
  const out = (await conn.runAndReadAll(`SELECT rn::DOUBLE, ts::DOUBLE, t_text FROM ${stage} WHERE ts < ${MIN_TS} OR ts >= ${MAX_TS} ORDER BY rn LIMIT 1`)).getRowsJson()[0];
  if (out) {
    throw new InputError(`${name} ${raw.where(Number(out[0]))}, field ${raw.names.time}: '${out[2]}' is ${new Date(Number(out[1])).toISOString()}, outside 1990–2200 (seconds read as milliseconds or the other way round?)`);
  }
  const dup = (await conn.runAndReadAll(`SELECT min(rn)::DOUBLE, max(rn)::DOUBLE, ts::DOUBLE FROM ${stage} GROUP BY ts HAVING count(*) > 1 ORDER BY min(rn) LIMIT 1`)).getRowsJson()[0];
  if (dup) {
    throw new InputError(`${name} ${raw.where(Number(dup[1]))}, field ${raw.names.time}: duplicate of ${raw.where(Number(dup[0]))} (${new Date(Number(dup[2])).toISOString()})`);
  }
  // Spacing against the declared timeframe: any step shorter than it, or a usual step longer
  // than it, means the file holds another timeframe than the one it is being stored under.
  const steps = (await conn.runAndReadAll(`SELECT min(d)::DOUBLE, mode(d)::DOUBLE FROM (SELECT ts - lag(ts) OVER (ORDER BY ts) AS d FROM ${stage})`)).getRowsJson()[0];
  const [minStep, usualStep] = [steps?.[0], steps?.[1]].map((x) => (x === null || x === undefined ? undefined : Number(x)));
  if (minStep !== undefined && minStep < tfMs) {
    throw new InputError(`${name}: bars only ${minStep / 1000} s apart, shorter than the timeframe (${tfMs / 1000} s); is --timeframe right?`);
  }
  if (usualStep !== undefined && usualStep !== tfMs) {
    throw new InputError(`${name}: bars are usually ${usualStep / 1000} s apart but the timeframe is ${tfMs / 1000} s; is --timeframe right?`);
  }
  const final = `${stage}_final`;
  temps.push(final);
  await conn.run(`CREATE TEMP TABLE ${final} AS SELECT ts, ${PRICE_ROLES.join(', ')} FROM ${stage} ORDER BY ts`);
  const [first, last] = (await conn.runAndReadAll(`SELECT min(ts)::DOUBLE, max(ts)::DOUBLE FROM ${final}`)).getRowsJson()[0] as [number, number];
  return { table: final, rows: count, first: Number(first), last: Number(last) };
}

