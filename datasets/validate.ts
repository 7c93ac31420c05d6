import type { BarColumns } from '../engine/types.ts';

/**
 * Data-quality checks on bar columns. Pure (no I/O), so the backtest can run it on whatever it
 * loaded and refuse data with errors unless told `--allow-bad-data`.
 *
 * Levels: what makes prices or time wrong is an error (duplicates, time going backwards, OHLC
 * that cannot happen, non-positive prices, negative volume, non-finite values). Gaps and outlier
 * returns are warnings: real exchanges halt (Binance BTCUSDT has no 2023-03-24 13:00 bar) and
 * crypto moves violently, so neither proves the data wrong.
 */

export type CheckLevel = 'error' | 'warning';

export interface Example {
  /** Row index in the columns. */
  readonly index: number;
  readonly ts: number;
  readonly time: string;
  readonly detail: string;
}

export interface CheckResult {
  readonly level: CheckLevel;
  readonly count: number;
  /** The first few occurrences, in row order. */
  readonly examples: readonly Example[];
}

export interface GapCheck extends CheckResult {
  /** Bars missing in total across all gaps. */
  readonly missingBars: number;
  /** The longest stretch without a bar, in ms between the two bars' open times (0 when none). */
  readonly largestMs: number;
  readonly largestAt?: Example;
}

export interface OutlierCheck extends CheckResult {
  readonly k: number;
  /** Robust sigma of log close-to-close returns: 1.4826 × MAD. */
  readonly sigma: number;
  readonly median: number;
}

export interface ValidationReport {
  readonly ok: boolean;
  readonly rows: number;
  readonly timeframeMs: number;
  readonly first?: number;
  readonly last?: number;
  readonly errors: number;
  readonly warnings: number;
  readonly checks: {
    readonly nonFinite: CheckResult;
    readonly duplicateTimestamps: CheckResult;
    readonly nonMonotonicTimestamps: CheckResult;
    readonly gaps: GapCheck;
    readonly ohlcInconsistent: CheckResult;
    readonly nonPositivePrices: CheckResult;
    readonly negativeVolume: CheckResult;
    readonly outlierReturns: OutlierCheck;
  };
}

export interface ValidateOptions {
  /** Outlier threshold in robust sigmas (default 10: hourly crypto has many 8-sigma hours). */
  readonly k?: number;
  /** Examples kept per check (default 5). */
  readonly maxExamples?: number;
}

/** Scale that turns a median absolute deviation into σ for normal data (1 / Φ⁻¹(3/4)). */
export const MAD_TO_SIGMA = 1.482602218505602;

const iso = (ts: number): string => (Number.isFinite(ts) && Math.abs(ts) <= 8.64e15 ? new Date(ts).toISOString() : String(ts));

class Tally {
  count = 0;
  readonly examples: Example[] = [];
  constructor(
    readonly level: CheckLevel,
    private readonly max: number,
  ) {}
  add(index: number, ts: number, detail: string): void {
    this.count++;
    if (this.examples.length < this.max) this.examples.push({ index, ts, time: iso(ts), detail });
  }
  result(): CheckResult {
    return { level: this.level, count: this.count, examples: this.examples };
  }
}

export function validateBars(cols: BarColumns, opts: ValidateOptions = {}): ValidationReport {
  const k = opts.k ?? 10;
  if (!(k > 0)) throw new RangeError(`outlier k must be > 0, got ${k}`);
  const max = opts.maxExamples ?? 5;
  const { ts, open, high, low, close, volume, length: n, timeframeMs: tf } = cols;

  const nonFinite = new Tally('error', max);
  const dup = new Tally('error', max);
  const back = new Tally('error', max);
  const gaps = new Tally('warning', max);
  const ohlc = new Tally('error', max);
  const nonPos = new Tally('error', max);
  const negVol = new Tally('error', max);
  let missingBars = 0;
  let largestMs = 0;
  let largestAt: Example | undefined;

  for (let i = 0; i < n; i++) {
    const t = ts[i]!;
    const o = open[i]!, h = high[i]!, l = low[i]!, c = close[i]!, v = volume[i]!;
    const bad = [['ts', t], ['open', o], ['high', h], ['low', l], ['close', c], ['volume', v]].filter(([, x]) => !Number.isFinite(x as number));
    if (bad.length) nonFinite.add(i, t, bad.map(([f, x]) => `${f}=${x}`).join(', '));
    if (o <= 0 || h <= 0 || l <= 0 || c <= 0) nonPos.add(i, t, `open=${o} high=${h} low=${l} close=${c}`);
    if (v < 0) negVol.add(i, t, `volume=${v}`);
    const why: string[] = [];
    if (l > h) why.push(`low ${l} > high ${h}`);
    if (l > Math.min(o, c)) why.push(`low ${l} > min(open, close) ${Math.min(o, c)}`);
    if (h < Math.max(o, c)) why.push(`high ${h} < max(open, close) ${Math.max(o, c)}`);
    if (why.length) ohlc.add(i, t, why.join('; '));
    if (i > 0) {
      const prev = ts[i - 1]!;
      const d = t - prev;
      if (d === 0) dup.add(i, t, `same timestamp as row ${i - 1}`);
      else if (d < 0) back.add(i, t, `earlier than row ${i - 1} (${iso(prev)})`);
      else if (d > tf) {
        const missing = Math.round(d / tf) - 1;
        missingBars += missing;
        gaps.add(i, prev + tf, `${missing} bar(s) missing between ${iso(prev)} and ${iso(t)}`);
        if (d > largestMs) {
          largestMs = d;
          largestAt = { index: i, ts: prev + tf, time: iso(prev + tf), detail: `${missing} bar(s) missing between ${iso(prev)} and ${iso(t)}` };
        }
      }
    }
  }
  // Out-of-order data can hide duplicates that are not neighbours.
  if (back.count > 0) {
    const seen = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      const j = seen.get(t);
      // Neighbours were counted in the main pass.
      if (j !== undefined && j !== i - 1) dup.add(i, t, `same timestamp as row ${j}`);
      seen.set(t, i);
    }
  }

  const outliers = outlierReturns(cols, k, max);
  const checks = {
    nonFinite: nonFinite.result(),
    duplicateTimestamps: dup.result(),
    nonMonotonicTimestamps: back.result(),
    gaps: { ...gaps.result(), missingBars, largestMs, ...(largestAt ? { largestAt } : {}) },
    ohlcInconsistent: ohlc.result(),
    nonPositivePrices: nonPos.result(),
    negativeVolume: negVol.result(),
    outlierReturns: outliers,
  };
  let errors = 0;
  let warnings = 0;
  for (const c of Object.values(checks)) {
    if (c.level === 'error') errors += c.count;
    else warnings += c.count;
  }
  return {
    ok: errors === 0,
    rows: n,
    timeframeMs: tf,
    ...(n > 0 ? { first: ts[0]!, last: ts[n - 1]! } : {}),
    errors,
    warnings,
    checks,
  };
}

/**
 * |log return − median| > k × robust sigma (MAD-based, so the outliers themselves do not inflate
 * the yardstick). With a zero MAD (flat prices) nothing is flagged: every move would be infinite σ.
 */
function outlierReturns(cols: BarColumns, k: number, max: number): OutlierCheck {
  const n = cols.length;
  const r = new Float64Array(Math.max(0, n - 1));
  const at = new Int32Array(r.length);
  let m = 0;
  for (let i = 1; i < n; i++) {
    const a = cols.close[i - 1]!, b = cols.close[i]!;
    if (a > 0 && b > 0 && Number.isFinite(a) && Number.isFinite(b)) {
      r[m] = Math.log(b / a);
      at[m++] = i;
    }
  }
  const tally = new Tally('warning', max);
  if (m === 0) return { ...tally.result(), k, sigma: 0, median: 0 };
  const rets = r.subarray(0, m);
  const median = medianOf(Float64Array.from(rets));
  const dev = new Float64Array(m);
  for (let i = 0; i < m; i++) dev[i] = Math.abs(rets[i]! - median);
  const sigma = MAD_TO_SIGMA * medianOf(dev);
  if (sigma > 0) {
    for (let i = 0; i < m; i++) {
      const z = Math.abs(rets[i]! - median) / sigma;
      if (z > k) tally.add(at[i]!, cols.ts[at[i]!]!, `log return ${rets[i]!.toPrecision(6)} is ${z.toFixed(1)} robust sigmas from the median`);
    }
  }
  return { ...tally.result(), k, sigma, median };
}

/** Median; sorts `a` in place. */
function medianOf(a: Float64Array): number {
  a.sort();
  const n = a.length;
  return n % 2 ? a[(n - 1) / 2]! : (a[n / 2 - 1]! + a[n / 2]!) / 2;
}

/** Human-readable lines for the CLI. */
export function formatReport(r: ValidationReport): string {
  const lines = [
    `${r.ok ? 'OK' : 'ERRORS'}: ${r.rows} bars${r.first !== undefined ? ` from ${iso(r.first)} to ${iso(r.last!)}` : ''}, ${r.errors} error(s), ${r.warnings} warning(s)`,
  ];
  for (const [name, c] of Object.entries(r.checks)) {
    let extra = '';
    if (name === 'gaps') {
      const g = c as GapCheck;
      if (g.count) extra = ` (${g.missingBars} bars missing; largest ${g.largestMs / 60_000} min at ${g.largestAt?.time})`;
    }
    if (name === 'outlierReturns') {
      const o = c as OutlierCheck;
      extra = ` (k=${o.k}, robust sigma=${o.sigma.toPrecision(4)})`;
    }
    lines.push(`  ${c.count === 0 ? 'ok  ' : c.level === 'error' ? 'ERR ' : 'warn'} ${name}: ${c.count}${extra}`);
    for (const e of c.examples) lines.push(`         row ${e.index} ${e.time}: ${e.detail}`);
  }
  return lines.join('\n');
}
