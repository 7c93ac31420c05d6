import { timeframeToMs } from '../../engine/timeframe.ts';
import { rename, rm, writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { InputError } from '../../engine/errors.ts';
import { openStore, type Store } from '../../datasets/store.ts';

/** The DuckDB file: `--db`, else $CS_DB, else ./cryptosentinel.duckdb in the working directory. */
export const DEFAULT_DB = 'cryptosentinel.duckdb';

export function resolveDbPath(opt: string | undefined): string {
  return opt ?? process.env.CS_DB ?? DEFAULT_DB;
}

/** Runs `fn` on the store of `--db` (see resolveDbPath), closing it however `fn` ends. */
export async function withStore<T>(db: string | undefined, readOnly: boolean, fn: (s: Store) => Promise<T>): Promise<T> {
  const store = await openStore(resolveDbPath(db), { readOnly });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function addDbOption(cmd: Command): Command {
  return cmd.addOption(new Option('--db <file>', 'DuckDB file (default $CS_DB or ./cryptosentinel.duckdb)'));
}

export function addJsonOption(cmd: Command): Command {
  return cmd.option('--json', 'machine-readable JSON on stdout');
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)) + '\n');
}

/** A commander parser for a numeric flag: anything but a finite number is bad input (exit 2). */
export function parseNumberOption(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InputError(`${flag} expects a number, got "${v}"`);
    return n;
  };
}

/** commander collector for a repeatable flag (`--symbol A --symbol B` → ['A', 'B']). */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** `--param k=v` collector: repeated flags into a record; numbers parsed, booleans and text kept. */
export function collectParam(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InputError(`--param expects key=value, got "${value}"`);
  const key = value.slice(0, eq);
  const raw = value.slice(eq + 1);
  const num = Number(raw);
  const parsed = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(num) ? num : raw;
  return { ...previous, [key]: parsed };
}

/** Parse an ISO date/time or epoch-ms string to epoch ms (UTC); dates without a zone are UTC. */
export function parseTime(value: string, flag: string): number {
  if (/^\d{10,13}$/.test(value)) return Number(value.length === 10 ? Number(value) * 1000 : value);
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : /[zZ]|[+-]\d{2}:?\d{2}$/.test(value) ? value : `${value}Z`;
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) throw new InputError(`${flag}: cannot read "${value}" as a date (use YYYY-MM-DD, ISO 8601 or epoch ms)`);
  return t;
}

/**
 * Validate a command's parsed options with zod; the first problem becomes an InputError naming
 * the flag as typed (`cancelAll` → `--cancel-all`).
 */
/** A ccxt timeframe flag (1m, 5m, 15m, 1h, 4h, 1d, 1w). */
export const timeframeSchema = z.string().refine((tf) => {
  try {
    timeframeToMs(tf);
    return true;
  } catch {
    return false;
  }
}, 'must look like 1m, 5m, 15m, 1h, 4h, 1d');

export function parseOptions<T extends z.ZodType>(schema: T, raw: unknown): z.output<T> {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const flag = `--${String(i.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new InputError(`${flag}: ${i.message}`);
  }
  return r.data;
}

/** Writes an `--out` file atomically (temp file, then rename): a failure leaves any old file as it was. */
export async function writeOutFile(out: string, text: string): Promise<void> {
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new InputError(`--out ${out}: ${(err as Error).message}`);
  }
}
