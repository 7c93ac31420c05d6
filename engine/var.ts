import { createRng } from './rng.ts';
import { normalInv } from './overfitting.ts';

/**
 * Value at Risk and expected shortfall of a portfolio of positions, three ways.
 *
 * Inputs: `exposures[i]` = signed notional of position i (qty × price, quote currency) and
 * `returns[i]` = that asset's simple returns, one array per asset, all of length T, at the VaR
 * horizon (daily returns for 1-day VaR). Portfolio P&L in scenario t is Σ_i exposures[i]·returns[i][t],
 * so correlation enters through the joint scenarios (historical), the covariance matrix
 * (parametric) or correlated normal draws via a Cholesky factor (Monte Carlo).
 *
 * Results are positive LOSS amounts in quote currency (a VaR of 1000 = "we lose at most 1000 with
 * 99% confidence"). Conventions, written down because VaR conventions differ:
 * - historical: with T scenarios and k = ⌈(1 − c)·T⌉ tail scenarios, VaR is the k-th worst loss and
 *   ES the mean of the k worst losses (the tail-mass definition of Acerbi & Tasche).
 * - parametric (variance–covariance, normal): VaR = z_c·σ − μ, ES = σ·φ(z_c)/(1 − c) − μ, where
 *   σ² = wᵀΣw with the sample covariance (T − 1) and μ = wᵀ·mean (pass `zeroMean` to drop μ).
 * - Monte Carlo: `paths` draws from N(mean, Σ) with the seeded generator, then the historical rule.
 * Monte Carlo is deterministic for a seed; it converges to the parametric figures.
 */
export interface VarEs {
  readonly var: number;
  readonly es: number;
}

export interface VarFigures {
  readonly var95: number;
  readonly es95: number;
  readonly var99: number;
  readonly es99: number;
}

export interface VarReport {
  readonly historical: VarFigures;
  readonly parametric: VarFigures;
  readonly monteCarlo: VarFigures;
}

function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

/** Portfolio P&L per scenario: Σ_i w_i · r_i[t]. */
export function portfolioPnl(exposures: ArrayLike<number>, returns: readonly ArrayLike<number>[]): Float64Array {
  const n = checkShape(exposures, returns);
  const T = n === 0 ? 0 : returns[0]!.length;
  const pnl = new Float64Array(T);
  for (let i = 0; i < n; i++) {
    const w = exposures[i]!, r = returns[i]!;
    for (let t = 0; t < T; t++) pnl[t]! += w * r[t]!;
  }
  return pnl;
}

/** VaR/ES from a P&L sample by the historical rule above. */
export function historicalVarEs(pnl: ArrayLike<number>, confidence: number): VarEs {
  checkConfidence(confidence);
  const T = pnl.length;
  if (T === 0) throw new RangeError('historical VaR needs at least one scenario');
  const losses = Float64Array.from(pnl, (x) => -x).sort();
  const k = Math.max(1, Math.ceil((1 - confidence) * T - 1e-9));
  let sum = 0;
  for (let j = 0; j < k; j++) sum += losses[T - 1 - j]!;
  return { var: losses[T - k]!, es: sum / k };
}

export function historicalVar(exposures: ArrayLike<number>, returns: readonly ArrayLike<number>[], confidence: number): VarEs {
  return historicalVarEs(portfolioPnl(exposures, returns), confidence);
}

function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s / x.length;
}

/** Sample covariance matrix (divisor T − 1), row-major n×n. */
export function covarianceMatrix(returns: readonly ArrayLike<number>[]): Float64Array {
  const n = returns.length;
  const T = n === 0 ? 0 : returns[0]!.length;
  if (T < 2) throw new RangeError('covariance needs at least two observations per asset');
  const mu = returns.map(mean);
  const cov = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      const a = returns[i]!, b = returns[j]!;
      for (let t = 0; t < T; t++) s += (a[t]! - mu[i]!) * (b[t]! - mu[j]!);
      cov[i * n + j] = cov[j * n + i] = s / (T - 1);
    }
  }
  return cov;
}

/** σ of the portfolio: √(wᵀΣw). */
export function portfolioSigma(exposures: ArrayLike<number>, cov: ArrayLike<number>): number {
  const n = exposures.length;
  if (cov.length !== n * n) throw new RangeError(`covariance must be ${n}×${n}`);
  let v = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) v += exposures[i]! * exposures[j]! * cov[i * n + j]!;
  return Math.sqrt(Math.max(0, v));
}

/** Normal VaR/ES for a P&L with standard deviation `sigma` and mean `mu` (currency). */
export function parametricVarEs(sigma: number, confidence: number, mu = 0): VarEs {
  checkConfidence(confidence);
  const z = normalInv(confidence);
  return { var: z * sigma - mu, es: (sigma * normalPdf(z)) / (1 - confidence) - mu };
}

export interface ParametricOptions {
  /** Ignore the sample mean (the usual choice for short horizons). Default false. */
  readonly zeroMean?: boolean;
}

export function parametricVar(
  exposures: ArrayLike<number>,
  returns: readonly ArrayLike<number>[],
  confidence: number,
  opts: ParametricOptions = {},
): VarEs {
  checkShape(exposures, returns);
  const sigma = portfolioSigma(exposures, covarianceMatrix(returns));
  const mu = opts.zeroMean ? 0 : weightedMean(exposures, returns);
  return parametricVarEs(sigma, confidence, mu);
}

/**
 * Lower-triangular L with LLᵀ = Σ. Tolerates positive SEMI-definite Σ (perfectly correlated
 * assets give a zero pivot; that column is left at 0 instead of failing).
 */
export function cholesky(cov: ArrayLike<number>, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = cov[j * n + j]!;
    for (let k = 0; k < j; k++) d -= L[j * n + k]! ** 2;
    const scale = Math.abs(cov[j * n + j]!) || 1;
    if (d < -1e-10 * scale) throw new RangeError('covariance matrix is not positive semi-definite');
    const ljj = d > 1e-14 * scale ? Math.sqrt(d) : 0;
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = cov[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      L[i * n + j] = ljj > 0 ? s / ljj : 0;
    }
  }
  return L;
}

export interface MonteCarloOptions extends ParametricOptions {
  readonly seed: number;
  /** Number of simulated scenarios; default 20,000. */
  readonly paths?: number;
}

/** Simulated portfolio P&L under N(mean, Σ); seeded, so the same inputs give the same sample. */
export function monteCarloPnl(exposures: ArrayLike<number>, returns: readonly ArrayLike<number>[], opts: MonteCarloOptions): Float64Array {
  const n = checkShape(exposures, returns);
  const L = cholesky(covarianceMatrix(returns), n);
  const mu = returns.map((r) => (opts.zeroMean ? 0 : mean(r)));
  // wᵀ(μ + Lz) = wᵀμ + (Lᵀw)ᵀz: one dot product of length n per path.
  const a = new Float64Array(n);
  for (let k = 0; k < n; k++) for (let i = k; i < n; i++) a[k]! += exposures[i]! * L[i * n + k]!;
  let base = 0;
  for (let i = 0; i < n; i++) base += exposures[i]! * mu[i]!;
  const rng = createRng(opts.seed);
  const paths = opts.paths ?? 20_000;
  const pnl = new Float64Array(paths);
  for (let p = 0; p < paths; p++) {
    let s = base;
    for (let k = 0; k < n; k++) s += a[k]! * rng.normal();
    pnl[p] = s;
  }
  return pnl;
}

export function monteCarloVar(exposures: ArrayLike<number>, returns: readonly ArrayLike<number>[], confidence: number, opts: MonteCarloOptions): VarEs {
  return historicalVarEs(monteCarloPnl(exposures, returns, opts), confidence);
}

/** All three methods at 95% and 99%: the figures a backtest result carries. */
export function varReport(exposures: ArrayLike<number>, returns: readonly ArrayLike<number>[], opts: MonteCarloOptions): VarReport {
  const fig = (f: (c: number) => VarEs): VarFigures => {
    const a = f(0.95), b = f(0.99);
    return { var95: a.var, es95: a.es, var99: b.var, es99: b.es };
  };
  const hist = portfolioPnl(exposures, returns);
  const mc = monteCarloPnl(exposures, returns, opts);
  return {
    historical: fig((c) => historicalVarEs(hist, c)),
    parametric: fig((c) => parametricVar(exposures, returns, c, opts)),
    monteCarlo: fig((c) => historicalVarEs(mc, c)),
  };
}

function weightedMean(exposures: ArrayLike<number>, returns: readonly ArrayLike<number>[]): number {
  let m = 0;
  for (let i = 0; i < exposures.length; i++) m += exposures[i]! * mean(returns[i]!);
  return m;
}

function checkShape(exposures: ArrayLike<number>, returns: readonly ArrayLike<number>[]): number {
  const n = exposures.length;
  if (returns.length !== n) throw new RangeError(`${n} exposures but ${returns.length} return series`);
  for (let i = 1; i < n; i++) {
    if (returns[i]!.length !== returns[0]!.length) throw new RangeError('every return series must have the same length');
  }
  return n;
}

function checkConfidence(c: number): void {
  if (!(c > 0 && c < 1)) throw new RangeError(`confidence must be in (0, 1), got ${c}`);
}

/**
 * Rolling per-period returns of a fixed set of symbols and their covariance, for the `maxVar`
 * limit. Prices are sampled at the first update of each period (UTC days by default), so the
 * estimate at time t uses only prices seen up to t: no look-ahead in a backtest.
 */
export class RollingCovariance {
  private readonly n: number;
  private readonly rets: Float64Array[];
  private readonly prev: Float64Array;
  private count = 0;
  private head = 0;
  private period = Number.NaN;
  private cached: Float64Array | null = null;

  constructor(
    readonly symbols: readonly string[],
    /** Returns kept (default 250 periods). */
    readonly window = 250,
    /** Fewer returns than this → no estimate (default 20). */
    readonly minObservations = 20,
    readonly periodMs = 86_400_000,
  ) {
    this.n = symbols.length;
    this.rets = symbols.map(() => new Float64Array(window));
    this.prev = new Float64Array(this.n).fill(Number.NaN);
  }

  /** Call on every mark; it only records when a new period starts. */
  update(ts: number, priceOf: (symbol: string) => number): void {
    const p = Math.floor(ts / this.periodMs);
    if (p === this.period) return;
    this.period = p;
    let complete = true;
    for (let i = 0; i < this.n; i++) if (!(this.prev[i]! > 0) || !(priceOf(this.symbols[i]!) > 0)) complete = false;
    if (complete) {
      for (let i = 0; i < this.n; i++) this.rets[i]![this.head] = priceOf(this.symbols[i]!) / this.prev[i]! - 1;
      this.head = (this.head + 1) % this.window;
      if (this.count < this.window) this.count++;
      this.cached = null;
    }
    for (let i = 0; i < this.n; i++) this.prev[i] = priceOf(this.symbols[i]!);
  }

  /** Sample covariance of the kept returns (row-major n×n), or null with too little history. */
  covariance(): Float64Array | null {
    if (this.count < Math.max(2, this.minObservations)) return null;
    if (this.cached === null) {
      // Ring order does not matter for a covariance, only which returns are kept.
      this.cached = covarianceMatrix(this.rets.map((r) => r.subarray(0, this.count)));
    }
    return this.cached;
  }
}
