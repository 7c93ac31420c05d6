import type { Command } from 'commander';
import { z } from 'zod';
import { InputError } from '../../../engine/errors.ts';
import {
  computeIndicator,
  describeParams,
  indicatorSpec,
  indicators,
  parseIndicatorParams,
  type OhlcvField,
  type OhlcvInput,
} from '../../../engine/indicators/index.ts';
import { addJsonOption, collectParam, parseTime, printJson } from '../options.ts';
import { readCsvCells } from '../csv.ts';

/**
 * `cs indicator <name> --input <csv> [--param k=v]... [--json]`: an indicator's whole series over
 * a CSV of bars; `cs indicator --list` lists the indicators and their parameters.
 */
const Options = z
  .object({
    input: z.string().min(1).optional(),
    param: z.record(z.string(), z.unknown()).optional(),
    json: z.boolean().optional(),
    list: z.boolean().optional(),
    last: z.coerce.number().int().min(1).max(1_000_000).default(10),
  })
  .strict();

const TS_NAMES = ['timestamp', 'datetime', 'date', 'time', 'ts', 'open_time'];
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function register(program: Command): void {
  const cmd = program
    .command('indicator')
    .argument('[name]', `indicator (${Object.keys(indicators).join(', ')})`)
    .description("compute an indicator's series over a CSV of bars, or --list the indicators")
    .option('--input <csv>', 'CSV with a header: close, and open/high/low/volume/timestamp when the indicator reads them')
    .option('--param <key=value>', 'indicator parameter, repeatable (e.g. --param period=14)', collectParam)
    .option('--list', 'list the indicators, their outputs and parameters (with defaults)')
    .option('--last <n>', 'rows shown in the table (without --json)', '10')
    .addHelpText(
      'after',
      '\nOutputs are NaN (JSON null) during warm-up; conventions follow TA-Lib (see engine/indicators/*.ts).\n' +
        'The timestamp column (timestamp/datetime/date/time/ts: ISO text, "YYYY-MM-DD HH:MM:SS" UTC, or epoch ms)\n' +
        'is needed by vwap (sessions reset at 00:00 UTC unless --param sessionMs=0).\n' +
        'Example: cs indicator rsi --input bars.csv --param period=14 --json',
    );
  addJsonOption(cmd);
  cmd.action(async (name: string | undefined, raw: Record<string, unknown>) => {
    const parsed = Options.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InputError(`--${String(issue.path[0] ?? '')}: ${issue.message}`);
    }
    const opts = parsed.data;
    if (opts.list) {
      list(opts.json === true);
      return;
    }
    if (name === undefined) throw new InputError('name an indicator (cs indicator --list shows them)');
    const spec = indicatorSpec(name);
    const params = parseIndicatorParams(name, opts.param ?? {});
    if (opts.input === undefined) throw new InputError('give the bars with --input <csv>');
    const bars = await readBarsCsv(opts.input, spec.inputs);
    let result;
    try {
      result = computeIndicator(name, bars.input, params);
    } catch (err) {
      if (err instanceof InputError) throw new InputError(`${opts.input}: ${err.message}`, { cause: err });
      throw err;
    }
    if (opts.json) {
      const outputs: Record<string, number[]> = {};
      for (const [k, v] of Object.entries(result.outputs)) outputs[k] = Array.from(v);
      printJson({ indicator: name, params: result.params, outputs });
      return;
    }
    process.stdout.write(formatTable(name, result.params, bars, result.outputs, opts.last));
  });
}

function list(json: boolean): void {
  const rows = Object.values(indicators).map((spec) => {
    const defaults = spec.params.safeParse({});
    return {
      name: spec.name,
      description: spec.description,
      params: defaults.success ? (defaults.data as Record<string, unknown>) : {},
      outputs: [...spec.outputs],
      inputs: [...spec.inputs],
    };
  });
  if (json) {
    printJson({ indicators: rows });
    return;
  }
  const w = Math.max(...rows.map((r) => r.name.length));
  const lines = rows.map((r) =>
    `${r.name.padEnd(w)}  ${r.description}\n${''.padEnd(w)}  params: ${describeParams(indicators[r.name]!)}; ` +
    `outputs: ${r.outputs.join(', ')}; reads: ${r.inputs.join(', ')}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

interface BarsCsv {
  readonly input: OhlcvInput;
  readonly ts?: Float64Array;
  readonly rows: number;
}

/**
 * Reads the columns an indicator needs with DuckDB's CSV reader: the header first, then every
 * cell as text in strict mode (a ragged line is DuckDB's error, with its line number); numbers
 * and times are then checked here so a bad cell is named by line and column.
 */
export async function readBarsCsv(file: string, needs: readonly OhlcvField[]): Promise<BarsCsv> {
  const { names, lower, cells, where } = await readCsvCells(file);
  const rows = cells.length;
  const numeric = (field: Exclude<OhlcvField, 'ts'>, required: boolean): Float64Array => {
    const j = lower.indexOf(field);
    if (j < 0) {
      if (required) throw new InputError(`${file}: no "${field}" column, which this indicator reads (header: ${names.join(', ')})`);
      return new Float64Array(rows).fill(NaN);
    }
    const out = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      const s = (cells[i]![j] ?? '').trim();
      if (s === '') throw new InputError(`${where(i, names[j]!)}: missing value`);
      if (!NUMBER.test(s)) throw new InputError(`${where(i, names[j]!)}: "${s}" is not a number`);
      out[i] = Number(s);
    }
    return out;
  };
  const open = numeric('open', needs.includes('open'));
  const high = numeric('high', needs.includes('high'));
  const low = numeric('low', needs.includes('low'));
  const close = numeric('close', needs.includes('close'));
  const volume = numeric('volume', needs.includes('volume'));

  let ts: Float64Array | undefined;
  const tj = lower.findIndex((n) => TS_NAMES.includes(n));
  if (tj >= 0) {
    ts = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      const s = (cells[i]![tj] ?? '').trim();
      const label = where(i, names[tj]!);
      if (s === '') throw new InputError(`${label}: missing time`);
      ts[i] = parseTime(s, label);
      if (i > 0 && !(ts[i]! > ts[i - 1]!)) throw new InputError(`${label}: "${s}" is not after the previous row's time`);
    }
  }
  return { input: { open, high, low, close, volume, ...(ts ? { ts } : {}) }, ...(ts ? { ts } : {}), rows };
}

function fmt(v: number): string {
  if (Number.isNaN(v)) return '-';
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e9 || a < 1e-4) ? v.toExponential(6) : v.toFixed(a >= 1000 ? 2 : 4);
}

function formatTable(name: string, params: Record<string, unknown>, bars: BarsCsv, outputs: Record<string, Float64Array>, last: number): string {
  const from = Math.max(0, bars.rows - last);
  const head = [...(bars.ts ? ['time (UTC)'] : ['row']), 'close', ...Object.keys(outputs)];
  const body: string[][] = [];
  for (let i = from; i < bars.rows; i++) {
    body.push([
      bars.ts ? new Date(bars.ts[i]!).toISOString().replace('T', ' ').replace(/\.000Z$/, '') : String(i + 1),
      fmt(bars.input.close[i]!),
      ...Object.values(outputs).map((o) => fmt(o[i]!)),
    ]);
  }
  const widths = head.map((h, j) => Math.max(h.length, ...body.map((r) => r[j]!.length)));
  const line = (r: string[]) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  ');
  const p = Object.entries(params).map(([k, v]) => `${k}=${String(v)}`).join(', ');
  return `${name}(${p}) over ${bars.rows} bars, last ${body.length}:\n${line(head)}\n${body.map(line).join('\n')}\n`;
}
