import { z } from 'zod';
import { InputError, describeIssues } from '../engine/errors.ts';
import { runColumnar, type BacktestOptions, type JournalSink, type OrderGate, type RunOutput } from '../engine/backtest.ts';
import { buyAndHoldCurve } from '../engine/benchmark.ts';
import { computeMetrics, type Metrics } from '../engine/metrics.ts';
import { periodsPerYear, timeframeToMs } from '../engine/timeframe.ts';
import { hashValue } from '../engine/hash.ts';
import type { BarColumns } from '../engine/types.ts';
import type { LotMethod } from '../engine/portfolio.ts';
import type { SlippageModel } from '../engine/broker.ts';
import type { Store } from '../datasets/store.ts';
import { validateBars, type ValidationReport } from '../datasets/validate.ts';
import { loadStrategy, type LoadedStrategy } from './strategy-loader.ts';
import { isAgentStrategyRef } from './agents/strategy.ts';
import { isLlmStrategyRef } from './agents/llm/strategy.ts';
import { loadRunSentiment, withAgentRows } from './agents/environment.ts';
import { Journal, journalKillSwitch, type JournalEntry } from '../engine/journal.ts';
import { KillSwitch } from '../engine/killswitch.ts';
import { RiskConfigSchema, RiskEngine, riskGate, type RiskConfig } from '../engine/risk.ts';
import { varReport, type VarReport } from '../engine/var.ts';
import { DAY_MS } from '../engine/timeframe.ts';

/** What a user asks for; validated once here (CLI flags, notebooks and the MCP server all come through it). */
export const backtestRequestSchema = z
  .object({
    strategy: z.string().min(1),
    symbols: z.array(z.string().min(1)).min(1, 'give at least one --symbol'),
    timeframe: z.string().min(1),
    exchange: z.string().min(1).optional(),
    from: z.number().int().optional(),
    to: z.number().int().optional(),
    params: z.record(z.string(), z.unknown()).default({}),
    seed: z.number().int().default(1),
    cash: z.number().positive().default(10_000),
    takerFeeBps: z.number().min(0).default(10),
    makerFeeBps: z.number().min(0).optional(),
    slippageBps: z.number().min(0).default(0),
    latencyMs: z.number().int().min(0).default(0),
    fillOnClose: z.boolean().default(false),
    maxVolumeShare: z.number().positive().max(1).optional(),
    lotMethod: z.enum(['fifo', 'lifo', 'hifo']).default('fifo'),
    allowBadData: z.boolean().default(false),
    /** Constraint config (engine/risk.ts); every order passes it, breaches trip the kill switch. */
    risk: z.custom<RiskConfig>((v) => RiskConfigSchema.safeParse(v).success, 'invalid risk config').optional(),
    /** Journal every decision, order, fill and kill-switch transition (default on). */
    journal: z.boolean().default(true),
  })
  .refine((r) => r.from === undefined || r.to === undefined || r.from < r.to, { message: 'empty range: --from must be before --to', path: ['from'] });

export type BacktestRequest = z.input<typeof backtestRequestSchema>;

export interface DatasetRef {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: string;
  readonly rows: number;
  readonly first: number;
  readonly last: number;
  readonly datasetHash: string;
  readonly validation: ValidationReport;
}

export interface BacktestReport {
  readonly runId: string;
  readonly strategy: string;
  readonly strategySource: string;
  readonly codeHash: string;
  readonly params: unknown;
  readonly seed: number;
  readonly symbols: readonly string[];
  readonly timeframe: string;
  readonly from: number;
  readonly to: number;
  readonly datasets: readonly DatasetRef[];
  /** One hash for all the data the run saw (the per-symbol hashes, in order). */
  readonly datasetHash: string;
  readonly metrics: Metrics;
  /**
   * 1-day Value at Risk and expected shortfall of the strategy's equity, as fractions of equity
   * (historical, parametric, Monte Carlo; 95 % and 99 %), from its daily returns: the returns of
   * the whole portfolio, so correlation between positions is already in them. Null with fewer
   * than 20 daily returns.
   */
  readonly valueAtRisk: VarReport | null;
  readonly trades: RunOutput['trades'];
  readonly resultHash: string;
  readonly run: RunOutput;
  readonly benchmarkEquity: Float64Array;
  /** The run's audit journal (hash-chained); empty when journaling was turned off. */
  readonly journal: readonly JournalEntry[];
}

export interface BacktestHooks {
  readonly journal?: JournalSink;
  readonly gate?: OrderGate;
}

/** Loads the data, checks it, runs the strategy on the columnar path and computes the metrics. */
export async function runBacktest(store: Store, request: BacktestRequest, hooks: BacktestHooks = {}): Promise<BacktestReport> {
  const parsed = backtestRequestSchema.safeParse(request);
  if (!parsed.success) throw new InputError(describeIssues(parsed.error, 'request'));
  const req = parsed.data;
  try {
    timeframeToMs(req.timeframe);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  const loaded = await loadStrategy(req.strategy);
  const series: BarColumns[] = [];
  const datasets: DatasetRef[] = [];
  for (const symbol of req.symbols) {
    const exchange = req.exchange ?? (await pickExchange(store, symbol, req.timeframe));
    const key = { exchange, symbol, timeframe: req.timeframe };
    const range = { ...(req.from !== undefined ? { from: req.from } : {}), ...(req.to !== undefined ? { to: req.to } : {}) };
    const { columns, datasetHash } = await store.loadBars(key, range);
    if (columns.length === 0) {
      throw new InputError(`no ${symbol} ${req.timeframe} bars on ${exchange} in the requested range (${describeRange(req.from, req.to)})`);
    }
    const validation = validateBars(columns);
    if (!validation.ok && !req.allowBadData) {
      const bad = Object.entries(validation.checks)
        .filter(([, c]) => c.level === 'error' && c.count > 0)
        .map(([name, c]) => `${name}: ${c.count}${c.examples[0] ? ` (first at ${c.examples[0].time}: ${c.examples[0].detail})` : ''}`);
      throw new InputError(`${exchange} ${symbol} ${req.timeframe} has data errors — ${bad.join('; ')}. Fix the data (cs data validate) or rerun with --allow-bad-data`);
    }
    series.push(columns);
    datasets.push({ exchange, symbol, timeframe: req.timeframe, rows: columns.length, first: columns.ts[0]!, last: columns.ts[columns.length - 1]!, datasetHash, validation });
  }
  if (usesAgentData(req.strategy)) {
    // Agent strategies read sentiment fenced at the replay clock: preload the run's range.
    const sentiment = await loadRunSentiment(store, req.symbols, series);
    return withAgentRows(sentiment ? { sentiment } : undefined, () => runLoaded(loaded, req, series, datasets, hooks));
  }
  return runLoaded(loaded, req, series, datasets, hooks);
}

/** Strategies that read the run's agent data (sentiment): persona:*, debate and llm:*. */
export function usesAgentData(ref: string): boolean {
  return isAgentStrategyRef(ref) || isLlmStrategyRef(ref);
}

/** The pure part after loading: used directly by sweeps that already hold the data in memory. */
export function runLoaded(
  loaded: LoadedStrategy,
  req: z.output<typeof backtestRequestSchema>,
  series: readonly BarColumns[],
  datasets: readonly DatasetRef[],
  hooks: BacktestHooks = {},
): BacktestReport {
  const slippage: SlippageModel = req.slippageBps > 0 ? { kind: 'fixed', bps: req.slippageBps } : { kind: 'none' };
  const datasetHash = datasets.length === 1 ? datasets[0]!.datasetHash : hashValue(datasets.map((d) => d.datasetHash));
  const journal = hooks.journal ?? (req.journal ? new Journal() : undefined);
  let gate = hooks.gate;
  let killSwitch: KillSwitch | undefined;
  if (!gate && req.risk) {
    killSwitch = new KillSwitch(journal instanceof Journal ? { onTransition: journalKillSwitch(journal) } : {});
    gate = riskGate(new RiskEngine(req.risk, { killSwitch }));
  }
  const opts: BacktestOptions = {
    strategy: loaded.strategy,
    params: req.params,
    seed: req.seed,
    cash: req.cash,
    lotMethod: req.lotMethod as LotMethod,
    broker: {
      takerFeeBps: req.takerFeeBps,
      makerFeeBps: req.makerFeeBps ?? req.takerFeeBps,
      slippage,
      latencyMs: req.latencyMs,
      fillTiming: req.fillOnClose ? 'close' : 'next-open',
      maxVolumeShare: req.maxVolumeShare ?? Infinity,
    },
    ...(journal ? { journal } : {}),
    ...(gate ? { gate } : {}),
    ...(killSwitch ? { killSwitch } : {}),
    provenance: { codeHash: loaded.codeHash, datasetHash, source: loaded.source },
  };
  const run = runColumnar(opts, series);
  const tfMs = timeframeToMs(req.timeframe);
  const benchmarkEquity = buyAndHoldCurve(series, run.curve.ts, req.cash);
  const metrics = computeMetrics({
    equity: run.curve.equity,
    ts: run.curve.ts,
    periodsPerYear: periodsPerYear(tfMs),
    trades: run.trades,
    exposure: run.curve.exposure,
    tradedNotional: run.tradedNotional,
    benchmarkEquity,
  });
  const entries = journal instanceof Journal ? journal.entries() : [];
  // Same result and same journal → same id, so storing a rerun replaces instead of duplicating.
  const head = entries.length > 0 ? entries[entries.length - 1]!.hash : '';
  return {
    valueAtRisk: dailyVar(run.curve.ts, run.curve.equity, req.seed),
    runId: `run-${(head ? hashValue([run.resultHash, head]) : run.resultHash).slice(0, 16)}`,
    strategy: loaded.strategy.name,
    strategySource: loaded.source,
    codeHash: loaded.codeHash,
    params: run.params,
    seed: run.seed,
    symbols: req.symbols,
    timeframe: req.timeframe,
    from: run.curve.ts[0]!,
    to: run.curve.ts[run.curve.ts.length - 1]!,
    datasets,
    datasetHash,
    metrics,
    trades: run.trades,
    resultHash: run.resultHash,
    run,
    benchmarkEquity,
    journal: entries,
  };
}

/** Daily returns of an equity curve sampled at the last point of each UTC day, then their VaR/ES. */
function dailyVar(ts: Float64Array, equity: Float64Array, seed: number): VarReport | null {
  const closes: number[] = [];
  for (let i = 0; i < ts.length; i++) {
    const day = Math.floor(ts[i]! / DAY_MS);
    const next = i + 1 < ts.length ? Math.floor(ts[i + 1]! / DAY_MS) : Infinity;
    if (next !== day) closes.push(equity[i]!);
  }
  const r = new Float64Array(Math.max(0, closes.length - 1));
  for (let i = 1; i < closes.length; i++) r[i - 1] = closes[i]! / closes[i - 1]! - 1;
  if (r.length < 20 || !r.every(Number.isFinite)) return null;
  return varReport([1], [r], { seed, paths: 10_000 });
}

/** Without --exchange, the one exchange that has this symbol and timeframe. */
export async function pickExchange(store: Store, symbol: string, timeframe: string): Promise<string> {
  const all = await store.listDatasets();
  const matches = all.filter((d) => d.symbol === symbol && d.timeframe === timeframe);
  if (matches.length === 1) return matches[0]!.exchange;
  if (matches.length === 0) {
    const have = all.map((d) => `${d.exchange} ${d.symbol} ${d.timeframe}`).join(', ') || 'nothing';
    throw new InputError(
      `no ${symbol} ${timeframe} data in ${store.path} (it has: ${have}). Load some first, e.g. ` +
        `cs data synth --symbol ${symbol} --timeframe ${timeframe} --from 2024-01-01 --to 2025-01-01 --seed 7`,
    );
  }
  throw new InputError(`${symbol} ${timeframe} exists on several exchanges (${matches.map((m) => m.exchange).join(', ')}): choose one with --exchange`);
}

function describeRange(from?: number, to?: number): string {
  const f = from === undefined ? 'start' : new Date(from).toISOString();
  const t = to === undefined ? 'end' : new Date(to).toISOString();
  return `${f} → ${t}`;
}

/** The JSON a user or CI sees: metrics, trades, seed, hashes, params (no bulky curves). */
export function reportJson(r: BacktestReport): Record<string, unknown> {
  return {
    runId: r.runId,
    strategy: r.strategy,
    params: r.params,
    seed: r.seed,
    symbols: r.symbols,
    timeframe: r.timeframe,
    from: new Date(r.from).toISOString(),
    to: new Date(r.to).toISOString(),
    datasetHash: r.datasetHash,
    codeHash: r.codeHash,
    resultHash: r.resultHash,
    metrics: r.metrics,
    valueAtRisk: r.valueAtRisk,
    trades: r.trades.map((t) => ({ ...t, entryTime: new Date(t.entryTs).toISOString(), exitTime: new Date(t.exitTs).toISOString() })),
    datasets: r.datasets.map((d) => ({ exchange: d.exchange, symbol: d.symbol, timeframe: d.timeframe, rows: d.rows, datasetHash: d.datasetHash, errors: d.validation.errors, warnings: d.validation.warnings })),
  };
}
