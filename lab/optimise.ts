import { createRng, type Rng } from '../engine/rng.ts';
import { normalCdf } from '../engine/overfitting.ts';
import { InputError } from '../engine/errors.ts';
import { gridPoints, pointKey, sampleDimension, snap, spaceSize, type Dimension, type Params, type ParamValue, type SearchSpace } from './search-space.ts';

/**
 * Search methods over a space: exhaustive grid, seeded random, and TPE (Bergstra et al. 2011,
 * "Algorithms for Hyper-Parameter Optimization"). All three only propose points; `evaluate` runs
 * them (in a pool, on a queue, or inline) and returns one score per point, larger is better.
 *
 * Determinism: proposals depend only on the seed and on earlier scores, and TPE proposes in
 * batches of a fixed size, so the sequence of runs is the same whatever the number of workers.
 */

export type Method = 'grid' | 'random' | 'tpe';
export const METHODS: readonly Method[] = ['grid', 'random', 'tpe'];

export interface Trial {
  readonly point: Params;
  /** Score to maximise; NaN (a metric that could not be computed) ranks below everything. */
  readonly value: number;
}

export interface TpeOptions {
  /** Share of the observations that form the "good" group l(x). */
  readonly gamma?: number;
  /** Random points before the model is used. */
  readonly startup?: number;
  /** Draws from l(x) per proposal; the one with the largest l(x)/g(x) is proposed. */
  readonly candidates?: number;
}

export interface OptimiseOptions {
  readonly space: SearchSpace;
  readonly method: Method;
  /** Budget for random and tpe (ignored by grid, which runs every allowed point). */
  readonly trials?: number;
  readonly seed?: number;
  /** Points evaluated together by tpe (fixed, so results do not depend on the worker count). */
  readonly batchSize?: number;
  readonly tpe?: TpeOptions;
  /** The schema's constraints: a point it rejects is skipped and counted, never evaluated. */
  isValid(point: Params): boolean;
  evaluate(points: readonly Params[]): Promise<readonly number[]>;
  readonly signal?: AbortSignal;
}

export interface OptimiseResult {
  readonly trials: readonly Trial[];
  /** Points rejected by the constraints (grid: in the grid; random/tpe: among the draws). */
  readonly skippedInvalid: number;
  readonly best: Trial | undefined;
}

export const DEFAULT_TPE_BATCH = 8;

export async function optimise(o: OptimiseOptions): Promise<OptimiseResult> {
  if (o.method === 'grid') return runGrid(o);
  const budget = o.trials;
  if (budget === undefined || !Number.isInteger(budget) || budget < 1) throw new InputError(`--trials must be a positive integer for --method ${o.method}`);
  return o.method === 'random' ? runRandom(o, budget) : runTpe(o, budget);
}

/** Every allowed point of the grid, in grid order. Throws InputError when none is allowed. */
export function allowedGrid(space: SearchSpace, isValid: (p: Params) => boolean): { points: Params[]; skippedInvalid: number } {
  const points: Params[] = [];
  let skippedInvalid = 0;
  for (const p of gridPoints(space)) {
    if (isValid(p)) points.push(p);
    else skippedInvalid++;
  }
  if (points.length === 0) throw new InputError(`no combination to run: all ${skippedInvalid} combinations of the grid break the strategy's constraints`);
  return { points, skippedInvalid };
}

async function runGrid(o: OptimiseOptions): Promise<OptimiseResult> {
  const { points, skippedInvalid } = allowedGrid(o.space, o.isValid);
  const values = await o.evaluate(points);
  return finish(points.map((point, i) => ({ point, value: values[i]! })), skippedInvalid);
}

/** Distinct allowed points drawn uniformly; gives up after many draws when the space runs out. */
function drawDistinct(o: OptimiseOptions, rng: Rng, n: number, seen: Set<string>, counter: { invalid: number }): Params[] {
  const out: Params[] = [];
  const maxDraws = 50 * n + 1000;
  for (let draws = 0; out.length < n && draws < maxDraws; draws++) {
    const p: Record<string, ParamValue> = {};
    for (const d of o.space.dimensions) p[d.name] = sampleDimension(d, rng);
    const k = pointKey(p);
    if (seen.has(k)) continue;
    seen.add(k);
    if (!o.isValid(p)) {
      counter.invalid++;
      continue;
    }
    out.push(p);
  }
  return out;
}

function assertSomeValid(o: OptimiseOptions, got: number, invalid: number): void {
  if (got === 0) throw new InputError(`no combination to run: ${invalid} random draws all broke the strategy's constraints`);
}

async function runRandom(o: OptimiseOptions, budget: number): Promise<OptimiseResult> {
  const rng = createRng(o.seed ?? 1).fork('random');
  const counter = { invalid: 0 };
  const points = drawDistinct(o, rng, Math.min(budget, spaceSize(o.space)), new Set(), counter);
  assertSomeValid(o, points.length, counter.invalid);
  const values = await o.evaluate(points);
  return finish(points.map((point, i) => ({ point, value: values[i]! })), counter.invalid);
}

async function runTpe(o: OptimiseOptions, budget: number): Promise<OptimiseResult> {
  const total = Math.min(budget, spaceSize(o.space));
  const batch = o.batchSize ?? DEFAULT_TPE_BATCH;
  const startup = Math.min(total, o.tpe?.startup ?? Math.max(10, Math.ceil(total / 5)));
  const gamma = o.tpe?.gamma ?? 0.25;
  const nCand = o.tpe?.candidates ?? 24;
  const root = createRng(o.seed ?? 1);
  const seen = new Set<string>();
  const counter = { invalid: 0 };
  const trials: Trial[] = [];
  const first = drawDistinct(o, root.fork('startup'), startup, seen, counter);
  assertSomeValid(o, first.length, counter.invalid);
  const v0 = await o.evaluate(first);
  first.forEach((point, i) => trials.push({ point, value: v0[i]! }));
  const rng = root.fork('tpe');
  while (trials.length < total && !o.signal?.aborted) {
    const want = Math.min(batch, total - trials.length);
    const proposals: Params[] = [];
    for (let b = 0; b < want; b++) {
      const p = proposeTpe(o, trials, rng, seen, counter, gamma, nCand);
      if (!p) break;
      proposals.push(p);
    }
    if (proposals.length === 0) break; // the allowed space is exhausted
    const v = await o.evaluate(proposals);
    proposals.forEach((point, i) => trials.push({ point, value: v[i]! }));
  }
  return finish(trials, counter.invalid);
}

function score(v: number): number {
  return v === v ? v : -Infinity;
}

function finish(trials: Trial[], skippedInvalid: number): OptimiseResult {
  let best: Trial | undefined;
  for (const t of trials) if (!best || score(t.value) > score(best.value)) best = t;
  return { trials, skippedInvalid, best };
}

// ---- TPE ---------------------------------------------------------------------------------------

interface Density {
  sample(rng: Rng): ParamValue;
  logPdf(x: ParamValue): number;
}

function proposeTpe(o: OptimiseOptions, trials: readonly Trial[], rng: Rng, seen: Set<string>, counter: { invalid: number }, gamma: number, nCand: number): Params | undefined {
  // Stable ranking: equal scores keep evaluation order, so the split never depends on sort internals.
  const ranked = trials.map((t, i) => ({ t, i })).sort((a, b) => score(b.t.value) - score(a.t.value) || a.i - b.i);
  const nGood = Math.max(1, Math.ceil(gamma * ranked.length));
  const good = ranked.slice(0, nGood).map((r) => r.t.point);
  const bad = ranked.slice(nGood).map((r) => r.t.point);
  const l = o.space.dimensions.map((d) => parzen(d, good.map((p) => p[d.name]!)));
  const g = o.space.dimensions.map((d) => parzen(d, bad.map((p) => p[d.name]!)));
  let best: Params | undefined;
  let bestScore = -Infinity;
  for (let c = 0; c < nCand; c++) {
    const p: Record<string, ParamValue> = {};
    let s = 0;
    o.space.dimensions.forEach((d, j) => {
      const x = l[j]!.sample(rng);
      p[d.name] = x;
      s += l[j]!.logPdf(x) - g[j]!.logPdf(x);
    });
    const k = pointKey(p);
    if (seen.has(k)) continue;
    if (!o.isValid(p)) {
      seen.add(k);
      counter.invalid++;
      continue;
    }
    if (s > bestScore) {
      bestScore = s;
      best = p;
    }
  }
  if (!best) {
    // Every draw from l(x) was already tried: fall back to a fresh uniform point.
    best = drawDistinct(o, rng, 1, seen, counter)[0];
    return best;
  }
  seen.add(pointKey(best));
  return best;
}

/** A Parzen estimator of one dimension from the observed values of one group. */
function parzen(d: Dimension, xs: readonly ParamValue[]): Density {
  if (d.kind === 'choice') {
    // Counts plus one pseudo-observation per value, so no value ever has zero probability.
    const w = d.values.map((v) => 1 + xs.filter((x) => x === v).length);
    const total = w.reduce((a, b) => a + b, 0);
    return {
      sample: (rng) => {
        let u = rng.next() * total;
        for (let i = 0; i < w.length; i++) if ((u -= w[i]!) < 0) return d.values[i]!;
        return d.values[d.values.length - 1]!;
      },
      logPdf: (x) => Math.log(w[d.values.indexOf(x)] ?? 1) - Math.log(total),
    };
  }
  const lo = d.min;
  const hi = d.max;
  const width = hi - lo || 1;
  const mus = (xs as number[]).slice().sort((a, b) => a - b);
  // One Gaussian per observation, its width the larger gap to a neighbour (the bounds count as
  // neighbours), clipped as in Bergstra's hyperopt; plus a wide prior centred on the range.
  const n = mus.length;
  const minSigma = width / Math.min(100, n + 1);
  const comps: { mu: number; sigma: number }[] = mus.map((mu, i) => {
    const left = i === 0 ? lo : mus[i - 1]!;
    const right = i === n - 1 ? hi : mus[i + 1]!;
    return { mu, sigma: Math.min(width, Math.max(minSigma, mu - left, right - mu)) };
  });
  comps.push({ mu: (lo + hi) / 2, sigma: width });
  const mass = comps.map((c) => Math.max(1e-12, normalCdf((hi - c.mu) / c.sigma) - normalCdf((lo - c.mu) / c.sigma)));
  return {
    sample: (rng) => {
      const c = comps[rng.int(comps.length)]!;
      for (let tries = 0; tries < 100; tries++) {
        const x = c.mu + c.sigma * rng.normal();
        if (x >= lo && x <= hi) return snap(d, x);
      }
      return snap(d, c.mu);
    },
    logPdf: (x) => {
      let p = 0;
      for (let i = 0; i < comps.length; i++) {
        const c = comps[i]!;
        const z = ((x as number) - c.mu) / c.sigma;
        p += Math.exp(-0.5 * z * z) / (c.sigma * Math.sqrt(2 * Math.PI) * mass[i]!);
      }
      return Math.log(p / comps.length + 1e-300);
    },
  };
}

