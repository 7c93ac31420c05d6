import { mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { InputError } from '../../../engine/errors.ts';
import { periodsPerYear, timeframeToMs } from '../../../engine/timeframe.ts';
import { loadRun, type RunRecord } from '../../../datasets/runs.ts';
import { listSweeps, loadSweepRunsWithReturns, METRIC_COLUMNS, type SweepInfo } from '../../../datasets/sweeps.ts';
import { loadWalkForward, type StoredWalkForward } from '../../../datasets/walkforward.ts';
import type { Store } from '../../../datasets/store.ts';
import type { PriceSeries } from '../../../reports/tearsheet/index.ts';
import type { NamedValidation } from '../../../reports/tearsheet/blocks.ts';
import { backtestRequestSchema } from '../../backtest.ts';
import { evaluateGate, subjectFromRun, subjectFromWalkForward, sweepSubject, type GateConfig } from '../../gate.ts';
import { loadMarket } from '../../market-data.ts';
import { equityReturns, MC_METHODS, tradeEquityReturns } from '../../montecarlo.ts';
import { LOWER_IS_BETTER, parseMetric } from '../../sweep.ts';
import { DEFAULT_PBO_BLOCKS, parsePboBlocks, sweepOverfitting } from '../../sweep-overfitting.ts';
import { addDbOption, addJsonOption, parseNumberOption, parseOptions, printJson, writeOutFile } from '../options.ts';
import { gateConfigFrom, openExisting } from './gate.ts';
import { monteCarloOfRun, strategyRef } from './montecarlo.ts';

/** The tearsheet code (and ECharts with it) loads only when a report is written, not at every `cs` start. */
const tearsheets = () => import('../../../reports/tearsheet/index.ts');

/** What an id names in the store. */
type StoredKind = 'run' | 'sweep' | 'walkforward';
type ReportKind = StoredKind | 'montecarlo';

const DEFAULT_REPORT_DIR = 'cs-reports';
const FAN_MAX_PATHS = 20_000;

const optionsSchema = z.object({
  db: z.string().optional(),
  out: z.string().min(1).optional(),
  outDir: z.string().min(1).default(DEFAULT_REPORT_DIR),
  kind: z.enum(['run', 'sweep', 'walkforward']).optional(),
  gateConfig: z.string().optional(),
  montecarlo: z.boolean().default(false),
  method: z.enum(MC_METHODS).default('bootstrap'),
  paths: z.number().int().min(1).max(1_000_000).default(10_000),
  seed: z.number().int().default(1),
  ruinDrawdown: z.number().gt(0).max(1).default(0.3),
  blockLength: z.number().min(1).optional(),
  noise: z.number().min(0).optional(),
  metric: z.string().default('sharpe'),
  x: z.string().optional(),
  y: z.string().optional(),
  top: z.number().int().min(1).max(10_000).default(20),
  pboBlocks: z.number().int().optional(),
  json: z.boolean().optional(),
});
export type ReportOptions = z.input<typeof optionsSchema>;

/** A stored result, read once: its tearsheet and its gate verdict are built from the same read. */
type Stored =
  | { readonly kind: 'run'; readonly run: RunRecord }
  | { readonly kind: 'sweep'; readonly sweep: SweepInfo }
  | { readonly kind: 'walkforward'; readonly wf: StoredWalkForward };

async function loadStored(store: Store, kind: StoredKind, id: string): Promise<Stored | undefined> {
  if (kind === 'run') {
    const run = await loadRun(store, id);
    return run ? { kind, run } : undefined;
  }
  if (kind === 'sweep') {
    const sweep = (await listSweeps(store)).find((s) => s.sweepId === id);
    return sweep ? { kind, sweep } : undefined;
  }
  const wf = await loadWalkForward(store, id);
  return wf ? { kind, wf } : undefined;
}

/** What `id` names in the store; runs first, then sweeps, then walk-forwards. */
async function findStored(store: Store, id: string): Promise<Stored | undefined> {
  for (const kind of ['run', 'sweep', 'walkforward'] as const) {
    const found = await loadStored(store, kind, id);
    if (found) return found;
  }
  return undefined;
}

/** The run's bars (closes for the chart, validation for the table), or why they are missing. */
async function runMarket(store: Store, run: RunRecord): Promise<{ prices: PriceSeries[]; validation: NamedValidation[]; notes: string[] }> {
  const notes: string[] = [];
  try {
    const config = backtestRequestSchema.parse({ strategy: strategyRef(run.strategySource), symbols: [...run.symbols], timeframe: run.timeframe, from: run.fromTs, to: run.toTs, seed: run.seed, allowBadData: true });
    const market = await loadMarket(store, config, { shared: false });
    if (market.datasetHash !== run.datasetHash) notes.push(`the stored data changed since the run (dataset hash ${market.datasetHash.slice(0, 12)} ≠ ${run.datasetHash.slice(0, 12)}): prices and validation are of today's data`);
    return {
      prices: market.series.map((s) => ({ symbol: s.symbol, ts: s.ts, close: s.close })),
      validation: market.datasets.map((d) => ({ name: `${d.exchange} ${d.symbol} ${d.timeframe}`, report: d.validation })),
      notes,
    };
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    notes.push(`the run's market data could not be loaded: ${err.message}`);
    return { prices: [], validation: [], notes };
  }
}

/** The HTML of a stored run's tearsheet (also what `cs demo` writes). */
export async function runReportHtml(store: Store, run: RunRecord, gate: GateConfig): Promise<string> {
  const m = await runMarket(store, run);
  const { runTearsheet } = await tearsheets();
  return runTearsheet({
    run,
    periodsPerYear: periodsPerYear(timeframeToMs(run.timeframe)),
    prices: m.prices,
    validation: m.validation,
    notes: m.notes,
    gate: evaluateGate(subjectFromRun(run), gate),
  });
}

type Parsed = z.output<typeof optionsSchema>;

async function sweepHtml(store: Store, sweep: SweepInfo, o: Parsed, gate: GateConfig): Promise<string> {
  const id = sweep.sweepId;
  const rows = await loadSweepRunsWithReturns(store, id);
  if (rows.length === 0) throw new InputError(`sweep "${id}" has no stored runs`);
  const metric = parseMetric(o.metric);
  const names = new Set(rows.flatMap((r) => Object.keys((r.params ?? {}) as object)));
  for (const [flag, p] of [['--x', o.x], ['--y', o.y]] as const)
    if (p !== undefined && !names.has(p)) throw new InputError(`${flag}: sweep "${id}" has no parameter "${p}" (it has: ${[...names].join(', ') || 'none'})`);
  // CSCV over every run is the costly part of a sweep report: done once, for the table and the gate.
  const overfitting = sweepOverfitting(rows, { blocks: o.pboBlocks ?? DEFAULT_PBO_BLOCKS });
  const { sweepTearsheet } = await tearsheets();
  return sweepTearsheet({
    sweep,
    rows,
    overfitting,
    metric,
    lowerIsBetter: LOWER_IS_BETTER.has(metric),
    ...(o.x !== undefined ? { x: o.x } : {}),
    ...(o.y !== undefined ? { y: o.y } : {}),
    top: o.top,
    gate: evaluateGate(await sweepSubject(store, id, rows, overfitting), gate),
  });
}

async function monteCarloHtml(store: Store, o: Parsed, run: RunRecord): Promise<string> {
  const [{ monteCarloTearsheet }, { fanCollector }, { fmtTime }] = await Promise.all([tearsheets(), import('../../../reports/charts/index.ts'), import('../../../reports/tearsheet/format.ts')]);
  const bars = o.method !== 'shuffle';
  const steps = bars ? run.curve.equity.length - 1 : run.trades.length;
  // The fan keeps up to 200 checkpoints per path; past FAN_MAX_PATHS paths it is drawn from the
  // first ones (the percentile table still uses them all), which bounds memory at 32 MB.
  const fan = fanCollector(Math.max(1, steps), Math.min(o.paths, FAN_MAX_PATHS));
  const result = await monteCarloOfRun(store, run, {
    method: o.method,
    paths: o.paths,
    seed: o.seed,
    ruinDrawdown: o.ruinDrawdown,
    ...(o.blockLength !== undefined ? { blockLength: o.blockLength } : {}),
    ...(o.noise !== undefined ? { noise: o.noise } : {}),
    onPath: fan.observe,
  });
  const f = fan.fan();
  const observed = bars ? equityReturns(run.curve.equity) : tradeEquityReturns(run.trades, run.curve.ts, run.curve.equity);
  const xLabels = bars && steps > 0 ? f.steps.map((s) => fmtTime(run.curve.ts[s]!).slice(0, 16).replace('T', ' ')) : f.steps.map((s) => `#${s}`);
  return monteCarloTearsheet({ run, result, fan: f, fanPaths: Math.min(o.paths, FAN_MAX_PATHS), observedReturns: observed, xLabels, xName: bars ? 'time' : 'trade' });
}

export interface ReportResult {
  readonly path: string;
  readonly kind: ReportKind;
  readonly id: string;
  readonly bytes: number;
}

/** A file name from an id: anything but letters, digits, dot, dash and underscore becomes _. */
const fileSafe = (id: string): string => id.replace(/[^A-Za-z0-9._-]/g, '_');

/** Finds what `id` is, builds its tearsheet and writes it (atomically) to --out or --out-dir. */
export async function writeReport(id: string, raw: ReportOptions): Promise<ReportResult> {
  const o = parseOptions(optionsSchema, raw);
  if (o.pboBlocks !== undefined) parsePboBlocks(String(o.pboBlocks));
  const gate = gateConfigFrom({ ...(o.gateConfig !== undefined ? { config: o.gateConfig } : {}) });
  let kind: ReportKind;
  let html: string;
  const store = await openExisting(o.db);
  try {
    const found = o.kind ? await loadStored(store, o.kind, id) : await findStored(store, id);
    if (!found) throw new InputError(`no ${o.kind ?? 'run, sweep or walk-forward'} "${id}" in ${store.path} (cs backtest, cs sweep and cs walkforward print their ids)`);
    if (o.montecarlo && found.kind !== 'run') throw new InputError(`--montecarlo needs a run id; "${id}" is a ${found.kind}`);
    kind = o.montecarlo ? 'montecarlo' : found.kind;
    if (found.kind === 'run') html = o.montecarlo ? await monteCarloHtml(store, o, found.run) : await runReportHtml(store, found.run, gate);
    else if (found.kind === 'sweep') html = await sweepHtml(store, found.sweep, o, gate);
    else {
      const { walkForwardTearsheet } = await tearsheets();
      html = walkForwardTearsheet({ wf: found.wf, gate: evaluateGate(subjectFromWalkForward(found.wf), gate) });
    }
  } finally {
    await store.close();
  }
  // Ids usually start with their kind (run-…, sw-…, wf-…); a Monte Carlo report is named after its run.
  const stem = kind === 'montecarlo' || !/^(run|sw|wf)-/.test(id) ? `${kind}-${fileSafe(id)}` : fileSafe(id);
  const path = resolve(o.out ?? join(o.outDir, `${stem}.html`));
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (err) {
    throw new InputError(`cannot create ${dirname(path)}: ${(err as Error).message}`);
  }
  await writeOutFile(path, html);
  return { path, kind, id, bytes: statSync(path).size };
}

export function register(program: Command): void {
  const num = (flag: string) => parseNumberOption(flag);
  const cmd = program
    .command('report <id>')
    .description('write a self-contained HTML tearsheet of a stored run, sweep or walk-forward (or a Monte Carlo study of a run with --montecarlo)')
    .option('--out <file>', 'the HTML file to write (default <out-dir>/<kind>-<id>.html)')
    .option('--out-dir <dir>', 'directory for the report when --out is not given', DEFAULT_REPORT_DIR)
    .addOption(new Option('--kind <kind>', 'what the id is, when an id could name several').choices(['run', 'sweep', 'walkforward']))
    .option('--gate-config <file>', 'YAML/JSON gate criteria for the verdict table (as cs gate --config; default criteria otherwise)')
    .option('--montecarlo', 'a Monte Carlo report of the run: fan chart and percentile table')
    .addOption(new Option('--method <m>', 'with --montecarlo: shuffle, bootstrap, block, noise, synthetic').choices([...MC_METHODS]).default('bootstrap'))
    .option('--paths <n>', 'with --montecarlo: number of paths', num('--paths'), 10_000)
    .option('--seed <n>', 'with --montecarlo: seed (the same seed gives the same report)', num('--seed'), 1)
    .option('--ruin-drawdown <x>', 'with --montecarlo: a path is ruined when its drawdown reaches this fraction', num('--ruin-drawdown'), 0.3)
    .option('--block-length <bars>', 'with --montecarlo --method block: mean block length', num('--block-length'))
    .option('--noise <sigma>', 'with --montecarlo --method noise: price noise σ (log scale)', num('--noise'))
    .option('--metric <name>', `sweep: the metric mapped and ranked (${METRIC_COLUMNS.join(', ')})`, 'sharpe')
    .option('--x <param>', 'sweep: the heatmap’s x parameter (default: the one with most values)')
    .option('--y <param>', 'sweep: the heatmap’s y parameter (default: the one with the next most values)')
    .option('--top <n>', 'sweep: how many best runs to list', num('--top'), 20)
    .option('--pbo-blocks <S>', 'sweep: blocks of the CSCV split for PBO (even, default 16)', (v: string) => parsePboBlocks(v));
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (id: string, o: ReportOptions) => {
    const r = await writeReport(id, o);
    if (o.json) printJson({ path: r.path, kind: r.kind, id: r.id, bytes: r.bytes });
    else process.stdout.write(`${r.kind} report: ${r.path}\n`);
  });
}
