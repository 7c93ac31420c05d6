import { z } from 'zod';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { InputError, describeIssues } from '../engine/errors.ts';
import { DAY_MS } from '../engine/timeframe.ts';
import { moments, probabilisticSharpe } from '../engine/overfitting.ts';
import type { Store } from '../datasets/store.ts';
import { loadRun, type RunRecord } from '../datasets/runs.ts';
import { loadWalkForward, type StoredWalkForward } from '../datasets/walkforward.ts';
import { bestSweepRuns, listSweeps, loadSweepRunsWithReturns, type SweepRow } from '../datasets/sweeps.ts';
import { equityReturns } from './montecarlo.ts';
import { sweepOverfitting, type SweepOverfitting } from './sweep-overfitting.ts';

/**
 * The CI gate: does a backtest, sweep or walk-forward clear the bar for going live?
 *
 * Criteria (config file or flags; flags win): min Sharpe (default 1.0), max drawdown (default 20 %),
 * min history (default 12 months), and, only when set, min trades, max PBO and min DSR. A criterion
 * the subject cannot answer (PBO of a single run) FAILS: a gate that waves through what it cannot
 * measure is no gate.
 *
 * What each subject contributes:
 * - run: its metrics; history = last − first curve time; DSR = PSR against 0 of its per-bar
 *   returns (one run is one trial); no PBO.
 * - sweep: its best run by Sharpe; DSR with N = the sweep's stored runs and the variance of their
 *   per-period Sharpe ratios, skew and kurtosis from the best run's returns; PBO by CSCV on the
 *   stored per-bar returns of every run (lab/sweep-overfitting.ts).
 * - walkforward: the stitched out-of-sample metrics and its stored DSR and PBO.
 */

const camel = (k: string): string => k.replace(/[_-]([a-z])/g, (_m, c: string) => c.toUpperCase());
function camelizeKeys(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [camel(k), x]));
}

/** 0.2, "20%" or -0.2 → 0.2 */
const fraction = z
  .union([
    z.number(),
    z.string().transform((s, ctx) => {
      const m = /^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*%\s*$/.exec(s);
      if (!m) {
        ctx.issues.push({ code: 'custom', input: s, message: `cannot read "${s}" as a fraction (0.2 or "20%")` });
        return z.NEVER;
      }
      return Number(m[1]) / 100;
    }),
  ])
  .transform(Math.abs)
  .refine((v) => v <= 1, 'must be at most 100% (write 0.2 or "20%")');

/** Months as a number, or "12 months", "1y", "365d". */
const months = z.union([
  z.number().min(0),
  z.string().transform((s, ctx) => {
    const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(months?|mo|y|years?|d|days?|w|weeks?)\s*$/i.exec(s);
    if (!m) {
      ctx.issues.push({ code: 'custom', input: s, message: `cannot read "${s}" as a length of history (e.g. 12, "12 months", "1y", "365d")` });
      return z.NEVER;
    }
    const n = Number(m[1]);
    const u = m[2]!.toLowerCase();
    return u.startsWith('y') ? n * 12 : u.startsWith('d') ? n / MONTH_DAYS : u.startsWith('w') ? (n * 7) / MONTH_DAYS : n;
  }),
]);

/** A month of an average (Julian) year, so 12 months = 365.25 days. */
export const MONTH_DAYS = 365.25 / 12;

export const gateConfigSchema = z.preprocess(
  camelizeKeys,
  z.strictObject({
    minSharpe: z.number().default(1.0),
    maxDrawdown: fraction.default(0.2),
    minHistory: months.default(12),
    minTrades: z.number().int().min(0).optional(),
    maxPbo: z.number().min(0).max(1).optional(),
    minDsr: z.number().min(0).max(1).optional(),
  }),
);
export type GateConfig = z.output<typeof gateConfigSchema>;
export type GateConfigInput = z.input<typeof gateConfigSchema>;

export function parseGateConfig(raw: unknown, source = 'gate config'): GateConfig {
  const r = gateConfigSchema.safeParse(raw ?? {});
  if (!r.success) throw new InputError(`${source}: ${describeIssues(r.error, '(root)')}`);
  return r.data;
}

/** YAML or JSON text → raw object (validated later, after flags are merged in). */
export function readGateConfigText(text: string, source: string): Record<string, unknown> {
  try {
    const v = parseYaml(text) as unknown;
    if (v === null || v === undefined) return {};
    if (typeof v !== 'object' || Array.isArray(v)) throw new InputError(`${source}: expected a mapping of criteria (e.g. minSharpe: 1.2)`);
    return v as Record<string, unknown>;
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      throw new InputError(`${source}${pos ? `:${pos.line}:${pos.col}` : ''}: ${err.message.split('\n')[0]}`);
    }
    throw err;
  }
}

export type SubjectKind = 'run' | 'sweep' | 'walkforward';

/** What the gate judges: the numbers, whatever produced them. */
export interface GateSubject {
  readonly kind: SubjectKind;
  readonly id: string;
  readonly sharpe: number;
  /** Worst drawdown as a magnitude (0.25 = 25 %). */
  readonly maxDrawdown: number;
  readonly historyMs: number;
  readonly numTrades: number;
  readonly pbo: number | null;
  readonly dsr: number | null;
  /** How the numbers were obtained (shown in reports). */
  readonly notes: readonly string[];
}

export interface CriterionResult {
  readonly name: 'minSharpe' | 'maxDrawdown' | 'minHistory' | 'minTrades' | 'maxPbo' | 'minDsr';
  readonly pass: boolean;
  readonly actual: number | null;
  readonly threshold: number;
  readonly message: string;
}

export interface GateReport {
  readonly pass: boolean;
  readonly subject: GateSubject;
  readonly config: GateConfig;
  readonly criteria: readonly CriterionResult[];
}

const fmt = (x: number, d = 3): string => (Number.isFinite(x) ? String(Number(x.toFixed(d))) : String(x));
const pct = (x: number): string => `${fmt(x * 100, 2)}%`;

export function evaluateGate(subject: GateSubject, config: GateConfig): GateReport {
  const out: CriterionResult[] = [];
  const atLeast = (name: CriterionResult['name'], label: string, actual: number | null, min: number, show: (x: number) => string = fmt): void => {
    if (actual === null || Number.isNaN(actual)) {
      out.push({ name, pass: false, actual: null, threshold: min, message: `${label} is not available for this ${subject.kind}; required ≥ ${show(min)}` });
      return;
    }
    const pass = actual >= min;
    out.push({ name, pass, actual, threshold: min, message: `${label} ${show(actual)} ${pass ? '≥' : '<'} minimum ${show(min)}` });
  };
  const atMost = (name: CriterionResult['name'], label: string, actual: number | null, max: number, show: (x: number) => string = fmt): void => {
    if (actual === null || Number.isNaN(actual)) {
      out.push({ name, pass: false, actual: null, threshold: max, message: `${label} is not available for this ${subject.kind}; required ≤ ${show(max)}` });
      return;
    }
    const pass = actual <= max;
    out.push({ name, pass, actual, threshold: max, message: `${label} ${show(actual)} ${pass ? '≤' : '>'} maximum ${show(max)}` });
  };
  atLeast('minSharpe', 'Sharpe ratio', subject.sharpe, config.minSharpe);
  atMost('maxDrawdown', 'max drawdown', subject.maxDrawdown, config.maxDrawdown, pct);
  atLeast('minHistory', 'history (months)', subject.historyMs / (MONTH_DAYS * DAY_MS), config.minHistory, (x) => fmt(x, 2));
  if (config.minTrades !== undefined) atLeast('minTrades', 'trades', subject.numTrades, config.minTrades, (x) => String(x));
  if (config.maxPbo !== undefined) atMost('maxPbo', 'probability of backtest overfitting', subject.pbo, config.maxPbo);
  if (config.minDsr !== undefined) atLeast('minDsr', 'deflated Sharpe ratio', subject.dsr, config.minDsr);
  return { pass: out.every((c) => c.pass), subject, config, criteria: out };
}

// ---------------------------------------------------------------------------------------------
// Subjects from the store

const n = (v: unknown): number => (typeof v === 'number' ? v : NaN);

export function subjectFromRun(run: RunRecord): GateSubject {
  const r = equityReturns(run.curve.equity);
  const m = moments(r);
  const psr = r.length > 2 && m.std > 0 ? probabilisticSharpe({ sharpe: m.mean / m.std, n: m.n, skew: m.skew, kurtosis: m.kurtosis }) : NaN;
  return {
    kind: 'run',
    id: run.runId,
    sharpe: n(run.metrics.sharpe),
    maxDrawdown: Math.abs(n(run.metrics.maxDrawdown)),
    historyMs: run.curve.ts.length > 0 ? run.curve.ts[run.curve.ts.length - 1]! - run.curve.ts[0]! : run.toTs - run.fromTs,
    numTrades: n(run.metrics.numTrades),
    pbo: null,
    dsr: Number.isNaN(psr) ? null : psr,
    notes: ['DSR of a single run = PSR against 0 (one trial); gate the sweep or walk-forward it came from to count every trial', 'PBO needs many trials: not available for a single run'],
  };
}

export async function loadSubject(store: Store, kind: SubjectKind, id: string, opts: { pboBlocks?: number } = {}): Promise<GateSubject> {
  if (kind === 'run') {
    const run = await loadRun(store, id);
    if (!run) throw new InputError(`no run "${id}" in ${store.path} (cs backtest prints the run id)`);
    return subjectFromRun(run);
  }
  if (kind === 'walkforward') {
    const wf = await loadWalkForward(store, id);
    if (!wf) throw new InputError(`no walk-forward "${id}" in ${store.path} (cs walkforward prints its id)`);
    return subjectFromWalkForward(wf);
  }
  const info = (await listSweeps(store)).find((s) => s.sweepId === id);
  if (!info) throw new InputError(`no sweep "${id}" in ${store.path} (cs sweep prints its id)`);
  const rows = await loadSweepRunsWithReturns(store, id);
  return sweepSubject(store, id, rows, sweepOverfitting(rows, opts.pboBlocks !== undefined ? { blocks: opts.pboBlocks } : {}));
}

export function subjectFromWalkForward(wf: StoredWalkForward): GateSubject {
  const om = (wf.report.oosMetrics ?? {}) as Record<string, unknown>;
  const of = (wf.report.overfitting ?? {}) as Record<string, unknown>;
  const ts = wf.curve.ts;
  return {
    kind: 'walkforward',
    id: wf.id,
    sharpe: n(om.sharpe),
    maxDrawdown: Math.abs(n(om.maxDrawdown)),
    historyMs: ts.length > 1 ? ts[ts.length - 1]! - ts[0]! : 0,
    numTrades: n(om.numTrades),
    pbo: typeof of.pbo === 'number' ? of.pbo : null,
    dsr: typeof of.dsr === 'number' ? of.dsr : null,
    notes: ['metrics of the stitched out-of-sample curve', `DSR with N = ${String(of.trials)} trials per window`],
  };
}

/**
 * A sweep judged on its best run by Sharpe, with DSR and PBO over `rows` (every stored run, with
 * returns): a caller that already read the rows and computed `of` for a report passes them
 * rather than have the returns read and CSCV run a second time.
 */
export async function sweepSubject(store: Store, id: string, rows: readonly SweepRow[], of: SweepOverfitting): Promise<GateSubject> {
  const [best] = await bestSweepRuns(store, id, 'sharpe', { limit: 1 });
  if (!best) throw new InputError(`sweep "${id}" has no stored runs`);
  const bm = best.metrics as Record<string, unknown>;
  const ppy = n(bm.periodsPerYear);
  const periods = n(bm.periods);
  return {
    kind: 'sweep',
    id,
    sharpe: n(bm.sharpe),
    maxDrawdown: Math.abs(n(bm.maxDrawdown)),
    historyMs: (periods / ppy) * 365 * DAY_MS,
    numTrades: n(bm.numTrades),
    pbo: of.pbo,
    dsr: of.dsr,
    notes: [
      `best of ${rows.length} runs by Sharpe: ${JSON.stringify(best.params)}`,
      `DSR with N = ${of.trials} trials, skew and kurtosis of the best run's returns`,
      `PBO by CSCV over ${of.pboBlocks} blocks of the ${of.trials} runs' per-bar returns`,
      ...of.notes,
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Reports for CI

const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** JUnit XML: one testcase per criterion, a <failure> with the reason for each that failed. */
export function gateJunit(r: GateReport): string {
  const failures = r.criteria.filter((c) => !c.pass).length;
  const suite = `gate ${r.subject.kind} ${r.subject.id}`;
  const cases = r.criteria
    .map((c) => {
      const open = `    <testcase classname="${xmlEscape(`cs.gate.${r.subject.kind}`)}" name="${xmlEscape(c.name)}" time="0">`;
      return c.pass
        ? `${open}\n      <system-out>${xmlEscape(c.message)}</system-out>\n    </testcase>`
        : `${open}\n      <failure message="${xmlEscape(c.message)}" type="GateCriterion">${xmlEscape(c.message)}</failure>\n    </testcase>`;
    })
    .join('\n');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="cs gate" tests="${r.criteria.length}" failures="${failures}">\n` +
    `  <testsuite name="${xmlEscape(suite)}" tests="${r.criteria.length}" failures="${failures}" errors="0" skipped="0">\n` +
    `${cases}\n  </testsuite>\n</testsuites>\n`
  );
}

export function gateMarkdown(r: GateReport): string {
  const row = (c: CriterionResult): string => `| ${c.pass ? '✅' : '❌'} | ${c.name} | ${c.actual === null ? 'n/a' : fmt(c.actual, 4)} | ${fmt(c.threshold, 4)} | ${c.message.replace(/\|/g, '\\|')} |`;
  return [
    `## Gate ${r.pass ? 'PASSED' : 'FAILED'}: ${r.subject.kind} \`${r.subject.id}\``,
    '',
    '| | criterion | actual | threshold | why |',
    '|---|---|---|---|---|',
    ...r.criteria.map(row),
    '',
    ...r.subject.notes.map((x) => `- ${x}`),
    '',
  ].join('\n');
}

export function gateText(r: GateReport): string {
  const lines = r.criteria.map((c) => `  ${c.pass ? 'PASS' : 'FAIL'}  ${c.name.padEnd(12)} ${c.message}`);
  return `gate ${r.pass ? 'PASSED' : 'FAILED'} for ${r.subject.kind} ${r.subject.id}\n${lines.join('\n')}\n`;
}
