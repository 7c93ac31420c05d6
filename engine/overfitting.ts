/**
 * Overfitting statistics: is the best backtest of many just the luckiest one?
 *
 * - Probabilistic Sharpe ratio (Bailey & López de Prado, "The Sharpe Ratio Efficient Frontier",
 *   2012): the probability that the true Sharpe ratio exceeds a benchmark SR*, given the observed
 *   SR, the sample length and the skewness and kurtosis of the returns.
 * - Deflated Sharpe ratio (Bailey & López de Prado, "The Deflated Sharpe Ratio", 2014): the PSR
 *   against the Sharpe ratio the best of N unskilled trials would reach by luck.
 * - Probability of backtest overfitting by combinatorially symmetric cross-validation (Bailey,
 *   Borwein, López de Prado & Zhu, "The Probability of Backtest Overfitting", 2015/2017).
 *
 * Units: every Sharpe ratio here is PER PERIOD (not annualised), because the PSR's standard error
 * is stated per observation. Divide an annual SR by √(periods per year) before passing it in.
 * Kurtosis is the plain (non-excess) kind: 3 for a normal distribution.
 */

/** Euler–Mascheroni constant γ (used in the expected maximum of N Gaussian draws). */
export const EULER_MASCHERONI = 0.5772156649015329;

const SQRT_2PI = 2.5066282746310002;

/**
 * Standard normal CDF Φ(x). Hart (1968) double-precision rational approximation as given by
 * West, "Better approximations to cumulative normal functions" (2005): absolute error below 1e-14.
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const z = Math.abs(x);
  let tail: number;
  if (z > 37) {
    tail = 0;
  } else {
    const e = Math.exp((-z * z) / 2);
    if (z < 7.07106781186547) {
      let n = 3.52624965998911e-2 * z + 0.700383064443688;
      n = n * z + 6.37396220353165;
      n = n * z + 33.912866078383;
      n = n * z + 112.079291497871;
      n = n * z + 221.213596169931;
      n = n * z + 220.206867912376;
      let d = 8.83883476483184e-2 * z + 1.75566716318264;
      d = d * z + 16.064177579207;
      d = d * z + 86.7807322029461;
      d = d * z + 296.564248779674;
      d = d * z + 637.333633378831;
      d = d * z + 793.826512519948;
      d = d * z + 440.413735824752;
      tail = (e * n) / d;
    } else {
      let b = z + 0.65;
      b = z + 4 / b;
      b = z + 3 / b;
      b = z + 2 / b;
      b = z + 1 / b;
      tail = e / b / SQRT_2PI;
    }
  }
  return x > 0 ? 1 - tail : tail;
}

/** Φ⁻¹(p): Wichura's AS241 (PPND16), relative accuracy about 1e-16. */
export function normalInv(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (
      (q *
        (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r + 45921.953931549871457) * r + 13731.693765509461125) * r +
          1971.5909503065514427) *
          r +
          133.14166789178437745) *
          r +
          3.387132872796366608)) /
      (((((((5226.495278852854561 * r + 28729.085735721942674) * r + 39307.89580009271061) * r + 21213.794301586595867) * r + 5394.1960214247511077) * r +
        687.1870074920579083) *
        r +
        42.313330701600911252) *
        r +
        1)
    );
  }
  let r = q < 0 ? p : 1 - p;
  r = Math.sqrt(-Math.log(r));
  let x: number;
  if (r <= 5) {
    r -= 1.6;
    x =
      (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r + 1.27045825245236838258) * r + 3.64784832476320460504) * r +
        5.7694972214606914055) *
        r +
        4.6303378461565452959) *
        r +
        1.42343711074968357734) /
      (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r + 0.14810397642748007459) * r + 0.68976733498510000455) * r +
        1.6763848301838038494) *
        r +
        2.05319162663775882187) *
        r +
        1);
  } else {
    r -= 5;
    x =
      (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r + 0.026532189526576123093) * r + 0.29656057182850489123) * r +
        1.7848265399172913358) *
        r +
        5.4637849111641143699) *
        r +
        6.6579046435011037772) /
      (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r + 7.868691311456132591e-4) * r + 0.0148753612908506148525) * r +
        0.13692988092273580531) *
        r +
        0.59983220655588793769) *
        r +
        1);
  }
  return q < 0 ? -x : x;
}

export interface Moments {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1). */
  readonly std: number;
  /** Population skewness m3 / m2^1.5. */
  readonly skew: number;
  /** Population (non-excess) kurtosis m4 / m2²: 3 for a normal distribution. */
  readonly kurtosis: number;
}

/** Moments of a return series; skew and kurtosis as the papers estimate them (biased, like scipy's defaults). */
export function moments(x: ArrayLike<number>): Moments {
  const n = x.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[i]!;
  const mean = sum / n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i]! - mean;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  const std = n > 1 ? Math.sqrt(m2 / (n - 1)) : NaN;
  m2 /= n;
  m3 /= n;
  m4 /= n;
  return { n, mean, std, skew: m2 > 0 ? m3 / Math.pow(m2, 1.5) : NaN, kurtosis: m2 > 0 ? m4 / (m2 * m2) : NaN };
}

/** Per-period Sharpe ratio mean / std (sample std); NaN when undefined. */
export function sharpeOf(x: ArrayLike<number>): number {
  const m = moments(x);
  return m.std > 0 ? m.mean / m.std : NaN;
}

export interface PsrInput {
  /** Observed per-period Sharpe ratio. */
  readonly sharpe: number;
  /** Number of return observations T. */
  readonly n: number;
  readonly skew: number;
  /** Non-excess kurtosis (3 for normal). */
  readonly kurtosis: number;
  /** Per-period benchmark SR*; 0 by default. */
  readonly benchmark?: number;
}

/**
 * Standard error of the Sharpe estimate (Mertens 2002, as used by the PSR):
 * √((1 − γ₃·SR + (γ₄ − 1)/4·SR²) / (T − 1)).
 */
export function sharpeStdError(sharpe: number, n: number, skew: number, kurtosis: number): number {
  const v = 1 - skew * sharpe + ((kurtosis - 1) / 4) * sharpe * sharpe;
  return v > 0 && n > 1 ? Math.sqrt(v / (n - 1)) : NaN;
}

/** PSR(SR*) = Φ((SR − SR*)·√(T − 1) / √(1 − γ₃·SR + (γ₄ − 1)/4·SR²)). */
export function probabilisticSharpe(input: PsrInput): number {
  const se = sharpeStdError(input.sharpe, input.n, input.skew, input.kurtosis);
  return normalCdf((input.sharpe - (input.benchmark ?? 0)) / se);
}

/** PSR straight from a return series. */
export function probabilisticSharpeOf(returns: ArrayLike<number>, benchmark = 0): number {
  const m = moments(returns);
  return probabilisticSharpe({ sharpe: m.std > 0 ? m.mean / m.std : NaN, n: m.n, skew: m.skew, kurtosis: m.kurtosis, benchmark });
}

/**
 * The Sharpe ratio the best of N independent unskilled trials reaches by luck:
 * SR₀ = √V[SR_n] · ((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e))). Zero for one trial.
 */
export function expectedMaxSharpe(trials: number, varianceOfTrialSharpes: number): number {
  if (!(trials >= 1) || !Number.isFinite(trials)) throw new RangeError(`trials must be ≥ 1, got ${trials}`);
  if (!(varianceOfTrialSharpes >= 0)) throw new RangeError(`variance of trial Sharpe ratios must be ≥ 0, got ${varianceOfTrialSharpes}`);
  if (trials === 1) return 0;
  const g = EULER_MASCHERONI;
  return Math.sqrt(varianceOfTrialSharpes) * ((1 - g) * normalInv(1 - 1 / trials) + g * normalInv(1 - 1 / (trials * Math.E)));
}

export interface DsrInput {
  /** Observed per-period Sharpe ratio of the selected (best) trial. */
  readonly sharpe: number;
  readonly n: number;
  readonly skew: number;
  readonly kurtosis: number;
  /** Number of trials actually run (N). */
  readonly trials: number;
  /** Variance of the per-period Sharpe ratios across the trials. */
  readonly varianceOfTrialSharpes: number;
}

export interface DsrResult {
  readonly dsr: number;
  /** The deflated benchmark SR₀ (per period). */
  readonly expectedMaxSharpe: number;
}

/** DSR = PSR(SR₀) with SR₀ the expected maximum Sharpe ratio of N unskilled trials. */
export function deflatedSharpe(input: DsrInput): DsrResult {
  const sr0 = expectedMaxSharpe(input.trials, input.varianceOfTrialSharpes);
  return { dsr: probabilisticSharpe({ sharpe: input.sharpe, n: input.n, skew: input.skew, kurtosis: input.kurtosis, benchmark: sr0 }), expectedMaxSharpe: sr0 };
}

/** Sample variance (n − 1) of finite values; NaN entries (failed trials) are skipped. */
export function varianceOf(x: ArrayLike<number>): number {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < x.length; i++) if (Number.isFinite(x[i]!)) (n++, (sum += x[i]!));
  if (n < 2) return 0;
  const mean = sum / n;
  let s = 0;
  for (let i = 0; i < x.length; i++) if (Number.isFinite(x[i]!)) s += (x[i]! - mean) ** 2;
  return s / (n - 1);
}

// ---------------------------------------------------------------------------------------------
// CSCV / PBO

export type CscvMetric = 'sharpe' | 'mean';

export interface PboOptions {
  /** Number of row blocks S (even, ≥ 2); 16 as in the paper by default. */
  readonly blocks?: number;
  /** Performance statistic ranked in and out of sample; Sharpe ratio by default. */
  readonly metric?: CscvMetric;
}

export interface PboResult {
  /** Share of combinations whose in-sample best ranks at or below the out-of-sample median. */
  readonly pbo: number;
  /** λ_c = ln(ω_c / (1 − ω_c)) per combination, ω_c the relative OOS rank of the IS-best trial. */
  readonly logits: Float64Array;
  readonly combinations: number;
  readonly blocks: number;
  /** Rows used (a multiple of the block count; the oldest T mod S rows are dropped). */
  readonly rowsUsed: number;
  readonly trials: number;
  /** Least-squares line OOS = intercept + slope·IS over the IS-best trial of each combination. */
  readonly degradation: { readonly slope: number; readonly intercept: number };
  /** Share of combinations where the IS-best trial loses out of sample (OOS statistic < 0). */
  readonly probOosLoss: number;
}

export function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/**
 * PBO by combinatorially symmetric cross-validation. `trials[n]` is trial n's return series
 * (all the same length T, aligned in time): the columns of the paper's T×N matrix M.
 * Per block and trial only sums and sums of squares are kept, so each of the C(S, S/2)
 * combinations costs O(N·S), not O(N·T).
 */
export function probabilityOfOverfitting(trials: readonly ArrayLike<number>[], opts: PboOptions = {}): PboResult {
  const S = opts.blocks ?? 16;
  const metric = opts.metric ?? 'sharpe';
  const N = trials.length;
  if (N < 2) throw new RangeError(`CSCV needs at least 2 trials, got ${N}`);
  if (!Number.isInteger(S) || S < 2 || S % 2 !== 0) throw new RangeError(`blocks must be an even integer ≥ 2, got ${S}`);
  const T = trials[0]!.length;
  for (const t of trials) if (t.length !== T) throw new RangeError(`every trial needs ${T} returns, one has ${t.length}`);
  const m = Math.floor(T / S);
  if (m < 2) throw new RangeError(`${T} rows cannot make ${S} blocks of at least 2 rows`);
  const skip = T - m * S;

  const sum = new Float64Array(S * N);
  const sq = new Float64Array(S * N);
  for (let n = 0; n < N; n++) {
    const col = trials[n]!;
    for (let b = 0; b < S; b++) {
      let s = 0;
      let q = 0;
      const start = skip + b * m;
      for (let i = start; i < start + m; i++) {
        const v = col[i]!;
        s += v;
        q += v * v;
      }
      sum[b * N + n] = s;
      sq[b * N + n] = q;
    }
  }
  const totSum = new Float64Array(N);
  const totSq = new Float64Array(N);
  for (let b = 0; b < S; b++) {
    for (let n = 0; n < N; n++) {
      totSum[n]! += sum[b * N + n]!;
      totSq[n]! += sq[b * N + n]!;
    }
  }

  const half = S / 2;
  const rows = half * m;
  const stat = (s: number, q: number): number => {
    const mean = s / rows;
    if (metric === 'mean') return mean;
    const v = (q - s * mean) / (rows - 1);
    return v > 0 ? mean / Math.sqrt(v) : mean > 0 ? Infinity : mean < 0 ? -Infinity : 0;
  };

  const C = binomial(S, half);
  const logits = new Float64Array(C);
  const isBest = new Float64Array(C);
  const oosBest = new Float64Array(C);
  const pick = new Int32Array(half);
  for (let i = 0; i < half; i++) pick[i] = i;
  const isSum = new Float64Array(N);
  const isSq = new Float64Array(N);
  const oosStat = new Float64Array(N);
  let c = 0;
  let overfit = 0;
  let losses = 0;
  for (;;) {
    isSum.fill(0);
    isSq.fill(0);
    for (let j = 0; j < half; j++) {
      const off = pick[j]! * N;
      for (let n = 0; n < N; n++) {
        isSum[n]! += sum[off + n]!;
        isSq[n]! += sq[off + n]!;
      }
    }
    let best = 0;
    let bestIs = -Infinity;
    for (let n = 0; n < N; n++) {
      const s = stat(isSum[n]!, isSq[n]!);
      if (s > bestIs) {
        bestIs = s;
        best = n;
      }
      oosStat[n] = stat(totSum[n]! - isSum[n]!, totSq[n]! - isSq[n]!);
    }
    const ob = oosStat[best]!;
    let below = 0;
    let ties = 0;
    for (let n = 0; n < N; n++) {
      if (n === best) continue;
      const v = oosStat[n]!;
      if (v < ob) below++;
      else if (v === ob) ties++;
    }
    // Rank 1..N (ties share the middle), relative rank ω = rank / (N + 1) in (0, 1).
    const w = (1 + below + ties / 2) / (N + 1);
    const lambda = Math.log(w / (1 - w));
    logits[c] = lambda;
    isBest[c] = bestIs;
    oosBest[c] = ob;
    if (lambda <= 0) overfit++;
    if (ob < 0) losses++;
    c++;
    // Next combination in lexicographic order.
    let i = half - 1;
    while (i >= 0 && pick[i] === S - half + i) i--;
    if (i < 0) break;
    pick[i]!++;
    for (let j = i + 1; j < half; j++) pick[j] = pick[j - 1]! + 1;
  }
  return {
    pbo: overfit / C,
    logits,
    combinations: C,
    blocks: S,
    rowsUsed: m * S,
    trials: N,
    degradation: leastSquares(isBest, oosBest),
    probOosLoss: losses / C,
  };
}

function leastSquares(x: Float64Array, y: Float64Array): { slope: number; intercept: number } {
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!) || !Number.isFinite(y[i]!)) continue;
    n++;
    sx += x[i]!;
    sy += y[i]!;
  }
  if (n < 2) return { slope: NaN, intercept: NaN };
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!) || !Number.isFinite(y[i]!)) continue;
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : NaN;
  return { slope, intercept: my - slope * mx };
}
