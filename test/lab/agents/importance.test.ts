import { describe, expect, it } from 'vitest';
import { factorImportance, fitLogistic, permutationImportance, samplesOf, type Sample } from '../../../lab/agents/importance.ts';
import { createRng } from '../../../engine/rng.ts';
import type { ScoredCall } from '../../../lab/agents/scoring.ts';

/** Decisions where only `rsi` drives the outcome; macd and volume are unrelated, noise is noise. */
function synthetic(n: number, seed: number): Sample[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const rsi = rng.normal(), macd = rng.normal(), volume = rng.next() * 1e6, noise = rng.normal();
    const y = rsi + 0.3 * rng.normal() > 0 ? 1 : 0;
    return { factors: { rsi, macd, volume, noise }, y };
  });
}

describe('permutation importance', () => {
  it('ranks the one factor that drives outcomes first; unrelated factors ≈ 0', () => {
    const r = permutationImportance(synthetic(800, 7), { seed: 3 });
    expect(r.n).toBe(800);
    expect(r.factors[0]!.factor).toBe('rsi');
    expect(r.factors[0]!.importance).toBeGreaterThan(0.3);
    expect(r.factors[0]!.coef).toBeGreaterThan(0);
    for (const f of r.factors.slice(1)) expect(Math.abs(f.importance)).toBeLessThan(0.01);
  });

  it('is deterministic for a seed, and a factor’s figure does not depend on the other factors present', () => {
    const s = synthetic(300, 11);
    expect(permutationImportance(s, { seed: 5 })).toEqual(permutationImportance(s, { seed: 5 }));
    const constant = s.map((x) => ({ ...x, factors: { ...x.factors, flat: 1 } }));
    const f = permutationImportance(constant, { seed: 5 }).factors.find((x) => x.factor === 'flat')!;
    expect(f.importance).toBe(0);
  });

  it('the logistic fit recovers the coefficient of the model that generated the data', () => {
    // y ~ Bernoulli(sigmoid(−0.5 + 2x)) with x standard normal (so standardising barely moves it).
    const rng = createRng(99);
    const n = 20_000;
    const x = new Float64Array(n), y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = rng.normal();
      y[i] = rng.next() < 1 / (1 + Math.exp(-(-0.5 + 2 * x[i]!))) ? 1 : 0;
    }
    const m = fitLogistic([x], y, 400, 0);
    expect(m.coef[0]).toBeCloseTo(2, 0);
    expect(Math.abs(m.coef[0]! - 2)).toBeLessThan(0.15);
    expect(Math.abs(m.intercept + 0.5)).toBeLessThan(0.1);
  });

  it('per agent and per regime, skipping groups that are too small', () => {
    const s = synthetic(200, 2);
    const calls = s.map((x, i) => ({
      agentId: i % 2 ? 'a' : 'b', ts: i, symbol: 'X', action: 'buy', confidence: 50, factors: x.factors, weights: {},
      outcome: { index: i, ret: x.y ? 0.01 : -0.01, knownAt: i + 1, regime: i < 150 ? 'range' : 'volatile' }, dir: 1, pnl: 0, right: x.y === 1,
    }) as ScoredCall);
    const r = factorImportance(calls, { byRegime: true, minSamples: 30 });
    expect(r.every((x) => x.target === 'call')).toBe(true);
    expect(factorImportance(calls, { target: 'price', minSamples: 30 })[0]!.factors[0]!.factor).toBe('rsi');
    expect(r.map((x) => [x.agentId, x.regime, x.n])).toEqual([['a', 'all', 100], ['a', 'range', 75], ['b', 'all', 100], ['b', 'range', 75]]);
    expect(r.every((x) => x.factors[0]!.factor === 'rsi')).toBe(true);
  });

  it("samples: a factor's support for the call (vote × direction) against the call being right; holds left out", () => {
    const base = { ts: 0, symbol: 'X', confidence: 50, weights: {}, agentId: 'a' };
    const o = (ret: number) => ({ index: 0, ret, knownAt: 1, regime: null });
    const calls = [
      { ...base, action: 'sell', factors: { rsi: 0.5, macd: -0.2 }, outcome: o(-0.01), dir: -1, pnl: 0.01, right: true },
      { ...base, action: 'buy', factors: { rsi: 0.5 }, outcome: o(-0.01), dir: 1, pnl: -0.01, right: false },
      { ...base, action: 'hold', factors: { rsi: 0.1 }, outcome: o(0.02), dir: 0, pnl: 0, right: null },
    ] as ScoredCall[];
    expect(samplesOf(calls)).toEqual([{ factors: { rsi: -0.5, macd: 0.2 }, y: 1 }, { factors: { rsi: 0.5 }, y: 0 }]);
    expect(samplesOf(calls, 'price').map((x) => x.y)).toEqual([0, 0, 1]);
  });
});
