import { createRng } from '../../engine/rng.ts';
import type { MarketRegime } from '../../engine/agents/types.ts';
import { groupBy, type ScoredCall } from './scoring.ts';

/**
 * Permutation importance of decision factors: which of an agent's factors (RSI, MACD, volume,
 * sentiment…) explained the outcomes of its decisions (see `samplesOf` for the two targets).
 *
 * Model: a logistic regression of a binary outcome on the standardised factors, fitted by full-batch gradient descent for a fixed number of steps from
 * zero (no randomness, so the same decisions give the same model). A factor missing from a call
 * counts as its mean. Importance of factor f = mean over `repeats` shuffles of f's column of
 * (log loss with f shuffled − log loss as fitted): how much worse the model explains outcomes
 * once f carries no information. ≈ 0 for a factor that explains nothing; it is in-sample (the
 * model is scored on the calls it was fitted to), which is what "explained" means here.
 * Shuffles come from createRng(seed).fork(factor), so one factor's figure does not depend on
 * which other factors are present.
 */
export interface ImportanceOptions {
  readonly seed?: number;
  /** Shuffles per factor (default 20). */
  readonly repeats?: number;
  /** Gradient steps (default 400). */
  readonly iterations?: number;
  /** L2 penalty on the coefficients (default 1e-3); keeps a perfectly separating factor finite. */
  readonly l2?: number;
}

export interface Sample {
  readonly factors: Readonly<Record<string, number>>;
  readonly y: 0 | 1;
}

export interface FactorImportance {
  readonly factor: string;
  /** Mean increase in log loss (nats per decision) when the factor is shuffled. */
  readonly importance: number;
  /** Standard deviation of that increase over the shuffles. */
  readonly std: number;
  /** Fitted coefficient on the standardised factor (sign: does a high value mean "up"?). */
  readonly coef: number;
}

export interface ImportanceResult {
  readonly n: number;
  readonly baseLoss: number;
  /** Most important first (ties by name). */
  readonly factors: readonly FactorImportance[];
}

interface Design {
  readonly names: string[];
  /** Column-major standardised features. */
  readonly cols: Float64Array[];
  readonly y: Float64Array;
}

function design(samples: readonly Sample[]): Design {
  const names = [...new Set(samples.flatMap((s) => Object.keys(s.factors)))].sort();
  const n = samples.length;
  const cols = names.map((name) => {
    let sum = 0, k = 0;
    for (const s of samples) {
      const v = s.factors[name];
      if (v !== undefined && Number.isFinite(v)) { sum += v; k++; }
    }
    const mean = k ? sum / k : 0;
    const col = new Float64Array(n);
    let ss = 0;
    for (let i = 0; i < n; i++) {
      const v = samples[i]!.factors[name];
      col[i] = (v !== undefined && Number.isFinite(v) ? v : mean) - mean;
      ss += col[i]! * col[i]!;
    }
    const sd = Math.sqrt(ss / Math.max(1, n));
    if (sd > 0) for (let i = 0; i < n; i++) col[i]! /= sd;
    return col;
  });
  return { names, cols, y: Float64Array.from(samples, (s) => s.y) };
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

function logLoss(cols: readonly Float64Array[], y: Float64Array, b0: number, b: Float64Array): number {
  const n = y.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    let z = b0;
    for (let j = 0; j < cols.length; j++) z += b[j]! * cols[j]![i]!;
    const p = Math.min(1 - 1e-12, Math.max(1e-12, sigmoid(z)));
    s -= y[i]! ? Math.log(p) : Math.log(1 - p);
  }
  return s / n;
}

export interface LogisticModel {
  readonly intercept: number;
  readonly coef: Float64Array;
}

/** Gradient descent on the mean log loss + l2/2·|b|², fixed steps, step size 1 (features are standardised). */
export function fitLogistic(cols: readonly Float64Array[], y: Float64Array, iterations = 400, l2 = 1e-3): LogisticModel {
  const n = y.length, k = cols.length;
  let b0 = 0;
  const b = new Float64Array(k);
  const z = new Float64Array(n);
  const g = new Float64Array(k);
  for (let it = 0; it < iterations; it++) {
    z.fill(b0);
    for (let j = 0; j < k; j++) {
      const c = cols[j]!, bj = b[j]!;
      for (let i = 0; i < n; i++) z[i]! += bj * c[i]!;
    }
    let g0 = 0;
    g.fill(0);
    for (let i = 0; i < n; i++) {
      const r = sigmoid(z[i]!) - y[i]!;
      g0 += r;
      for (let j = 0; j < k; j++) g[j]! += r * cols[j]![i]!;
    }
    b0 -= g0 / n;
    for (let j = 0; j < k; j++) b[j]! -= g[j]! / n + l2 * b[j]!;
  }
  return { intercept: b0, coef: b };
}

export function permutationImportance(samples: readonly Sample[], opts: ImportanceOptions = {}): ImportanceResult {
  const seed = opts.seed ?? 1, repeats = opts.repeats ?? 20;
  if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError(`repeats must be an integer ≥ 1, got ${repeats}`);
  const d = design(samples);
  const n = samples.length;
  if (n === 0) return { n: 0, baseLoss: NaN, factors: [] };
  const m = fitLogistic(d.cols, d.y, opts.iterations ?? 400, opts.l2 ?? 1e-3);
  const base = logLoss(d.cols, d.y, m.intercept, m.coef);
  const factors = d.names.map((factor, j): FactorImportance => {
    const rng = createRng(seed).fork(factor);
    const original = d.cols[j]!;
    const shuffled = Float64Array.from(original);
    const cols = d.cols.slice();
    cols[j] = shuffled;
    const inc: number[] = [];
    for (let r = 0; r < repeats; r++) {
      for (let i = n - 1; i > 0; i--) {
        const k = rng.int(i + 1);
        const t = shuffled[i]!;
        shuffled[i] = shuffled[k]!;
        shuffled[k] = t;
      }
      inc.push(logLoss(cols, d.y, m.intercept, m.coef) - base);
    }
    const mean = inc.reduce((s, x) => s + x, 0) / repeats;
    const sd = Math.sqrt(inc.reduce((s, x) => s + (x - mean) ** 2, 0) / repeats);
    return { factor, importance: mean, std: sd, coef: m.coef[j]! };
  });
  factors.sort((a, b) => b.importance - a.importance || (a.factor < b.factor ? -1 : 1));
  return { n, baseLoss: base, factors };
}

/**
 * What a factor is asked to explain:
 * - 'call' (default): whether the agent's directional call was right, from each factor's support
 *   for the call (its vote × the call's direction: + when it pointed the way the agent went).
 *   Agents reading the same signals differ here, because their calls differ. Holds are left out.
 * - 'price': whether the price rose over the horizon, from the raw factor votes, over all calls.
 */
export type ImportanceTarget = 'call' | 'price';

export function samplesOf(calls: readonly ScoredCall[], target: ImportanceTarget = 'call'): Sample[] {
  const withFactors = calls.filter((c) => Object.keys(c.factors).length > 0);
  if (target === 'price') return withFactors.map((c) => ({ factors: c.factors, y: c.outcome.ret > 0 ? 1 : 0 }));
  return withFactors
    .filter((c) => c.dir !== 0)
    .map((c) => {
      const support: Record<string, number> = {};
      for (const [f, v] of Object.entries(c.factors)) support[f] = v * c.dir;
      return { factors: support, y: c.right ? 1 : 0 };
    });
}

export interface AgentImportance extends ImportanceResult {
  readonly agentId: string;
  /** 'all' for the whole run. */
  readonly regime: MarketRegime | 'warm-up' | 'all';
  readonly target: ImportanceTarget;
}

/**
 * Per agent, over all its calls and per regime at the decision bar; groups with fewer than
 * `minSamples` calls with factors (default 30) are left out (too few to say anything).
 */
export function factorImportance(calls: readonly ScoredCall[], opts: ImportanceOptions & { minSamples?: number; byRegime?: boolean; target?: ImportanceTarget } = {}): AgentImportance[] {
  const min = opts.minSamples ?? 30;
  const out: AgentImportance[] = [];
  const byAgent = groupBy(calls, (c) => c.agentId);
  for (const agentId of [...byAgent.keys()].sort()) {
    const cs = byAgent.get(agentId)!;
    const groups: [AgentImportance['regime'], readonly ScoredCall[]][] = [['all', cs]];
    if (opts.byRegime) {
      const g = groupBy(cs, (c) => c.outcome.regime ?? 'warm-up');
      for (const r of [...g.keys()].sort()) groups.push([r, g.get(r)!]);
    }
    for (const [regime, group] of groups) {
      const s = samplesOf(group, opts.target);
      if (s.length < min) continue;
      out.push({ agentId, regime, target: opts.target ?? 'call', ...permutationImportance(s, opts) });
    }
  }
  return out;
}
