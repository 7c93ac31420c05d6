import { z } from 'zod';
import type { BarColumns } from '../engine/types.ts';
import { createRng, type Rng } from '../engine/rng.ts';
import { DAY_MS, YEAR_DAYS } from '../engine/timeframe.ts';
import { InputError, describeIssues } from '../engine/errors.ts';

/**
 * Seeded synthetic bar generators: geometric Brownian motion, Merton jump diffusion and Markov
 * regime switching. Pure and deterministic: the same spec and seed give bit-identical arrays.
 *
 * Conventions (the statistical tests rely on them):
 * - Time is measured in years of 365 days (24/7 markets); `drift` and `vol` are annual.
 * - `drift` is the arithmetic drift μ: E[S(t)] = S(0)·e^{μt}. The log price therefore moves by
 *   (μ − σ²/2)·Δ per bar (minus the jump compensator λκ for the jump model).
 * - Each bar is simulated in `subSteps` equal sub-steps; open is the previous close, close the
 *   last point, high/low the extremes of the sub-step path, so high ≥ max(open, close) ≥ low.
 * - Bars are stamped at open time on multiples of the timeframe since the epoch, covering [from, to).
 * - Independent random streams per component (diffusion, jumps, regime, volume): changing the
 *   volume parameters never changes prices.
 */

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const nonNegative = finite.refine((x) => x >= 0, 'must be ≥ 0');

const regimeSchema = z.object({ drift: finite, vol: nonNegative });

export const synthModelSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('gbm'), drift: finite, vol: nonNegative }),
  z.object({
    kind: z.literal('jump'),
    drift: finite,
    vol: nonNegative,
    /** Expected jumps per year (λ). */
    jumpIntensity: nonNegative,
    /** Mean of the log jump size. */
    jumpMean: finite,
    /** Standard deviation of the log jump size. */
    jumpStd: nonNegative,
  }),
  z
    .object({
      kind: z.literal('regime'),
      regimes: z.array(regimeSchema).min(2, 'needs at least two regimes').max(255),
      /** Row-stochastic per-bar transition matrix: transition[i][j] = P(next = j | now = i). */
      transition: z.array(z.array(nonNegative)),
      /** Regime of the first bar; by default drawn from the chain's stationary distribution. */
      initialRegime: z.number().int().min(0).optional(),
    })
    .superRefine((m, ctx) => {
      const n = m.regimes.length;
      if (m.transition.length !== n) {
        ctx.addIssue({ code: 'custom', path: ['transition'], message: `must have ${n} rows (one per regime), got ${m.transition.length}` });
        return;
      }
      m.transition.forEach((row, i) => {
        if (row.length !== n) ctx.addIssue({ code: 'custom', path: ['transition', i], message: `must have ${n} entries, got ${row.length}` });
        const sum = row.reduce((a, b) => a + b, 0);
        if (Math.abs(sum - 1) > 1e-9) ctx.addIssue({ code: 'custom', path: ['transition', i], message: `must sum to 1, sums to ${sum}` });
      });
      if (m.initialRegime !== undefined && m.initialRegime >= n) {
        ctx.addIssue({ code: 'custom', path: ['initialRegime'], message: `must be < ${n}` });
      }
    }),
]);

export type SynthModel = z.infer<typeof synthModelSchema>;

export const synthVolumeSchema = z.object({
  /** Median volume of a bar, in base units. */
  base: finite.refine((x) => x > 0, 'must be > 0'),
  /** Log-volume noise (standard deviation of ln V). */
  sigma: nonNegative,
  /** How much ln V rises per standardised |return| (busier bars on bigger moves); 0 disables. */
  absReturnBeta: nonNegative,
});

export type SynthVolume = z.infer<typeof synthVolumeSchema>;

export const synthSpecSchema = z
  .object({
    symbol: z.string().min(1),
    timeframeMs: z.number().int().positive(),
    from: z.number().int(),
    to: z.number().int(),
    seed: z.number().int(),
    startPrice: finite.refine((x) => x > 0, 'must be > 0').default(40_000),
    model: synthModelSchema,
    subSteps: z.number().int().min(1).max(1000).default(4),
    volume: synthVolumeSchema.optional(),
  })
  .refine((s) => s.to > s.from, { message: 'empty range: "to" must be after "from"', path: ['to'] });

export type SynthSpec = z.input<typeof synthSpecSchema>;

export interface SynthResult {
  readonly bars: BarColumns;
  /** Regime of each bar (regime model only). */
  readonly regime?: Uint8Array;
  /** Number of jumps inside each bar (jump model only). */
  readonly jumps?: Uint16Array;
}

const YEAR_MS = YEAR_DAYS * DAY_MS;
/** E|Z| for a standard normal: centres the |return| volume term so `base` stays the median scale. */
const MEAN_ABS_NORMAL = Math.sqrt(2 / Math.PI);
/** Keeps a jump from blowing volume up to absurd values through the |return| term. */
const MAX_ABS_Z = 10;

/** Default volume: median 10 base units per minute of timeframe. */
export function defaultVolume(timeframeMs: number): SynthVolume {
  return { base: (10 * timeframeMs) / 60_000, sigma: 0.5, absReturnBeta: 0.3 };
}

/** Bar open times on multiples of the timeframe inside [from, to). */
export function barGrid(from: number, to: number, timeframeMs: number): { first: number; count: number } {
  const first = Math.ceil(from / timeframeMs) * timeframeMs;
  const count = to > first ? Math.ceil((to - first) / timeframeMs) : 0;
  return { first, count };
}

/** Generate bars; bad specs throw InputError naming the field. */
export function generateBars(spec: SynthSpec): BarColumns {
  return simulate(spec).bars;
}

/** Generate bars plus the hidden state (regime path, jump counts) for diagnostics and tests. */
export function simulate(spec: SynthSpec): SynthResult {
  const parsed = synthSpecSchema.safeParse(spec);
  if (!parsed.success) {
    throw new InputError(`synthetic data spec: ${describeIssues(parsed.error, '(spec)')}`);
  }
  const s = parsed.data;
  const { first, count } = barGrid(s.from, s.to, s.timeframeMs);
  if (count === 0) throw new InputError(`synthetic data spec: the range [${s.from}, ${s.to}) holds no ${s.timeframeMs} ms bar`);

  const rng = createRng(s.seed);
  const out = allocate(s.symbol, s.timeframeMs, count);
  for (let i = 0; i < count; i++) out.ts[i] = first + i * s.timeframeMs;

  const dtYears = s.timeframeMs / s.subSteps / YEAR_MS;
  const model = s.model;
  let path: PathResult;
  if (model.kind === 'gbm') {
    path = simulatePath(out, s.startPrice, s.subSteps, rng.fork('diffusion'), constantRegime(model.drift, model.vol, dtYears, count), null);
  } else if (model.kind === 'jump') {
    const kappa = Math.exp(model.jumpMean + (model.jumpStd * model.jumpStd) / 2) - 1;
    // Compensate the drift so the jumps leave E[S(t)] = S(0)·e^{μt}, as in Merton (1976).
    const regime = constantRegime(model.drift - model.jumpIntensity * kappa, model.vol, dtYears, count);
    path = simulatePath(out, s.startPrice, s.subSteps, rng.fork('diffusion'), regime, {
      rng: rng.fork('jumps'),
      probZero: Math.exp(-model.jumpIntensity * dtYears),
      mean: model.jumpIntensity * dtYears,
      jumpMean: model.jumpMean,
      jumpStd: model.jumpStd,
      counts: new Uint16Array(count),
    });
  } else {
    const states = regimePath(model.transition, count, rng.fork('regime'), model.initialRegime);
    path = simulatePath(out, s.startPrice, s.subSteps, rng.fork('diffusion'), {
      states,
      drift: model.regimes.map((r) => (r.drift - (r.vol * r.vol) / 2) * dtYears),
      sd: model.regimes.map((r) => r.vol * Math.sqrt(dtYears)),
    }, null);
  }

  fillVolume(out, s.volume ?? defaultVolume(s.timeframeMs), path.barSd, rng.fork('volume'));
  return { bars: out, ...(path.regime ? { regime: path.regime } : {}), ...(path.jumps ? { jumps: path.jumps } : {}) };
}

interface MutableBars extends BarColumns {
  readonly ts: Float64Array;
}

function allocate(symbol: string, timeframeMs: number, n: number): MutableBars {
  return {
    symbol,
    timeframeMs,
    length: n,
    ts: new Float64Array(n),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
  };
}

interface RegimeTable {
  /** Regime index per bar, or null for a single regime. */
  readonly states: Uint8Array | null;
  /** Per regime: log drift per sub-step. */
  readonly drift: readonly number[];
  /** Per regime: log standard deviation per sub-step. */
  readonly sd: readonly number[];
}

function constantRegime(drift: number, vol: number, dtYears: number, _count: number): RegimeTable {
  return { states: null, drift: [(drift - (vol * vol) / 2) * dtYears], sd: [vol * Math.sqrt(dtYears)] };
}

interface JumpState {
  readonly rng: Rng;
  readonly probZero: number;
  readonly mean: number;
  readonly jumpMean: number;
  readonly jumpStd: number;
  readonly counts: Uint16Array;
}

interface PathResult {
  /** Diffusion standard deviation of each bar's log return, for the volume model. */
  readonly barSd: (i: number) => number;
  readonly regime?: Uint8Array;
  readonly jumps?: Uint16Array;
}

function simulatePath(out: MutableBars, startPrice: number, subSteps: number, rng: Rng, regime: RegimeTable, jump: JumpState | null): PathResult {
  const n = out.length;
  const { open, high, low, close } = out;
  const states = regime.states;
  const normal = normalSource(rng);
  const jumpNormal = jump ? normalSource(jump.rng) : normal;
  let x = Math.log(startPrice);
  let prevClose = startPrice;
  for (let i = 0; i < n; i++) {
    const r = states ? states[i]! : 0;
    const mu = regime.drift[r]!;
    const sd = regime.sd[r]!;
    let hi = x;
    let lo = x;
    let jumpsHere = 0;
    for (let k = 0; k < subSteps; k++) {
      x += mu + sd * normal();
      if (jump) {
        const nj = poisson(jump.rng, jump.probZero, jump.mean);
        for (let j = 0; j < nj; j++) x += jump.jumpMean + jump.jumpStd * jumpNormal();
        jumpsHere += nj;
      }
      if (x > hi) hi = x;
      else if (x < lo) lo = x;
    }
    const c = Math.exp(x);
    open[i] = prevClose;
    close[i] = c;
    // exp of the extreme log can round a hair inside open or close; clamp to keep OHLC consistent.
    high[i] = Math.max(Math.exp(hi), prevClose, c);
    low[i] = Math.min(Math.exp(lo), prevClose, c);
    if (jump) jump.counts[i] = Math.min(jumpsHere, 0xffff);
    prevClose = c;
  }
  const barSdByRegime = regime.sd.map((v) => v * Math.sqrt(subSteps));
  return {
    barSd: states ? (i) => barSdByRegime[states[i]!]! : () => barSdByRegime[0]!,
    ...(states ? { regime: states } : {}),
    ...(jump ? { jumps: jump.counts } : {}),
  };
}

/**
 * Standard normals by the ziggurat method (Marsaglia & Tsang 2000, 128 layers, with Doornik's
 * 2005 fix of drawing the layer and the abscissa independently). A year of 1m bars needs millions
 * of draws; this takes one uniform for ~99% of them, against ~2.5 uniforms, a log and a trig call
 * for Box–Muller. Each stream is consumed in a fixed order, so results stay deterministic.
 */
const ZIG_LAYERS = 128;
const ZIG_R = 3.442619855899;
const ZIG_V = 9.91256303526217e-3;
const ZIG_X = new Float64Array(ZIG_LAYERS + 1);
const ZIG_RATIO = new Float64Array(ZIG_LAYERS);
{
  let f = Math.exp(-0.5 * ZIG_R * ZIG_R);
  ZIG_X[0] = ZIG_V / f; // the base layer, rectangle plus tail, has the same area V
  ZIG_X[1] = ZIG_R;
  ZIG_X[ZIG_LAYERS] = 0;
  for (let i = 2; i < ZIG_LAYERS; i++) {
    ZIG_X[i] = Math.sqrt(-2 * Math.log(ZIG_V / ZIG_X[i - 1]! + f));
    f = Math.exp(-0.5 * ZIG_X[i]! * ZIG_X[i]!);
  }
  for (let i = 0; i < ZIG_LAYERS; i++) ZIG_RATIO[i] = ZIG_X[i + 1]! / ZIG_X[i]!;
}

export function normalSource(rng: Rng): () => number {
  return () => {
    for (;;) {
      // 53 random bits: the top 7 pick the layer, the other 46 the abscissa, independent of each other.
      const w = rng.next() * ZIG_LAYERS;
      const i = w | 0;
      const u = 2 * (w - i) - 1;
      if (Math.abs(u) < ZIG_RATIO[i]!) return u * ZIG_X[i]!;
      if (i === 0) return normalTail(rng, u < 0);
      const x = u * ZIG_X[i]!;
      const f0 = Math.exp(-0.5 * (ZIG_X[i]! * ZIG_X[i]! - x * x));
      const f1 = Math.exp(-0.5 * (ZIG_X[i + 1]! * ZIG_X[i + 1]! - x * x));
      if (f1 + rng.next() * (f0 - f1) < 1) return x;
    }
  };
}

/** Marsaglia's tail sampler for |z| > R. */
function normalTail(rng: Rng, negative: boolean): number {
  let x: number, y: number;
  do {
    x = Math.log(1 - rng.next()) / ZIG_R;
    y = Math.log(1 - rng.next());
  } while (-2 * y < x * x);
  return negative ? x - ZIG_R : ZIG_R - x;
}

/** Poisson draw by inversion; one uniform per draw, and the mean per sub-step is tiny. */
function poisson(rng: Rng, probZero: number, mean: number): number {
  const u = rng.next();
  let p = probZero;
  let cdf = p;
  let k = 0;
  while (u >= cdf && k < 1000) {
    k++;
    p *= mean / k;
    cdf += p;
  }
  return k;
}

/** A Markov chain path over bars; switches happen at bar boundaries. */
export function regimePath(transition: readonly (readonly number[])[], count: number, rng: Rng, initial?: number): Uint8Array {
  const n = transition.length;
  const cum = transition.map((row) => {
    const c = new Float64Array(n);
    let acc = 0;
    for (let j = 0; j < n; j++) c[j] = acc += row[j]!;
    c[n - 1] = Infinity; // rows sum to 1 within 1e-9; never fall off the end on rounding
    return c;
  });
  const states = new Uint8Array(count);
  let s = initial ?? pick(cumulative(stationaryDistribution(transition)), rng.next());
  for (let i = 0; i < count; i++) {
    if (i > 0) s = pick(cum[s]!, rng.next());
    states[i] = s;
  }
  return states;
}

function cumulative(p: readonly number[]): Float64Array {
  const c = new Float64Array(p.length);
  let acc = 0;
  for (let j = 0; j < p.length; j++) c[j] = acc += p[j]!;
  c[p.length - 1] = Infinity;
  return c;
}

function pick(cum: Float64Array, u: number): number {
  let j = 0;
  while (u >= cum[j]!) j++;
  return j;
}

/**
 * Stationary distribution π = πP by power iteration on the lazy chain (P + I)/2, which has the
 * same π but is aperiodic, so the iteration converges even for a chain that alternates states.
 */
export function stationaryDistribution(transition: readonly (readonly number[])[]): number[] {
  const n = transition.length;
  let pi: number[] = new Array<number>(n).fill(1 / n);
  for (let iter = 0; iter < 100_000; iter++) {
    const next = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      next[i]! += pi[i]! / 2;
      for (let j = 0; j < n; j++) next[j]! += (pi[i]! * transition[i]![j]!) / 2;
    }
    let diff = 0;
    for (let j = 0; j < n; j++) diff = Math.max(diff, Math.abs(next[j]! - pi[j]!));
    pi = next;
    if (diff < 1e-15) break;
  }
  const total = pi.reduce((a, b) => a + b, 0);
  return pi.map((p) => p / total);
}

function fillVolume(out: MutableBars, v: SynthVolume, barSd: (i: number) => number, rng: Rng): void {
  const { open, close, volume } = out;
  const logBase = Math.log(v.base);
  const normal = normalSource(rng);
  for (let i = 0; i < out.length; i++) {
    let term = 0;
    if (v.absReturnBeta > 0) {
      const sd = barSd(i);
      const z = sd > 0 ? Math.min(Math.abs(Math.log(close[i]! / open[i]!)) / sd, MAX_ABS_Z) : 0;
      term = v.absReturnBeta * (z - MEAN_ABS_NORMAL);
    }
    volume[i] = Math.exp(logBase + v.sigma * normal() + term);
  }
}
