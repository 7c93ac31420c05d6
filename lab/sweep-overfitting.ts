import { InputError } from '../engine/errors.ts';
import { deflatedSharpe, moments, probabilityOfOverfitting, varianceOf } from '../engine/overfitting.ts';
import type { SweepRow } from '../datasets/sweeps.ts';

/**
 * Is the best run of a sweep skill or the luckiest of many? Two answers from the stored runs:
 * - the deflated Sharpe ratio of the best run by Sharpe: its PSR against the Sharpe ratio the best
 *   of N unskilled trials would reach, N = the runs actually made and the spread from the variance
 *   of their Sharpe ratios; skew and kurtosis from the best run's own returns;
 * - the probability of backtest overfitting by CSCV on the T×N matrix of the runs' per-bar returns.
 */

export const DEFAULT_PBO_BLOCKS = 16;

export interface SweepOverfitting {
  readonly trials: number;
  readonly bestRunKey: string | null;
  readonly bestParams: unknown;
  /** Annualised Sharpe ratio of the best run (as in its metrics). */
  readonly bestSharpe: number | null;
  /** Per-period Sharpe ratios (per bar, or per stored return for long runs): the best run's, and the variance across trials that deflates it. */
  readonly bestSharpePerPeriod: number | null;
  readonly varianceOfTrialSharpes: number | null;
  readonly expectedMaxSharpe: number | null;
  readonly dsr: number | null;
  readonly pbo: number | null;
  readonly pboBlocks: number;
  readonly pboCombinations: number;
  /** Returns per trial in the CSCV matrix (T). */
  readonly pboRows: number;
  /** Why a figure is null, when one is. */
  readonly notes: readonly string[];
}

/** S for CSCV from a flag: an even integer ≥ 2 (C(S, S/2) combinations; S = 16 gives 12,870). */
export function parsePboBlocks(v: string, flag = '--pbo-blocks'): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 2 || n % 2 !== 0 || n > 24) throw new InputError(`${flag} expects an even integer from 2 to 24, got "${v}"`);
  return n;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);
const orNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function sweepOverfitting(rows: readonly SweepRow[], opts: { blocks?: number } = {}): SweepOverfitting {
  const blocks = opts.blocks ?? DEFAULT_PBO_BLOCKS;
  const notes: string[] = [];
  let best: SweepRow | undefined;
  for (const r of rows) {
    const s = num(r.metrics.sharpe);
    if (Number.isFinite(s) && (!best || s > num(best.metrics.sharpe))) best = r;
  }
  // A run longer than MAX_RETURN_ROWS bars keeps returns over several bars each: then every
  // Sharpe ratio, T, skew and kurtosis of the DSR come from the stored series, on its clock.
  const coarse = best?.returns !== undefined && best.returns.length !== num(best.metrics.periods);
  const seriesSharpe = (r: SweepRow): number => {
    if (!r.returns) return NaN;
    const m = moments(r.returns);
    return m.std > 0 ? m.mean / m.std : NaN;
  };
  // Otherwise per-bar Sharpe ratios straight from the metrics (annualised by √periodsPerYear).
  const perPeriod = (r: SweepRow): number => (coarse ? seriesSharpe(r) : num(r.metrics.sharpe) / Math.sqrt(num(r.metrics.periodsPerYear)));
  const variance = varianceOf(rows.map(perPeriod));

  let dsr = NaN;
  let sr0 = NaN;
  if (!best) notes.push('no run has a finite Sharpe ratio: no DSR');
  else if (!best.returns) notes.push('the best run has no stored returns: no DSR');
  else {
    const m = moments(best.returns);
    const d = deflatedSharpe({ sharpe: perPeriod(best), n: coarse ? m.n : num(best.metrics.periods), skew: m.skew, kurtosis: m.kurtosis, trials: rows.length, varianceOfTrialSharpes: variance });
    dsr = d.dsr;
    sr0 = d.expectedMaxSharpe;
    if (coarse) notes.push(`runs of ${num(best.metrics.periods)} bars keep ${m.n} returns over ${Math.round(num(best.metrics.periods) / m.n)} bars each: DSR and PBO on that clock`);
  }

  let pbo: ReturnType<typeof probabilityOfOverfitting> | undefined;
  let T = 0;
  const cols = rows.map((r) => r.returns);
  if (rows.length < 2) notes.push('PBO needs at least 2 runs');
  else if (cols.some((c) => !c)) notes.push(`PBO needs every run's returns; ${cols.filter((c) => !c).length} of ${rows.length} have none (rerun the sweep to store them)`);
  else {
    // Every run is on the same market and clock; should lengths differ, the common recent span is used.
    T = Math.min(...cols.map((c) => c!.length));
    if (T < 2 * blocks) notes.push(`PBO needs at least ${2 * blocks} returns for ${blocks} blocks; the runs have ${T}`);
    else pbo = probabilityOfOverfitting(cols.map((c) => c!.subarray(c!.length - T)), { blocks });
  }
  return {
    trials: rows.length,
    bestRunKey: best?.runKey ?? null,
    bestParams: best?.params ?? null,
    bestSharpe: best ? num(best.metrics.sharpe) : null,
    bestSharpePerPeriod: best ? orNull(perPeriod(best)) : null,
    varianceOfTrialSharpes: rows.length > 0 ? orNull(variance) : null,
    expectedMaxSharpe: orNull(sr0),
    dsr: orNull(dsr),
    pbo: pbo?.pbo ?? null,
    pboBlocks: blocks,
    pboCombinations: pbo?.combinations ?? 0,
    pboRows: pbo ? T : 0,
    notes,
  };
}

/** Two lines for a terminal. */
export function describeOverfitting(o: SweepOverfitting): string {
  const f = (x: number | null, d = 3): string => (x === null ? 'n/a' : String(Number(x.toFixed(d))));
  return (
    `overfitting: ${o.trials} trials; best Sharpe ${f(o.bestSharpe)} → deflated Sharpe ratio ${f(o.dsr)} (luck alone: ${f(o.expectedMaxSharpe, 5)} per bar)\n` +
    `             PBO ${f(o.pbo)} by CSCV over ${o.pboBlocks} blocks (${o.pboCombinations} combinations of ${o.pboRows} bars)\n` +
    o.notes.map((n) => `             ${n}\n`).join('')
  );
}
