import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../engine/errors.ts';
import { describeKey, parseKey, type BarKey, type Store, type TimeRange } from './store.ts';
import { sqlString } from './import.ts';

export type ExportFormat = 'parquet' | 'csv';

export interface ExportOptions {
  readonly format?: ExportFormat;
  readonly range?: TimeRange;
}

export interface ExportResult {
  readonly file: string;
  readonly format: ExportFormat;
  readonly rows: number;
}

/**
 * Writes a dataset with DuckDB's COPY, oldest bar first, as `timestamp, open, high, low, close,
 * volume`. The timestamp is the bar's open time in UTC: a TIMESTAMP in Parquet and ISO 8601 with a
 * `Z` in CSV, so that `cs data import` reads either back to the same epoch-ms values. Written to a
 * temporary name and renamed, so a failed export never leaves half a file under the real name.
 */
export async function exportBars(store: Store, rawKey: BarKey, file: string, opts: ExportOptions = {}): Promise<ExportResult> {
  const key = parseKey(rawKey);
  const format = opts.format ?? (file.toLowerCase().endsWith('.csv') ? 'csv' : 'parquet');
  if (format !== 'csv' && format !== 'parquet') throw new InputError(`--format must be parquet or csv, got "${String(format)}"`);
  if (!existsSync(dirname(file)) || !statSync(dirname(file)).isDirectory()) throw new InputError(`${file}: directory ${dirname(file)} does not exist`);
  const from = opts.range?.from;
  const to = opts.range?.to;
  const where =
    `exchange = ${sqlString(key.exchange)} AND symbol = ${sqlString(key.symbol)} AND timeframe = ${sqlString(key.timeframe)}` +
    (from !== undefined ? ` AND ts >= ${Math.ceil(from)}` : '') +
    (to !== undefined ? ` AND ts < ${Math.ceil(to)}` : '');
  const time = format === 'csv' ? `strftime(make_timestamp(ts * 1000), '%Y-%m-%dT%H:%M:%S.%gZ')` : 'make_timestamp(ts * 1000)';
  const tmp = `${file}.${process.pid}.tmp`;
  return store.withConnection(async (conn) => {
    const n = Number((await conn.runAndReadAll(`SELECT count(*)::DOUBLE FROM bars WHERE ${where}`)).getRowsJson()[0]![0]);
    if (n === 0) throw new InputError(`${store.path}: no bars for ${describeKey(key)}${from !== undefined || to !== undefined ? ' in that range' : ''}`);
    const fmt = format === 'csv' ? `(FORMAT csv, HEADER true)` : `(FORMAT parquet)`;
    try {
      await conn.run(`COPY (SELECT ${time} AS timestamp, open, high, low, close, volume FROM bars WHERE ${where} ORDER BY ts) TO ${sqlString(tmp)} ${fmt}`);
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new InputError(`${file}: cannot write: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
    return { file, format, rows: n };
  });
}
