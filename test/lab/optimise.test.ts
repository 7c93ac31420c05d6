import { describe, expect, it } from 'vitest';
import { optimise, type Method } from '../../lab/optimise.ts';
import { normalCdf } from '../../engine/overfitting.ts';
import { pointKey, type Params, type SearchSpace } from '../../lab/search-space.ts';

/**
 * Branin–Hoo, the standard 2-D test function of the Bayesian-optimisation literature (Dixon &
 * Szegő 1978; used by Bergstra et al. for TPE): on x ∈ [−5, 10], y ∈ [0, 15] its global minimum is
 * 0.397887, reached at (−π, 12.275), (π, 2.275) and (9.42478, 2.475).
 */
function branin(x: number, y: number): number {
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (y - b * x * x + c * x - 6) ** 2 + 10 * (1 - t) * Math.cos(x) + 10;
}
const BRANIN_MIN = 0.397887;

const brSpace: SearchSpace = {
  dimensions: [
    { kind: 'range', name: 'x', min: -5, max: 10, int: false },
    { kind: 'range', name: 'y', min: 0, max: 15, int: false },
  ],
  fixed: {},
};
const evalBranin = async (ps: readonly Params[]) => ps.map((p) => -branin(p.x as number, p.y as number));

async function regret(method: Method, seed: number, budget: number): Promise<number> {
  const r = await optimise({ space: brSpace, method, trials: budget, seed, isValid: () => true, evaluate: evalBranin });
  expect(r.trials).toHaveLength(budget);
  return -r.best!.value - BRANIN_MIN;
}

describe('optimisers', () => {
  it('the Branin function here has the published minimum at its three optima', () => {
    for (const [x, y] of [[-Math.PI, 12.275], [Math.PI, 2.275], [9.42478, 2.475]] as const) expect(branin(x, y)).toBeCloseTo(BRANIN_MIN, 5);
  });

  it('TPE gets closer to the optimum than random search on the same budget (20 seeds)', async () => {
    const budget = 100;
    const tpe: number[] = [];
    const rnd: number[] = [];
    let wins = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const t = await regret('tpe', seed, budget);
      const r = await regret('random', seed, budget);
      // Neither can beat the true minimum: a sanity check on the function and the bookkeeping.
      expect(t).toBeGreaterThanOrEqual(-1e-9);
      expect(r).toBeGreaterThanOrEqual(-1e-9);
      tpe.push(t);
      rnd.push(r);
      if (t < r) wins++;
    }
    const median = (a: number[]) => a.slice().sort((p, q) => p - q)[a.length >> 1]!;
    expect(wins).toBeGreaterThanOrEqual(14);
    expect(median(tpe)).toBeLessThan(median(rnd) / 4);
  });

  it('same seed, same proposals and scores; another seed, other proposals', async () => {
    const seen: string[][] = [];
    for (const seed of [5, 5, 6]) {
      const order: string[] = [];
      await optimise({ space: brSpace, method: 'tpe', trials: 30, seed, isValid: () => true, evaluate: async (ps) => (order.push(...ps.map(pointKey)), evalBranin(ps)) });
      seen.push(order);
    }
    expect(seen[0]).toEqual(seen[1]);
    expect(seen[2]).not.toEqual(seen[0]);
  });

  it('random and TPE never evaluate a point twice or a point the constraints reject, and count the rejections', async () => {
    const space: SearchSpace = {
      dimensions: [
        { kind: 'range', name: 'fast', min: 2, max: 30, step: 1, int: true },
        { kind: 'range', name: 'slow', min: 3, max: 60, step: 1, int: true },
      ],
      fixed: {},
    };
    const isValid = (p: Params) => (p.fast as number) < (p.slow as number);
    for (const method of ['random', 'tpe'] as const) {
      const evaluated: Params[] = [];
      const r = await optimise({
        space,
        method,
        trials: 80,
        seed: 3,
        isValid,
        evaluate: async (ps) => (evaluated.push(...ps), ps.map((p) => -Math.abs((p.fast as number) - 9) - Math.abs((p.slow as number) - 40))),
      });
      expect(evaluated).toHaveLength(80);
      expect(new Set(evaluated.map(pointKey)).size).toBe(80);
      expect(evaluated.every(isValid)).toBe(true);
      expect(evaluated.every((p) => Number.isInteger(p.fast) && Number.isInteger(p.slow))).toBe(true);
      expect(r.skippedInvalid).toBeGreaterThan(0);
    }
  });

  it('a budget larger than the space runs each allowed point once and stops', async () => {
    const space: SearchSpace = { dimensions: [{ kind: 'choice', name: 'm', values: ['a', 'b', 'c'] }, { kind: 'range', name: 'n', min: 1, max: 2, step: 1, int: true }], fixed: {} };
    for (const method of ['random', 'tpe'] as const) {
      const r = await optimise({ space, method, trials: 50, seed: 1, isValid: (p) => p.m !== 'c', evaluate: async (ps) => ps.map(() => 0) });
      expect(r.trials.map((t) => pointKey(t.point)).sort()).toEqual(['{"m":"a","n":1}', '{"m":"a","n":2}', '{"m":"b","n":1}', '{"m":"b","n":2}']);
    }
  });

  it('a NaN score ranks below every number', async () => {
    const space: SearchSpace = { dimensions: [{ kind: 'choice', name: 'k', values: [1, 2, 3] }], fixed: {} };
    const r = await optimise({ space, method: 'grid', isValid: () => true, evaluate: async (ps) => ps.map((p) => (p.k === 2 ? NaN : -(p.k as number))) });
    expect(r.best!.point).toEqual({ k: 1 });
  });

  it('normalCdf matches published Φ values (Abramowitz & Stegun table 26.1)', () => {
    for (const [x, p] of [[0, 0.5], [1, 0.8413447461], [1.96, 0.9750021049], [-2.5, 0.0062096653], [3, 0.9986501020]] as const) expect(normalCdf(x)).toBeCloseTo(p, 6);
  });
});
