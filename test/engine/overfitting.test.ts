import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  binomial,
  deflatedSharpe,
  expectedMaxSharpe,
  moments,
  normalCdf,
  normalInv,
  probabilisticSharpe,
  probabilisticSharpeOf,
  probabilityOfOverfitting,
  sharpeStdError,
} from '../../engine/overfitting.ts';
import { createRng } from '../../engine/rng.ts';

describe('normal distribution', () => {
  // Quantiles as published in standard tables (and by scipy.stats.norm.ppf to full precision).
  const quantiles: [number, number][] = [
    [0.5, 0],
    [0.8413447460685429, 1],
    [0.9, 1.2815515655446004],
    [0.95, 1.6448536269514722],
    [0.975, 1.959963984540054],
    [0.99, 2.3263478740408408],
    [0.995, 2.5758293035489004],
    [0.999, 3.090232306167813],
    [1e-10, -6.361340902404056],
    [0.025, -1.959963984540054],
  ];
  it('Φ⁻¹ matches published quantiles to ~1e-15', () => {
    for (const [p, z] of quantiles) expect(Math.abs(normalInv(p) - z)).toBeLessThan(2e-15 * Math.max(1, Math.abs(z)));
  });
  it('Φ matches published values', () => {
    // Φ(1.96), Φ(−1), Φ(−3), Φ(−8) from tables / erfc.
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021048517795, 14);
    expect(normalCdf(-1)).toBeCloseTo(0.15865525393145707, 14);
    expect(normalCdf(-3)).toBeCloseTo(0.0013498980316301035, 15);
    expect(normalCdf(-8) / 6.22096057427178e-16).toBeCloseTo(1, 6);
    expect(normalCdf(0)).toBe(0.5);
  });
  it('Φ(Φ⁻¹(p)) = p over (0, 1) (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-12, max: 1 - 1e-12, noNaN: true }), (p) => {
        expect(Math.abs(normalCdf(normalInv(p)) - p)).toBeLessThan(1e-14 + 1e-12 * Math.min(p, 1 - p));
      }),
    );
  });
  it('edges', () => {
    expect(normalInv(0)).toBe(-Infinity);
    expect(normalInv(1)).toBe(Infinity);
    expect(normalInv(1.5)).toBeNaN();
    expect(normalCdf(40)).toBe(1);
    expect(normalCdf(-40)).toBe(0);
  });
});

describe('deflated Sharpe ratio: the paper’s numerical example', () => {
  // Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", §5: best annualised SR 2.5 over
  // T = 1250 daily observations (5 years), N = 100 trials whose annualised SRs have variance 1/2,
  // returns with skewness −3 and kurtosis 10. Published: SR₀ ≈ 0.1132 (non-annualised), DSR ≈ 0.9004.
  const perYear = 250;
  const result = deflatedSharpe({ sharpe: 2.5 / Math.sqrt(perYear), n: 1250, skew: -3, kurtosis: 10, trials: 100, varianceOfTrialSharpes: 0.5 / perYear });
  it('expected maximum SR of 100 unskilled trials', () => expect(result.expectedMaxSharpe).toBeCloseTo(0.1132, 4));
  it('DSR', () => expect(result.dsr).toBeCloseTo(0.9004, 4));
  it('one trial deflates nothing: DSR = PSR(0)', () => {
    const one = deflatedSharpe({ sharpe: 0.1, n: 500, skew: 0, kurtosis: 3, trials: 1, varianceOfTrialSharpes: 0.3 });
    expect(one.dsr).toBe(probabilisticSharpe({ sharpe: 0.1, n: 500, skew: 0, kurtosis: 3 }));
  });
  it('more trials never make the bar lower (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5000 }), fc.double({ min: 1e-6, max: 1, noNaN: true }), (n, v) => expectedMaxSharpe(n + 1, v) >= expectedMaxSharpe(n, v)));
  });
  it('expected maximum of N draws against a Monte Carlo of N standard normals', () => {
    // The formula approximates E[max of N iid N(0,1)]; for N = 100 the exact value is ≈ 2.5076.
    const rng = createRng(11);
    const reps = 4000;
    let acc = 0;
    for (let r = 0; r < reps; r++) {
      let mx = -Infinity;
      for (let i = 0; i < 100; i++) mx = Math.max(mx, rng.normal());
      acc += mx;
    }
    expect(Math.abs(expectedMaxSharpe(100, 1) - acc / reps)).toBeLessThan(0.04);
  });
});

describe('probabilistic Sharpe ratio', () => {
  it('hand-worked: normal returns, SR 0.1 per period, T = 101 → Φ(0.1·10/√(1.005))', () => {
    // √(T−1) = 10; 1 − 0·SR + (3 − 1)/4·0.01 = 1.005.
    expect(probabilisticSharpe({ sharpe: 0.1, n: 101, skew: 0, kurtosis: 3 })).toBeCloseTo(normalCdf(1 / Math.sqrt(1.005)), 15);
    // Table: Φ(0.99) = 0.8389, Φ(1.00) = 0.8413; interpolated at 0.99751 → 0.8407.
    expect(normalCdf(1 / Math.sqrt(1.005))).toBeCloseTo(0.8407, 4);
  });
  it('the standard error matches the spread of Sharpe estimates on skewed, fat-tailed returns (Monte Carlo)', () => {
    // Returns X = E − 0.9 with E ~ Exp(1): mean 0.1, sd 1 (true SR 0.1), skew 2, kurtosis 9.
    const rng = createRng(5);
    const T = 400;
    const reps = 3000;
    const srs = new Float64Array(reps);
    const x = new Float64Array(T);
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < T; i++) x[i] = -Math.log(1 - rng.next()) - 0.9;
      const m = moments(x);
      srs[r] = m.mean / m.std;
    }
    const spread = moments(srs).std;
    const theory = sharpeStdError(0.1, T, 2, 9);
    expect(Math.abs(spread / theory - 1)).toBeLessThan(0.06);
    // Ignoring skew and kurtosis (the normal formula) would be visibly wrong here.
    expect(Math.abs(sharpeStdError(0.1, T, 0, 3) / spread - 1)).toBeGreaterThan(0.08);
  });
  it('is calibrated: PSR(SR*) computed on samples whose true SR is SR* is ~uniform', () => {
    const rng = createRng(9);
    const T = 250;
    const reps = 2000;
    let below05 = 0;
    let below01 = 0;
    const x = new Float64Array(T);
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < T; i++) x[i] = 0.05 + rng.normal();
      const p = probabilisticSharpeOf(x, 0.05);
      if (p < 0.5) below05++;
      if (p < 0.1) below01++;
    }
    expect(Math.abs(below05 / reps - 0.5)).toBeLessThan(0.04);
    expect(Math.abs(below01 / reps - 0.1)).toBeLessThan(0.03);
  });
  it('moments of a known sample', () => {
    // [1, 2, 3, 4, 10]: mean 4, m2 = 10, m3 = 36, m4 = 1394/5 → skew 36/10^1.5, kurtosis 278.8/100.
    const m = moments([1, 2, 3, 4, 10]);
    expect(m.mean).toBe(4);
    expect(m.std).toBeCloseTo(Math.sqrt(12.5), 14);
    expect(m.skew).toBeCloseTo(36 / Math.pow(10, 1.5), 14);
    expect(m.kurtosis).toBeCloseTo(2.788, 14);
  });
});

describe('probability of backtest overfitting (CSCV)', () => {
  it('hand-worked 4×2 matrix, two blocks, mean metric: the IS winner always loses OOS → PBO 1', () => {
    // Block 0 = rows 0–1, block 1 = rows 2–3. A: means 0 then 1; B: means 2 then −1.
    // IS block 0 → B best; OOS block 1: B (−1) < A (1) → rank 1 of 2, ω = 1/3, λ = ln ½.
    // IS block 1 → A best; OOS block 0: A (0) < B (2) → the same. Both logits < 0.
    const r = probabilityOfOverfitting([Float64Array.from([0, 0, 1, 1]), Float64Array.from([2, 2, -1, -1])], { blocks: 2, metric: 'mean' });
    expect(r.combinations).toBe(2);
    for (const l of r.logits) expect(l).toBeCloseTo(Math.log(0.5), 14);
    expect(r.pbo).toBe(1);
    expect(r.probOosLoss).toBe(0.5);
  });
  it('consistent winner: PBO 0', () => {
    const r = probabilityOfOverfitting([Float64Array.from([1, 1, 1, 1]), Float64Array.from([0, 0, 0, 0])], { blocks: 2, metric: 'mean' });
    expect(r.pbo).toBe(0);
    for (const l of r.logits) expect(l).toBeCloseTo(Math.log(2), 14);
  });
  it('combination count is C(S, S/2)', () => {
    expect(binomial(16, 8)).toBe(12870);
    const rng = createRng(1);
    const cols = Array.from({ length: 3 }, () => Float64Array.from({ length: 64 }, () => rng.normal()));
    expect(probabilityOfOverfitting(cols, { blocks: 8 }).combinations).toBe(70);
  });
  it('one truly best strategy among noise: PBO ≈ 0', () => {
    const rng = createRng(21);
    const T = 1000;
    const cols = Array.from({ length: 30 }, (_, n) => Float64Array.from({ length: T }, () => (n === 7 ? 0.3 : 0) + rng.normal()));
    const r = probabilityOfOverfitting(cols, { blocks: 16 });
    expect(r.pbo).toBeLessThan(0.02);
    expect(r.probOosLoss).toBeLessThan(0.02);
  });
  it('pure noise: PBO ≈ 0.5 (averaged over independent matrices)', () => {
    const rng = createRng(33);
    let acc = 0;
    const reps = 12;
    for (let k = 0; k < reps; k++) {
      const cols = Array.from({ length: 40 }, () => Float64Array.from({ length: 400 }, () => rng.normal()));
      acc += probabilityOfOverfitting(cols, { blocks: 10 }).pbo;
    }
    expect(Math.abs(acc / reps - 0.5)).toBeLessThan(0.1);
  });
  it('agrees with a brute-force CSCV written directly from the paper (bitmask combinations, sorting ranks)', () => {
    const rng = createRng(4);
    const T = 96;
    const S = 8;
    const cols = Array.from({ length: 6 }, (_, n) => Float64Array.from({ length: T }, () => 0.05 * (n % 3) + rng.normal()));
    const fast = probabilityOfOverfitting(cols, { blocks: S });
    const m = T / S;
    const logits: number[] = [];
    for (let mask = 0; mask < 1 << S; mask++) {
      let bits = 0;
      for (let b = 0; b < S; b++) if (mask & (1 << b)) bits++;
      if (bits !== S / 2) continue;
      const sr = (col: Float64Array, inIs: boolean): number => {
        const rows: number[] = [];
        for (let b = 0; b < S; b++) if (Boolean(mask & (1 << b)) === inIs) for (let i = b * m; i < (b + 1) * m; i++) rows.push(col[i]!);
        const mean = rows.reduce((a, v) => a + v, 0) / rows.length;
        const sd = Math.sqrt(rows.reduce((a, v) => a + (v - mean) ** 2, 0) / (rows.length - 1));
        return mean / sd;
      };
      const is = cols.map((c) => sr(c, true));
      const oos = cols.map((c) => sr(c, false));
      const best = is.indexOf(Math.max(...is));
      const sorted = [...oos].sort((a, b) => a - b);
      const rank = sorted.indexOf(oos[best]!) + 1;
      const w = rank / (cols.length + 1);
      logits.push(Math.log(w / (1 - w)));
    }
    expect(fast.combinations).toBe(logits.length);
    // Lexicographic vs bitmask order differ; compare the distributions.
    const a = Array.from(fast.logits).sort((x, y) => x - y);
    const b = logits.sort((x, y) => x - y);
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 10);
    expect(fast.pbo).toBe(b.filter((l) => l <= 0).length / b.length);
  });
  it('rejects bad shapes', () => {
    expect(() => probabilityOfOverfitting([new Float64Array(10)], {})).toThrow(/at least 2 trials/);
    expect(() => probabilityOfOverfitting([new Float64Array(64), new Float64Array(64)], { blocks: 5 })).toThrow(/even/);
    expect(() => probabilityOfOverfitting([new Float64Array(64), new Float64Array(63)], { blocks: 4 })).toThrow(/64 returns/);
  });
});
