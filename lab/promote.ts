import { z } from 'zod';
import { CheckFailedError, InputError, describeIssues } from '../engine/errors.ts';
import { canonicalJson, hashValue } from '../engine/hash.ts';
import { RiskConfigSchema, type RiskConfig } from '../engine/risk.ts';
import type { RunIdentity, RunRecord } from '../datasets/runs.ts';
import { evaluateGate, subjectFromRun, type GateConfig, type GateReport } from './gate.ts';

/**
 * Promotion: the record that lets a strategy near real money. It pins exactly what passed the gate
 * (strategy code hash, parameters, dataset hash, the run's result hash, the gate report) and the
 * live risk limits, scaled down from the backtest's so the first live weeks risk a fraction of it.
 * The live bridge refuses real-money trading unless `verifyPromotion` accepts the record for the
 * code and parameters it is about to run.
 *
 * The record is deterministic: no wall-clock time, keys sorted, so promoting the same run with the
 * same settings twice gives byte-identical files; `recordHash` is sha256 of the canonical JSON of
 * every other field, so an edited record is detected.
 */

export const PROMOTION_KIND = 'cryptosentinel.promotion';

export interface PromotionRecord extends RunIdentity {
  readonly kind: typeof PROMOTION_KIND;
  readonly version: 1;
  readonly params: Record<string, unknown>;
  readonly gate: GateReport;
  /** Factor applied to every size limit (position qty and notional, order notional, daily loss). */
  readonly scale: number;
  /** Live limits for engine/risk.ts (RiskConfigSchema). */
  readonly limits: RiskConfig;
  readonly recordHash: string;
}

export interface PromoteOptions {
  readonly gate: GateConfig;
  /** 0 < scale ≤ 1; 0.1 by default. */
  readonly scale?: number;
  /** Limits to scale; by default derived from the run (largest position it took, its symbols, the gate's drawdown). */
  readonly baseLimits?: RiskConfig;
  /** sha256 of the strategy source as it is now: refuse when it differs from the run's. */
  readonly currentCodeHash?: string;
}

const SIZE_KEYS = ['maxPositionQty', 'maxPositionNotional', 'maxOrderNotional', 'maxDailyLoss'] as const;

function scaleScope<T extends Record<string, unknown>>(scope: T, f: number): T {
  const out: Record<string, unknown> = { ...scope };
  for (const k of SIZE_KEYS) if (typeof out[k] === 'number') out[k] = (out[k] as number) * f;
  return out as T;
}

/** Every size limit (global, per agent, per symbol) times `f`; fractions, counts and rules unchanged. */
export function scaleLimits(config: RiskConfig, f: number): RiskConfig {
  const out: Record<string, unknown> = scaleScope(config as Record<string, unknown>, f);
  if (config.agents) out.agents = Object.fromEntries(Object.entries(config.agents).map(([k, v]) => [k, scaleScope(v as Record<string, unknown>, f)]));
  if (config.symbols) out.symbols = Object.fromEntries(Object.entries(config.symbols).map(([k, v]) => [k, scaleScope(v as Record<string, unknown>, f)]));
  return RiskConfigSchema.parse(out);
}

/** Limits the backtest itself lived within: its largest entry notional, its symbols, the gate's drawdown. */
export function limitsFromRun(run: RunRecord, gate: GateConfig): RiskConfig {
  let maxNotional = 0;
  let allLong = true;
  for (const t of run.trades) {
    maxNotional = Math.max(maxNotional, Math.abs(t.qty * t.entryPrice));
    if (t.side !== 'long') allLong = false;
  }
  if (!(maxNotional > 0)) throw new InputError(`run ${run.runId} closed no trade, so there is no position size to scale: give --risk-config`);
  return RiskConfigSchema.parse({
    maxPositionNotional: maxNotional,
    maxOrderNotional: maxNotional,
    maxDrawdown: gate.maxDrawdown,
    allowedSymbols: [...run.symbols],
    ...(allLong ? { longOnly: true } : {}),
  });
}

function hashBody(body: Omit<PromotionRecord, 'recordHash'>): string {
  return hashValue(body);
}

/** Runs the gate on the run and, only if it passes, builds the record. A failed gate throws CheckFailedError. */
export function promote(run: RunRecord, opts: PromoteOptions): PromotionRecord {
  const scale = opts.scale ?? 0.1;
  if (!(scale > 0 && scale <= 1)) throw new InputError(`--scale must be in (0, 1], got ${scale}`);
  if (opts.currentCodeHash !== undefined && opts.currentCodeHash !== run.codeHash) {
    throw new CheckFailedError(`the strategy source (${run.strategySource}) changed since run ${run.runId} (code hash ${opts.currentCodeHash.slice(0, 12)} ≠ ${run.codeHash.slice(0, 12)}): re-run the backtest`);
  }
  const gate = evaluateGate(subjectFromRun(run), opts.gate);
  if (!gate.pass) {
    throw new CheckFailedError(`not promoted: the gate failed — ${gate.criteria.filter((c) => !c.pass).map((c) => c.message).join('; ')}`);
  }
  const limits = scaleLimits(opts.baseLimits ?? limitsFromRun(run, opts.gate), scale);
  const body: Omit<PromotionRecord, 'recordHash'> = {
    kind: PROMOTION_KIND,
    version: 1,
    runId: run.runId,
    strategy: run.strategy,
    strategySource: run.strategySource,
    codeHash: run.codeHash,
    params: run.params,
    seed: run.seed,
    symbols: run.symbols,
    timeframe: run.timeframe,
    datasetHash: run.datasetHash,
    resultHash: run.resultHash,
    gate,
    scale,
    limits,
  };
  return { ...body, recordHash: hashBody(body) };
}

/** The file form: canonical (sorted keys), indented for people, newline-terminated. */
export function promotionJson(record: PromotionRecord): string {
  return JSON.stringify(JSON.parse(canonicalJson(record)), null, 2) + '\n';
}

const recordSchema = z
  .object({
    kind: z.literal(PROMOTION_KIND),
    version: z.literal(1),
    runId: z.string(),
    strategy: z.string(),
    codeHash: z.string().regex(/^[0-9a-f]{64}$/),
    params: z.record(z.string(), z.unknown()),
    datasetHash: z.string(),
    gate: z.object({ pass: z.boolean() }).passthrough(),
    scale: z.number(),
    limits: z.record(z.string(), z.unknown()),
    recordHash: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .passthrough();

export type Verification = { readonly ok: true; readonly record: PromotionRecord } | { readonly ok: false; readonly reason: string };

/**
 * For the live bridge: does this record (parsed JSON from a file) promote exactly this code and
 * these parameters? Checks the shape, that nothing was edited (record hash), that the gate passed,
 * the code hash, and the parameters (as the strategy's schema outputs them, compared canonically).
 */
export function verifyPromotion(record: unknown, codeHash: string, params: unknown): Verification {
  const r = recordSchema.safeParse(record);
  if (!r.success) return { ok: false, reason: `not a promotion record: ${describeIssues(r.error, '(root)')}` };
  const { recordHash, ...body } = r.data as unknown as PromotionRecord;
  if (hashValue(body) !== recordHash) return { ok: false, reason: 'the record was modified after promotion (record hash mismatch)' };
  if (!r.data.gate.pass) return { ok: false, reason: 'the record says the gate failed' };
  if (r.data.codeHash !== codeHash) return { ok: false, reason: `strategy code hash ${codeHash.slice(0, 12)}… differs from the promoted ${r.data.codeHash.slice(0, 12)}…` };
  if (canonicalJson(params) !== canonicalJson(r.data.params)) return { ok: false, reason: `parameters ${canonicalJson(params)} differ from the promoted ${canonicalJson(r.data.params)}` };
  return { ok: true, record: r.data as unknown as PromotionRecord };
}
