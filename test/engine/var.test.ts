import { describe, expect, it } from 'vitest';
import {
  cholesky, covarianceMatrix, historicalVar, historicalVarEs, monteCarloVar, RollingCovariance,
  parametricVar, parametricVarEs, varReport,
} from '../../engine/var.ts';

// Published standard normal quantile (e.g. NIST/SEMATECH e-Handbook tables, Abramowitz & Stegun).
const Z99 = 2.3263478740408408;

describe('historical VaR/ES', () => {
  // P&L of 10 scenarios; losses sorted worst first: 8, 6, 3, 1, 0, -1, ...
  const pnl = [5, -3, 2, -8, 1, -1, 4, -6, 0, 3];
  it('takes the k-th worst loss and the mean of the k worst, k = ⌈(1 − c)·T⌉', () => {
    expect(historicalVarEs(pnl, 0.8)).toEqual({ var: 6, es: 7 }); // k = 2
    expect(historicalVarEs(pnl, 0.9)).toEqual({ var: 8, es: 8 }); // k = 1
    expect(historicalVarEs(pnl, 0.95)).toEqual({ var: 8, es: 8 }); // k = ⌈0.5⌉ = 1
    expect(historicalVarEs(pnl, 0.7)).toEqual({ var: 3, es: 17 / 3 }); // k = 3
  });
  it('combines positions scenario by scenario', () => {
    // P&L = 1·a + 2·b = [-0.1, -0.1, -0.55]; c = 0.5 → k = 2: VaR 0.1, ES (0.55 + 0.1)/2.
    const r = historicalVar([1, 2], [[0.1, -0.2, 0.05], [-0.1, 0.05, -0.3]], 0.5);
    expect(r.var).toBeCloseTo(0.1, 15);
    expect(r.es).toBeCloseTo(0.325, 15);
  });
});

describe('parametric VaR/ES', () => {
  it('VaR = z·σ·V and ES = σ·φ(z)/(1 − c)', () => {
    expect(parametricVarEs(100, 0.95).var).toBeCloseTo(164.48536, 4);
    expect(parametricVarEs(100, 0.99).var).toBeCloseTo(232.63479, 4);
    // ES/σ for a normal: 2.0627128 at 95%, 2.6652142 at 99% (standard tables).
    expect(parametricVarEs(100, 0.95).es).toBeCloseTo(206.27128, 3);
    expect(parametricVarEs(100, 0.99).es).toBeCloseTo(266.52142, 3);
  });
  it('uses the sample σ of the position', () => {
    // mean 0, Σr² = 0.002, /(4 − 1) → σ = √(0.002/3); V = 10 000.
    const r = parametricVar([10_000], [[0.01, -0.01, 0.03, -0.03]], 0.99);
    expect(r.var).toBeCloseTo(Z99 * Math.sqrt(0.002 / 3) * 10_000, 9);
  });
  it('takes correlation into account', () => {
    const a = [0.02, -0.02, 0.02, -0.02];
    const b = [0.02, 0.02, -0.02, -0.02]; // Σ a·b = 0: uncorrelated with a, same σ
    const single = parametricVar([10_000], [a], 0.95).var;
    expect(parametricVar([5_000, 5_000], [a, a], 0.95).var).toBeCloseTo(single, 9); // ρ = 1: no diversification
    expect(parametricVar([5_000, 5_000], [a, b], 0.95).var).toBeCloseTo(single / Math.SQRT2, 9); // ρ = 0
    expect(parametricVar([5_000, -5_000], [a, a], 0.95).var).toBeCloseTo(0, 9); // perfect hedge
  });
});

describe('Monte Carlo VaR/ES', () => {
  const a = [0.01, -0.02, 0.015, -0.005, 0.03, -0.025, 0.0, 0.01, -0.01, 0.005];
  const b = a.map((x, i) => 0.6 * x + (i % 2 ? 0.01 : -0.01));
  it('is deterministic for a seed and converges to the parametric figures', () => {
    const p = parametricVar([7_000, 3_000], [a, b], 0.99);
    const m1 = monteCarloVar([7_000, 3_000], [a, b], 0.99, { seed: 42, paths: 100_000 });
    const m2 = monteCarloVar([7_000, 3_000], [a, b], 0.99, { seed: 42, paths: 100_000 });
    const m3 = monteCarloVar([7_000, 3_000], [a, b], 0.99, { seed: 43, paths: 100_000 });
    expect(m1).toEqual(m2);
    expect(m3).not.toEqual(m1);
    expect(m1.var / p.var).toBeGreaterThan(0.98);
    expect(m1.var / p.var).toBeLessThan(1.02);
    expect(m1.es / p.es).toBeGreaterThan(0.97);
    expect(m1.es / p.es).toBeLessThan(1.03);
  });
  it('handles perfectly correlated assets (singular covariance)', () => {
    const m = monteCarloVar([5_000, 5_000], [a, a], 0.95, { seed: 1, paths: 100_000, zeroMean: true });
    const p = parametricVar([10_000], [a], 0.95, { zeroMean: true });
    expect(m.var / p.var).toBeGreaterThan(0.97);
    expect(m.var / p.var).toBeLessThan(1.03);
  });
  it('reports all methods at 95% and 99%', () => {
    const r = varReport([7_000, 3_000], [a, b], { seed: 5, paths: 10_000 });
    for (const f of [r.historical, r.parametric, r.monteCarlo]) {
      expect(f.var99).toBeGreaterThanOrEqual(f.var95);
      expect(f.es95).toBeGreaterThanOrEqual(f.var95);
      expect(f.es99).toBeGreaterThanOrEqual(f.var99);
    }
  });
});

describe('linear algebra', () => {
  it('Cholesky of [[4,2],[2,3]] is [[2,0],[1,√2]]', () => {
    const L = cholesky([4, 2, 2, 3], 2);
    expect(Array.from(L)).toEqual([2, 0, 1, Math.SQRT2]);
  });
  it('sample covariance divides by T − 1', () => {
    // x = [1,2,3,4], y = [2,4,6,9]: means 2.5, 5.25; Σdx² = 5, Σdxdy = 11.5, Σdy² = 26.75.
    expect(Array.from(covarianceMatrix([[1, 2, 3, 4], [2, 4, 6, 9]])).map((v) => +v.toFixed(12))).toEqual([5 / 3, 11.5 / 3, 11.5 / 3, 26.75 / 3].map((v) => +v.toFixed(12)));
  });
});

describe('RollingCovariance', () => {
  const DAY = 86_400_000;
  it('samples the first price of each UTC day and matches the covariance of those returns', () => {
    const rc = new RollingCovariance(['A', 'B'], 250, 2);
    const a = [100, 101, 99.99, 100.9899];
    const b = [50, 49.5, 49.995, 49.49505];
    for (let d = 0; d < a.length; d++) {
      rc.update(d * DAY, (s) => (s === 'A' ? a[d]! : b[d]!));
      // Later prices the same day are ignored: only the day's first mark counts.
      rc.update(d * DAY + 3_600_000, () => 1e9);
    }
    // Returns: A +1%, −1%, +1%; B −1%, +1%, −1% (perfectly anti-correlated).
    const want = covarianceMatrix([[0.01, -0.01, 0.01], [-0.01, 0.01, -0.01]]);
    Array.from(rc.covariance()!).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));
  });
  it('gives no estimate before minObservations returns', () => {
    const rc = new RollingCovariance(['A'], 250, 5);
    for (let d = 0; d < 5; d++) rc.update(d * DAY, () => 100 + d);
    expect(rc.covariance()).toBeNull(); // 4 returns
    rc.update(5 * DAY, () => 106);
    expect(rc.covariance()).not.toBeNull();
  });
});
