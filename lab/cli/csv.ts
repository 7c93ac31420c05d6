import { readFileSync, statSync } from 'node:fs';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { InputError } from '../../engine/errors.ts';
import { sqlString } from '../../datasets/import.ts';

/**
 * A small CSV read through DuckDB for the CLI's file inputs (`cs metrics`, `cs indicator`): the
 * header first, then every cell as text in strict mode, so that a ragged line is DuckDB's own
 * error with its line number and each value can be checked (and named) by the caller.
 */
export interface CsvCells {
  readonly file: string;
  /** Header names, trimmed; unique (case-insensitively) and non-empty. */
  readonly names: readonly string[];
  /** Lower-cased names, for matching the usual column names. */
  readonly lower: readonly string[];
  readonly cells: readonly (readonly (string | null)[])[];
  /** "file line N, column "x"" — or "data row N" when blank lines make line numbers unsure. */
  where(row: number, column: string): string;
}

/** DuckDB's CSV errors span several lines ("CSV Error on Line: N", "Original Line: ..."); keep one. */
export function csvError(file: string, err: unknown): InputError {
  const msg = err instanceof Error ? err.message : String(err);
  const lines = msg.split('\n').map((s) => s.replace(/^[A-Za-z ]+Error: /, '').trim());
  const line = /Line: (\d+)/.exec(msg)?.[1];
  const original = lines.find((s) => s.startsWith('Original Line: '))?.slice('Original Line: '.length);
  const detail = lines.find((s) => s && !/^(CSV Error on Line|Original Line|LINE \d)/.test(s) && !s.startsWith('^')) ?? lines[0];
  return new InputError(`${line ? `${file} line ${line}` : file}: ${detail}${original !== undefined ? ` (${JSON.stringify(original)})` : ''}`, { cause: err });
}

export async function readCsvCells(file: string, con?: DuckDBConnection): Promise<CsvCells> {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    throw new InputError(`${file}: no such file`);
  }
  if (size === 0) throw new InputError(`${file}: the file is empty`);
  const dialect = `delim=',', quote='"', escape='"'`;
  const db = con ? undefined : await DuckDBInstance.create(':memory:');
  const c = con ?? (await db!.connect());
  let names: string[];
  let cells: (string | null)[][];
  try {
    try {
      const head = await c.runAndReadAll(`SELECT * FROM read_csv(${sqlString(file)}, header=false, all_varchar=true, null_padding=true, ${dialect}) LIMIT 1`);
      // null_padding pads the header to the widest line; those pads are not header cells.
      const first = (head.getRows()[0] ?? []) as (string | null)[];
      let end = first.length;
      while (end > 0 && first[end - 1] === null) end--;
      names = first.slice(0, end).map((v) => (v ?? '').trim());
    } catch (err) {
      throw csvError(file, err);
    }
    if (names.length === 0 || names.every((n) => n === '')) throw new InputError(`${file} line 1: no header`);
    const seen = new Set<string>();
    for (const n of names) {
      if (n === '') throw new InputError(`${file} line 1: a column has no name`);
      if (seen.has(n.toLowerCase())) throw new InputError(`${file} line 1: column "${n}" appears twice`);
      seen.add(n.toLowerCase());
    }
    try {
      const columns = `{${names.map((n) => `${sqlString(n)}: 'VARCHAR'`).join(', ')}}`;
      const body = await c.runAndReadAll(
        `SELECT * FROM read_csv(${sqlString(file)}, auto_detect=false, header=true, strict_mode=true, null_padding=false, ${dialect}, columns=${columns})`,
      );
      cells = body.getRows() as (string | null)[][];
    } catch (err) {
      throw csvError(file, err);
    }
  } finally {
    if (db) {
      c.closeSync();
      db.closeSync();
    }
  }
  if (cells.length === 0) throw new InputError(`${file}: no data rows after the header`);
  // DuckDB skips blank lines: name a file line only when lines and rows correspond one to one.
  const text = readFileSync(file);
  let newlines = 0;
  for (let i = 0; i < text.length; i++) if (text[i] === 0x0a) newlines++;
  const exactLines = (text[text.length - 1] === 0x0a ? newlines : newlines + 1) === cells.length + 1;
  return {
    file,
    names,
    lower: names.map((n) => n.toLowerCase()),
    cells,
    where: (row, column) => `${file} ${exactLines ? `line ${row + 2}` : `data row ${row + 1}`}, column "${column}"`,
  };
}
