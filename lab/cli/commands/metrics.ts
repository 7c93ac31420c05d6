import { Option, type Command } from 'commander';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { z } from 'zod';
import { InputError } from '../../../engine/errors.ts';
import { computeMetrics, type Metrics, type ReturnMetrics } from '../../../engine/metrics.ts';
import { periodsPerYear as periodsPerYearOf, timeframeToMs } from '../../../engine/timeframe.ts';
import { addJsonOption, parseTime, printJson } from '../options.ts';
import { readCsvCells } from '../csv.ts';

type SeriesKind = 'returns' | 'equity';

const VALUE_NAMES: Record<SeriesKind, readonly string[]> = {
  returns: ['return', 'returns', 'ret'],
  equity: ['equity', 'value', 'nav', 'balance'],
};
const DATE_NAMES = ['date', 'datetime', 'timestamp', 'time', 'ts'];
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const MISSING = /^(|nan|NaN|NA|null)$/;

const Options = z
  .object({
    returns: z.string().min(1).optional(),
    equity: z.string().min(1).optional(),
    benchmark: z.string().min(1).optional(),
    column: z.string().min(1).optional(),
    periodsPerYear: z.coerce.number().positive().finite().optional(),
    timeframe: z.string().optional(),
    riskFree: z.coerce.number().gt(-1).finite(),
    json: z.boolean().optional(),
  })
  .strict();

export function register(program: Command): void {
  const cmd = program
    .command('metrics')
    .description('performance metrics of an outside return or equity series read from CSV (equity starts at 1.0 for returns)')
    .addOption(new Option('--returns <csv>', 'CSV of per-period simple returns (column return/returns/ret, or the single numeric column)').conflicts('equity'))
    .addOption(new Option('--equity <csv>', 'CSV of equity values (column equity/value/nav/balance, or the single numeric column)'))
    .option('--benchmark <csv>', 'a benchmark series of the same kind (returns or equity), reported beside')
    .option('--column <name>', 'the value column, when the file has several numeric columns')
    .option('--periods-per-year <n>', 'periods per year used to annualise (252 trading days, 365 for daily crypto)')
    .option('--timeframe <tf>', 'bar timeframe of a 24/7 market instead of --periods-per-year (1m, 1h, 1d...: 365 days of bars)')
    .option('--risk-free <rate>', 'annual risk-free rate, also the Sortino target', '0')
    .addHelpText(
      'after',
      '\nAn optional date column (date/datetime/timestamp/time/ts: ISO text or epoch ms) gives drawdown durations in ms.\n' +
        'A first row without a value (pandas pct_change) is skipped. Formulas: docs/metrics.md.\n' +
        'Example: cs metrics --returns daily.csv --periods-per-year 252 --json',
    );
  addJsonOption(cmd);
  cmd.action(async (raw: Record<string, unknown>) => {
    const parsed = Options.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const flag = `--${String(issue.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new InputError(`${flag}: ${issue.message}`);
    }
    const opts = parsed.data;
    const file = opts.returns ?? opts.equity;
    if (!file) throw new InputError('give the series with --returns <csv> or --equity <csv>');
    const kind: SeriesKind = opts.returns ? 'returns' : 'equity';
    const ppy = resolvePeriodsPerYear(opts.periodsPerYear, opts.timeframe);

    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    try {
      const series = await readSeriesCsv(con, file, kind, opts.column);
      const bench = opts.benchmark ? await readSeriesCsv(con, opts.benchmark, kind, opts.column) : undefined;
      const metrics = computeMetrics({
        equity: series.equity,
        ...(series.ts ? { ts: series.ts } : {}),
        periodsPerYear: ppy,
        riskFree: opts.riskFree,
        ...(bench ? { benchmarkEquity: bench.equity } : {}),
      });
      if (opts.json) printJson({ metrics });
      else process.stdout.write(formatTable(metrics, `${file} (${kind}, column "${series.column}", ${series.rows} rows)`));
    } finally {
      con.closeSync();
      db.closeSync();
    }
  });
}

function resolvePeriodsPerYear(ppy: number | undefined, timeframe: string | undefined): number {
  if (ppy !== undefined && timeframe !== undefined) throw new InputError('give either --periods-per-year or --timeframe, not both');
  if (ppy !== undefined) return ppy;
  if (timeframe === undefined) throw new InputError('give --periods-per-year <n> (e.g. 252, or 365 for daily crypto) or --timeframe <tf>');
  try {
    return periodsPerYearOf(timeframeToMs(timeframe));
  } catch (err) {
    throw new InputError(`--timeframe: ${(err as Error).message}`);
  }
}

export interface SeriesCsv {
  /** Equity points, the starting value first (1.0 for a return series). */
  readonly equity: Float64Array;
  readonly ts?: Float64Array;
  readonly column: string;
  readonly rows: number;
}

/**
 * Reads one value column (and an optional date column) with DuckDB's CSV reader: a first pass
 * takes the header, the second reads every cell as text in strict mode so that a ragged line is
 * an error DuckDB reports with its line number, and the values are checked here row by row.
 */
export async function readSeriesCsv(con: DuckDBConnection, file: string, kind: SeriesKind, column?: string): Promise<SeriesCsv> {
  const { names, lower, cells, where } = await readCsvCells(file, con);
  const dateIdx = lower.findIndex((n) => DATE_NAMES.includes(n));
  const valueIdx = pickValueColumn(file, names, lower, dateIdx, cells, kind, column);
  const valueName = names[valueIdx]!;

  let start = 0;
  // pandas' pct_change leaves the first return empty: that row is a starting point, not a value.
  if (kind === 'returns' && MISSING.test((cells[0]![valueIdx] ?? '').trim())) start = 1;
  const rows = cells.length - start;
  if (rows === 0) throw new InputError(`${where(0, valueName)}: no values`);

  const values = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const s = (cells[i + start]![valueIdx] ?? '').trim();
    if (s === '') throw new InputError(`${where(i + start, valueName)}: missing value`);
    if (!NUMBER.test(s)) throw new InputError(`${where(i + start, valueName)}: "${s}" is not a number`);
    const v = Number(s);
    if (kind === 'returns' && !(v > -1)) {
      throw new InputError(`${where(i + start, valueName)}: return ${s} is -100 % or worse; equity cannot compound past it`);
    }
    if (kind === 'equity' && !(v > 0)) throw new InputError(`${where(i + start, valueName)}: equity ${s} must be positive`);
    values[i] = v;
  }

  let dates: Float64Array | undefined;
  if (dateIdx >= 0) {
    const dateName = names[dateIdx]!;
    dates = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      const s = (cells[i + start]![dateIdx] ?? '').trim();
      const label = where(i + start, dateName);
      if (s === '') throw new InputError(`${label}: missing date`);
      dates[i] = parseTime(s, label);
      if (i > 0 && !(dates[i]! > dates[i - 1]!)) throw new InputError(`${label}: "${s}" is not after the previous row's date`);
    }
  }

  if (kind === 'equity') return { equity: values, ...(dates ? { ts: dates } : {}), column: valueName, rows };

  const equity = new Float64Array(rows + 1);
  equity[0] = 1;
  for (let i = 0; i < rows; i++) equity[i + 1] = equity[i]! * (1 + values[i]!);
  let ts: Float64Array | undefined;
  if (dates && rows >= 2) {
    // Each date closes its return's period; the starting point is one period (the first spacing)
    // before the first date.
    ts = new Float64Array(rows + 1);
    ts.set(dates, 1);
    ts[0] = 2 * dates[0]! - dates[1]!;
  }
  return { equity, ...(ts ? { ts } : {}), column: valueName, rows };
}

function pickValueColumn(
  file: string,
  names: readonly string[],
  lower: readonly string[],
  dateIdx: number,
  cells: readonly (readonly (string | null)[])[],
  kind: SeriesKind,
  column: string | undefined,
): number {
  if (column !== undefined) {
    const i = lower.indexOf(column.toLowerCase());
    if (i < 0) throw new InputError(`${file}: --column "${column}" is not in the header (${names.join(', ')})`);
    return i;
  }
  const named = lower.findIndex((n) => VALUE_NAMES[kind].includes(n));
  if (named >= 0) return named;
  const numeric: number[] = [];
  for (let j = 0; j < names.length; j++) {
    if (j === dateIdx) continue;
    if (cells.every((row) => {
      const s = (row[j] ?? '').trim();
      return MISSING.test(s) || NUMBER.test(s);
    })) numeric.push(j);
  }
  if (numeric.length === 1) return numeric[0]!;
  const expected = VALUE_NAMES[kind].join('/');
  if (numeric.length === 0) throw new InputError(`${file}: no numeric column; name the ${kind} column ${expected} (header: ${names.join(', ')})`);
  throw new InputError(
    `${file}: several numeric columns (${numeric.map((j) => names[j]).join(', ')}); name one ${expected} or pass --column`,
  );
}

const PERCENT = new Set(['totalReturn', 'cagr', 'volatility', 'maxDrawdown', 'winRate', 'exposure', 'riskFree']);
const DURATION_MS = new Set(['maxDrawdownDurationMs', 'avgHoldingTime']);

function formatDuration(ms: number): string {
  const d = Math.floor(ms / 86_400_000);
  const h = Math.floor((ms % 86_400_000) / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m ${Math.round((ms % 60_000) / 1000)}s`;
}

export function formatValue(key: string, v: number): string {
  if (Number.isNaN(v)) return 'n/a';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (PERCENT.has(key)) return `${(v * 100).toFixed(2)} %`;
  if (DURATION_MS.has(key)) return formatDuration(v);
  if (key === 'maxDrawdownDuration') return `${v} bars`;
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(3);
}

export function formatTable(m: Metrics, title: string): string {
  const keys = Object.keys(m).filter((k) => k !== 'benchmark') as (keyof Metrics)[];
  const bench: ReturnMetrics | undefined = m.benchmark;
  const rows = keys.map((k) => {
    const b = bench && k in bench ? formatValue(k, bench[k as keyof ReturnMetrics]) : '';
    return [k, formatValue(k, m[k] as number), b] as const;
  });
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length), 'series'.length);
  const head = bench ? `${''.padEnd(w0)}  ${'series'.padStart(w1)}  benchmark\n` : '';
  return `${title}\n${head}${rows.map(([k, v, b]) => `${k.padEnd(w0)}  ${v.padStart(w1)}${bench ? `  ${b.padStart(9)}` : ''}`.trimEnd()).join('\n')}\n`;
}
