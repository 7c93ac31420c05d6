import { Option, type Command } from 'commander';
import { z } from 'zod';
import { CheckFailedError, InputError } from '../../../engine/errors.ts';
import { msToTimeframe, timeframeToMs } from '../../../engine/timeframe.ts';
import type { TimeRange } from '../../../datasets/store.ts';
import { importFile, IMPORT_FORMATS, type ImportFormat } from '../../../datasets/import.ts';
import { exportBars, type ExportFormat } from '../../../datasets/export.ts';
import { formatReport, validateBars } from '../../../datasets/validate.ts';
import { resampleBars } from '../../../datasets/resample.ts';
import { addDbOption, addJsonOption, parseTime, printJson, resolveDbPath, parseOptions, timeframeSchema, withStore } from '../options.ts';
import { registerDataSources } from './data-sources.ts';

/** `cs data import|validate|ls|export|resample` (plus `synth` and `download` from data-sources.ts). */
export function register(program: Command): void {
  const data = program.command('data').description('the DuckDB data store: import, validate, list, export and resample bars');
  registerImport(data);
  registerValidate(data);
  registerLs(data);
  registerExport(data);
  registerResample(data);
  registerDataSources(data);
}

const timeframe = timeframeSchema;
const keyFields = { exchange: z.string().trim().min(1), symbol: z.string().trim().min(1), timeframe };
const common = { db: z.string().optional(), json: z.boolean().optional() };


function keyOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--exchange <name>', 'exchange the bars belong to, e.g. binance')
    .requiredOption('--symbol <symbol>', 'symbol in ccxt form, e.g. BTC/USDT')
    .requiredOption('--timeframe <tf>', 'bar timeframe: 1m, 5m, 15m, 1h, 4h, 1d');
}

function rangeOptions(cmd: Command): Command {
  return cmd.option('--from <time>', 'first bar (YYYY-MM-DD, ISO 8601 or epoch ms; UTC)').option('--to <time>', 'end of the range, exclusive');
}

function rangeOf(o: { from?: string | undefined; to?: string | undefined }): TimeRange {
  const from = o.from === undefined ? undefined : parseTime(o.from, '--from');
  const to = o.to === undefined ? undefined : parseTime(o.to, '--to');
  if (from !== undefined && to !== undefined && to <= from) throw new InputError(`--to (${o.to}) must be after --from (${o.from})`);
  return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}

const iso = (t: number): string => new Date(t).toISOString().replace('.000Z', 'Z');

function registerImport(data: Command): void {
  const cmd = keyOptions(data.command('import').argument('<file>', 'CSV, Parquet, Arrow IPC, ccxt OHLCV JSON or LEAN bar file').description('import a bar file into the store (all or nothing)'))
    .addOption(new Option('--format <format>', 'file format (default: from the extension)').choices(IMPORT_FORMATS as string[]))
    .option('--date <YYYY-MM-DD>', 'LEAN files only: the date their ms-since-midnight times count from (default: from the file name)')
    .addHelpText(
      'after',
      '\nColumns are found by name (timestamp/datetime/date/time/open_time, open, high, low, close, volume);\n' +
        'times may be epoch s/ms or ISO text (UTC unless it says otherwise). Rows with a timestamp already\n' +
        'stored replace the stored ones. A bad file writes nothing; the error names the line and field.\n' +
        'Example: cs data import BTCUSDT_1h.csv --exchange binance --symbol BTC/USDT --timeframe 1h',
    );
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (file: string, raw: Record<string, unknown>) => {
    const o = parseOptions(z.object({ ...keyFields, ...common, format: z.enum(IMPORT_FORMATS as [ImportFormat, ...ImportFormat[]]).optional(), date: z.string().optional() }), raw);
    const r = await withStore(o.db, false, (s) =>
      importFile(s, file, { exchange: o.exchange, symbol: o.symbol, timeframe: o.timeframe, ...(o.format ? { format: o.format } : {}), ...(o.date ? { date: o.date } : {}) }),
    );
    if (o.json) printJson(r);
    else process.stdout.write(`imported ${r.rows} bars (${r.format}) ${iso(r.first)} → ${iso(r.last)} into ${o.exchange} ${o.symbol} ${o.timeframe}\n`);
  });
}

function registerValidate(data: Command): void {
  const cmd = rangeOptions(keyOptions(data.command('validate').description('check stored bars: duplicates, order, gaps, OHLC, prices, volume, outlier returns')))
    .option('--k <sigmas>', 'outlier threshold in robust (MAD) sigmas of log returns', '10')
    .addHelpText('after', '\nExit code 1 when an error-level check fails (gaps and outliers are warnings).\nExample: cs data validate --exchange binance --symbol BTC/USDT --timeframe 1h');
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (raw: Record<string, unknown>) => {
    const o = parseOptions(z.object({ ...keyFields, ...common, from: z.string().optional(), to: z.string().optional(), k: z.coerce.number().positive().finite() }), raw);
    const range = rangeOf(o);
    const { columns, datasetHash } = await withStore(o.db, true, (s) => s.loadBars(o, range));
    const report = validateBars(columns, { k: o.k });
    if (o.json) printJson({ key: { exchange: o.exchange, symbol: o.symbol, timeframe: o.timeframe }, datasetHash, ...report });
    else process.stdout.write(formatReport(report) + '\n');
    if (!report.ok) throw new CheckFailedError(`${o.exchange} ${o.symbol} ${o.timeframe}: ${report.errors} error(s) in the data`);
  });
}

function registerLs(data: Command): void {
  const cmd = data.command('ls').description('list the stored datasets with their row counts and time span');
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (raw: Record<string, unknown>) => {
    const o = parseOptions(z.object(common), raw);
    const list = await withStore(o.db, true, (s) => s.listDatasets());
    if (o.json) {
      printJson(list);
      return;
    }
    if (list.length === 0) {
      process.stdout.write(`no datasets in ${resolveDbPath(o.db)} (cs data import | synth | download)\n`);
      return;
    }
    const rows = list.map((d) => [d.exchange, d.symbol, d.timeframe, String(d.rows), iso(d.first), iso(d.last)]);
    const head = ['exchange', 'symbol', 'timeframe', 'rows', 'first', 'last'];
    const w = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
    for (const r of [head, ...rows]) process.stdout.write(r.map((c, j) => (j === 3 ? c.padStart(w[j]!) : c.padEnd(w[j]!))).join('  ').trimEnd() + '\n');
  });
}

function registerExport(data: Command): void {
  const cmd = rangeOptions(keyOptions(data.command('export').argument('<file>', 'output file').description('write stored bars to Parquet or CSV')))
    .addOption(new Option('--format <format>', 'output format (default: from the extension, else parquet)').choices(['parquet', 'csv']))
    .addHelpText('after', '\nColumns: timestamp (UTC open time), open, high, low, close, volume.\nExample: cs data export btc.parquet --exchange binance --symbol BTC/USDT --timeframe 1h');
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (file: string, raw: Record<string, unknown>) => {
    const o = parseOptions(z.object({ ...keyFields, ...common, from: z.string().optional(), to: z.string().optional(), format: z.enum(['parquet', 'csv']).optional() }), raw);
    const range = rangeOf(o);
    const r = await withStore(o.db, true, (s) => exportBars(s, o, file, { range, ...(o.format ? { format: o.format as ExportFormat } : {}) }));
    if (o.json) printJson(r);
    else process.stdout.write(`wrote ${r.rows} bars to ${r.file} (${r.format})\n`);
  });
}

function registerResample(data: Command): void {
  const cmd = data
    .command('resample')
    .description('build longer candles from stored ones (as exchanges do) and store them under the new timeframe')
    .requiredOption('--exchange <name>', 'exchange of the source bars')
    .requiredOption('--symbol <symbol>', 'symbol of the source bars')
    .option('--from-timeframe <tf>', 'timeframe of the stored source bars', '1m')
    .requiredOption('--to <tf>', 'target timeframe: 5m, 15m, 1h, 4h, 1d (a multiple of the source)')
    .option('--include-partial', 'keep an unfinished last candle (dropped by default)')
    .addHelpText('after', '\nExample: cs data resample --exchange binance --symbol BTC/USDT --from-timeframe 1m --to 1h');
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (raw: Record<string, unknown>) => {
    const o = parseOptions(
      z.object({ exchange: keyFields.exchange, symbol: keyFields.symbol, fromTimeframe: timeframe, to: timeframe, includePartial: z.boolean().optional(), ...common }),
      raw,
    );
    const target = timeframeToMs(o.to);
    const toTf = msToTimeframe(target);
    const r = await withStore(o.db, false, async (s) => {
      const { columns } = await s.loadBars({ exchange: o.exchange, symbol: o.symbol, timeframe: o.fromTimeframe });
      const out = resampleBars(columns, target, { includePartial: o.includePartial ?? false });
      if (out.length === 0) throw new InputError(`no complete ${toTf} candle in ${columns.length} ${o.fromTimeframe} bars (use --include-partial to keep an unfinished one)`);
      const w = await s.writeBars({ exchange: o.exchange, symbol: o.symbol, timeframe: toTf }, out);
      return { exchange: o.exchange, symbol: o.symbol, fromTimeframe: o.fromTimeframe, timeframe: toTf, sourceRows: columns.length, rows: out.length, first: out.ts[0]!, last: out.ts[out.length - 1]!, version: w.version };
    });
    if (o.json) printJson(r);
    else process.stdout.write(`resampled ${r.sourceRows} ${r.fromTimeframe} bars into ${r.rows} ${r.timeframe} bars (${iso(r.first)} → ${iso(r.last)})\n`);
  });
}
