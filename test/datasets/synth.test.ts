import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { barGrid, generateBars, normalSource, simulate, stationaryDistribution, type SynthModel } from '../../datasets/synth.ts';
import { createRng } from '../../engine/rng.ts';
import { InputError } from '../../engine/errors.ts';

// Reference constants worked by hand (not taken from the code under test).
const HOUR = 3_600_000;
const DAY = 86_400_000;
const HOURS_PER_YEAR = 24 * 365; // 8760: the 365-day annualisation the design fixes
const DAYS_PER_YEAR = 365;
const T0 = Date.UTC(2000, 0, 1);

function logReturns(close: Float64Array, open: Float64Array): Float64Array {
  const r = new Float64Array(close.length);
  for (let i = 0; i < close.length; i++) r[i] = Math.log(close[i]! / open[i]!);
  return r;
}

function meanStd(x: ArrayLike<number>): { mean: number; sd: number; n: number } {
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i]!;
  m /= x.length;
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i]! - m) ** 2;
  return { mean: m, sd: Math.sqrt(v / (x.length - 1)), n: x.length };
}

describe('GBM', () => {
  it('log returns have mean (μ − σ²/2)Δ and sd σ√Δ with Δ in 365-day years (daily bars, 100 years)', () => {
    // A high σ makes the Itô term σ²/2 = 2/yr ≈ 10 standard errors of the mean, so dropping it fails.
    const mu = 0.5;
    const sigma = 2;
    const bars = generateBars({ symbol: 'X/USD', timeframeMs: DAY, from: T0, to: T0 + 36_500 * DAY, seed: 11, model: { kind: 'gbm', drift: mu, vol: sigma } });
    expect(bars.length).toBe(36_500);
    const { mean, sd, n } = meanStd(logReturns(bars.close, bars.open));
    const dt = 1 / DAYS_PER_YEAR;
    const expMean = (mu - sigma ** 2 / 2) * dt; // -0.0041096 per day
    const expSd = sigma * Math.sqrt(dt); // 0.104685 per day
    const seMean = expSd / Math.sqrt(n);
    const seSd = expSd / Math.sqrt(2 * n);
    expect(Math.abs(mean - expMean)).toBeLessThan(4 * seMean);
    expect(Math.abs(sd - expSd)).toBeLessThan(4 * seSd);
  });

  it('hourly sd is σ/√8760 (not a 252-day or 24·360 convention)', () => {
    const sigma = 0.6;
    const bars = generateBars({ symbol: 'X/USD', timeframeMs: HOUR, from: T0, to: T0 + 100_000 * HOUR, seed: 3, model: { kind: 'gbm', drift: 0, vol: sigma } });
    const { sd, n } = meanStd(logReturns(bars.close, bars.open));
    const expSd = 0.6 / Math.sqrt(HOURS_PER_YEAR); // 0.0064106
    expect(expSd).toBeCloseTo(0.0064106, 6);
    expect(Math.abs(sd - expSd)).toBeLessThan(4 * (expSd / Math.sqrt(2 * n)));
  });

  it('returns are serially uncorrelated and the open of a bar is the previous close', () => {
    const bars = generateBars({ symbol: 'X/USD', timeframeMs: HOUR, from: T0, to: T0 + 50_000 * HOUR, seed: 5, model: { kind: 'gbm', drift: 0.1, vol: 0.8 } });
    const r = logReturns(bars.close, bars.open);
    const { mean, sd, n } = meanStd(r);
    let c = 0;
    for (let i = 1; i < n; i++) c += (r[i]! - mean) * (r[i - 1]! - mean);
    const rho = c / (n - 1) / (sd * sd);
    expect(Math.abs(rho)).toBeLessThan(4 / Math.sqrt(n));
    expect(bars.open[0]).toBe(40_000);
    for (let i = 1; i < n; i++) expect(bars.open[i]).toBe(bars.close[i - 1]);
  });
});

describe('Merton jump diffusion', () => {
  const lambda = 50; // jumps per year
  const years = 10;
  const model: SynthModel = { kind: 'jump', drift: 0, vol: 0.01, jumpIntensity: lambda, jumpMean: 0, jumpStd: 0.2 };
  const res = simulate({ symbol: 'X/USD', timeframeMs: HOUR, from: T0, to: T0 + years * HOURS_PER_YEAR * HOUR, seed: 21, model });
  const r = logReturns(res.bars.close, res.bars.open);

  it('jump count is near λT (Poisson: within 4·√(λT))', () => {
    const expected = lambda * years; // 500
    let hidden = 0;
    for (const j of res.jumps!) hidden += j;
    expect(Math.abs(hidden - expected)).toBeLessThan(4 * Math.sqrt(expected));
  });

  it('the jumps are visible in the prices: bars beyond 20 diffusion sd match the jump count', () => {
    // Diffusion sd per bar is 0.01/√8760 ≈ 1.07e-4; a threshold of 0.002 is ~19 sd, so diffusion
    // alone never crosses it, while a N(0, 0.2²) jump is smaller than it with probability
    // P(|Z| < 0.01) = 0.00798 (normal table), so ~0.8% of jumps hide.
    const threshold = 0.002;
    let big = 0;
    let barsWithJumps = 0;
    for (let i = 0; i < r.length; i++) {
      if (Math.abs(r[i]!) > threshold) big++;
      if (res.jumps![i]! > 0) barsWithJumps++;
    }
    expect(big).toBeLessThanOrEqual(barsWithJumps);
    expect(big).toBeGreaterThanOrEqual(Math.floor(barsWithJumps * 0.97));
    const expectedVisible = lambda * years * (1 - 0.00798);
    expect(Math.abs(big - expectedVisible)).toBeLessThan(4 * Math.sqrt(lambda * years));
  });

  it('variance of bar returns is σ²Δ + λΔ(σJ² + μJ²)', () => {
    const dt = 1 / HOURS_PER_YEAR;
    const expVar = 0.01 ** 2 * dt + lambda * dt * 0.2 ** 2;
    const { sd, n } = meanStd(r);
    // Var of the variance estimator ≈ (E r⁴ − var²)/n, with E r⁴ ≈ λΔ·3σJ⁴ for the jump part.
    const fourth = lambda * dt * 3 * 0.2 ** 4;
    const se = Math.sqrt((fourth - expVar ** 2) / n);
    expect(Math.abs(sd * sd - expVar)).toBeLessThan(4 * se);
  });

  it('the drift compensator keeps E[S_T/S_0] = e^{μT}: mean log return is (μ − σ²/2 − λκ + λμJ)Δ', () => {
    const m: SynthModel = { kind: 'jump', drift: 0.2, vol: 0.3, jumpIntensity: 400, jumpMean: -0.02, jumpStd: 0.01 };
    const bars = generateBars({ symbol: 'X/USD', timeframeMs: DAY, from: T0, to: T0 + 40_000 * DAY, seed: 8, model: m });
    const dt = 1 / DAYS_PER_YEAR;
    const kappa = Math.exp(-0.02 + 0.01 ** 2 / 2) - 1; // E[e^J] − 1
    const expMean = (0.2 - 0.3 ** 2 / 2 - 400 * kappa + 400 * -0.02) * dt;
    const expVar = (0.3 ** 2 + 400 * (0.01 ** 2 + 0.02 ** 2)) * dt;
    const { mean, n } = meanStd(logReturns(bars.close, bars.open));
    expect(Math.abs(mean - expMean)).toBeLessThan(4 * Math.sqrt(expVar / n));
  });
});

describe('Markov regime switching', () => {
  const p00 = 0.99;
  const p11 = 0.95;
  const model: SynthModel = {
    kind: 'regime',
    regimes: [
      { drift: 0.1, vol: 0.3 },
      { drift: -0.4, vol: 1.5 },
    ],
    transition: [
      [p00, 1 - p00],
      [1 - p11, p11],
    ],
  };
  const n = 200_000;
  const res = simulate({ symbol: 'X/USD', timeframeMs: HOUR, from: T0, to: T0 + n * HOUR, seed: 99, model });
  const regime = res.regime!;

  function runs(state: number): number[] {
    const lengths: number[] = [];
    let i = 0;
    while (i < n) {
      let j = i;
      while (j < n && regime[j] === regime[i]) j++;
      // The first and last runs are cut by the window; leave them out.
      if (regime[i] === state && i > 0 && j < n) lengths.push(j - i);
      i = j;
    }
    return lengths;
  }

  it('mean stay in a regime is 1/(1 − p) bars', () => {
    for (const [state, p] of [[0, p00], [1, p11]] as const) {
      const lengths = runs(state);
      const expected = 1 / (1 - p); // 100 and 20
      const sdGeom = Math.sqrt(p) / (1 - p); // sd of a geometric stay
      const { mean } = meanStd(lengths);
      expect(Math.abs(mean - expected)).toBeLessThan(4 * (sdGeom / Math.sqrt(lengths.length)));
    }
  });

  it('time share matches the stationary distribution π0 = (1 − p11)/((1 − p00) + (1 − p11)) = 5/6', () => {
    let zeros = 0;
    for (let i = 0; i < n; i++) if (regime[i] === 0) zeros++;
    const pi0 = 0.05 / 0.06;
    // Variance of a two-state chain's occupation share: π0π1(1+ρ)/(1−ρ)/n with ρ = p00 + p11 − 1.
    const rho = p00 + p11 - 1;
    const se = Math.sqrt(((pi0 * (1 - pi0) * (1 + rho)) / (1 - rho)) / n);
    expect(Math.abs(zeros / n - pi0)).toBeLessThan(4 * se);
  });

  it("each regime's returns carry that regime's volatility", () => {
    const r = logReturns(res.bars.close, res.bars.open);
    for (const [state, vol] of [[0, 0.3], [1, 1.5]] as const) {
      const xs: number[] = [];
      for (let i = 0; i < n; i++) if (regime[i] === state) xs.push(r[i]!);
      const { sd } = meanStd(xs);
      const expSd = vol / Math.sqrt(HOURS_PER_YEAR);
      expect(Math.abs(sd - expSd)).toBeLessThan(4 * (expSd / Math.sqrt(2 * xs.length)));
    }
  });

  it('stationary distribution matches hand-solved chains, including a periodic one', () => {
    const pi = stationaryDistribution([
      [0.5, 0.5, 0],
      [0.25, 0.5, 0.25],
      [0, 0.5, 0.5],
    ]);
    expect(pi[0]).toBeCloseTo(0.25, 10);
    expect(pi[1]).toBeCloseTo(0.5, 10);
    expect(pi[2]).toBeCloseTo(0.25, 10);
    const alt = stationaryDistribution([
      [0, 1],
      [1, 0],
    ]);
    expect(alt[0]).toBeCloseTo(0.5, 10);
  });

  it('initialRegime pins the first bar', () => {
    const r1 = simulate({ symbol: 'X', timeframeMs: HOUR, from: T0, to: T0 + 10 * HOUR, seed: 1, model: { ...model, initialRegime: 1 } });
    expect(r1.regime![0]).toBe(1);
  });
});

describe('normal source (ziggurat)', () => {
  it('matches the standard normal table at ±1, ±2, 3 and in the tail beyond the ziggurat base (3.44)', () => {
    const N = 1_000_000;
    const draw = normalSource(createRng(2024));
    // Φ(z) from published tables.
    const cdf: [number, number][] = [[-2, 0.0227501], [-1, 0.1586553], [0, 0.5], [1, 0.8413447], [2, 0.9772499], [3, 0.9986501]];
    const below = new Array<number>(cdf.length).fill(0);
    let tail = 0;
    let sum = 0;
    let sum2 = 0;
    let sum4 = 0;
    for (let i = 0; i < N; i++) {
      const z = draw();
      sum += z;
      sum2 += z * z;
      sum4 += z ** 4;
      if (Math.abs(z) > 3.5) tail++;
      for (let k = 0; k < cdf.length; k++) if (z <= cdf[k]![0]) below[k]!++;
    }
    for (let k = 0; k < cdf.length; k++) {
      const p = cdf[k]![1];
      expect(Math.abs(below[k]! / N - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / N));
    }
    const pTail = 2 * 0.000232629; // 2·(1 − Φ(3.5))
    expect(Math.abs(tail / N - pTail)).toBeLessThan(5 * Math.sqrt(pTail / N));
    expect(Math.abs(sum / N)).toBeLessThan(5 / Math.sqrt(N));
    expect(Math.abs(sum2 / N - 1)).toBeLessThan(5 * Math.sqrt(2 / N));
    expect(Math.abs(sum4 / N - 3)).toBeLessThan(5 * Math.sqrt(96 / N)); // Var(Z⁴) = 105 − 9
  });
});

const modelArb: fc.Arbitrary<SynthModel> = fc.oneof(
  fc.record({ kind: fc.constant('gbm' as const), drift: fc.double({ min: -2, max: 2, noNaN: true }), vol: fc.double({ min: 0, max: 3, noNaN: true }) }),
  fc.record({
    kind: fc.constant('jump' as const),
    drift: fc.double({ min: -2, max: 2, noNaN: true }),
    vol: fc.double({ min: 0, max: 3, noNaN: true }),
    jumpIntensity: fc.double({ min: 0, max: 2000, noNaN: true }),
    jumpMean: fc.double({ min: -0.2, max: 0.2, noNaN: true }),
    jumpStd: fc.double({ min: 0, max: 0.3, noNaN: true }),
  }),
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 3, noNaN: true })).map(
    ([a, b, v]): SynthModel => ({
      kind: 'regime',
      regimes: [
        { drift: 0.2, vol: 0.2 },
        { drift: -0.5, vol: v },
      ],
      transition: [
        [a, 1 - a],
        [1 - b, b],
      ],
    }),
  ),
);

describe('OHLC consistency and positivity', () => {
  it('holds for any seed, model, timeframe and sub-step count', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        modelArb,
        fc.constantFrom(60_000, 300_000, HOUR, 4 * HOUR, DAY),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 12 }),
        (seed, model, tf, bars, subSteps) => {
          const b = generateBars({ symbol: 'S', timeframeMs: tf, from: T0, to: T0 + bars * tf, seed, model, subSteps });
          expect(b.length).toBe(bars);
          for (let i = 0; i < b.length; i++) {
            const o = b.open[i]!, h = b.high[i]!, l = b.low[i]!, c = b.close[i]!, v = b.volume[i]!;
            if (!(h >= Math.max(o, c) && l <= Math.min(o, c) && l > 0 && Number.isFinite(h) && v > 0 && Number.isFinite(v))) {
              throw new Error(`bar ${i}: o=${o} h=${h} l=${l} c=${c} v=${v}`);
            }
            if (b.ts[i] !== T0 + i * tf) throw new Error(`bar ${i}: ts ${b.ts[i]}`);
          }
        },
      ),
      { numRuns: 150, seed: 42 },
    );
  });

  it('high and low come from inside the bar: with sub-steps they usually exceed open/close', () => {
    const b = generateBars({ symbol: 'S', timeframeMs: HOUR, from: T0, to: T0 + 2000 * HOUR, seed: 4, model: { kind: 'gbm', drift: 0, vol: 0.8 }, subSteps: 8 });
    let wickUp = 0;
    for (let i = 0; i < b.length; i++) if (b.high[i]! > Math.max(b.open[i]!, b.close[i]!)) wickUp++;
    // With 8 steps the path max is at an endpoint with probability 2·(1/8-ish); most bars have wicks.
    expect(wickUp / b.length).toBeGreaterThan(0.5);
    expect(wickUp).toBeLessThan(b.length);
  });

  it('volume rises with |return| when absReturnBeta > 0', () => {
    const b = generateBars({ symbol: 'S', timeframeMs: HOUR, from: T0, to: T0 + 20_000 * HOUR, seed: 6, model: { kind: 'gbm', drift: 0, vol: 0.6 }, volume: { base: 100, sigma: 0.3, absReturnBeta: 0.5 } });
    const absR = Array.from(logReturns(b.close, b.open), Math.abs);
    const logV = Array.from(b.volume, Math.log);
    const a = meanStd(absR);
    const v = meanStd(logV);
    let c = 0;
    for (let i = 0; i < absR.length; i++) c += (absR[i]! - a.mean) * (logV[i]! - v.mean);
    expect(c / (absR.length - 1) / (a.sd * v.sd)).toBeGreaterThan(0.3);
    expect(Math.exp(v.mean)).toBeGreaterThan(80);
    expect(Math.exp(v.mean)).toBeLessThan(125);
  });
});

describe('determinism', () => {
  const base = { symbol: 'BTC/USDT', timeframeMs: 60_000, from: T0, to: T0 + 20_000 * 60_000 };
  const models: SynthModel[] = [
    { kind: 'gbm', drift: 0.1, vol: 0.6 },
    { kind: 'jump', drift: 0.1, vol: 0.6, jumpIntensity: 200, jumpMean: -0.01, jumpStd: 0.03 },
    { kind: 'regime', regimes: [{ drift: 0.3, vol: 0.4 }, { drift: -0.5, vol: 1.2 }], transition: [[0.999, 0.001], [0.002, 0.998]] },
  ];
  const bytes = (b: ReturnType<typeof generateBars>): Buffer =>
    Buffer.concat([b.ts, b.open, b.high, b.low, b.close, b.volume].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));

  it.each(models)('same seed → bit-identical arrays; another seed differs ($kind)', (model) => {
    const a = bytes(generateBars({ ...base, seed: 7, model }));
    const b = bytes(generateBars({ ...base, seed: 7, model }));
    const c = bytes(generateBars({ ...base, seed: 8, model }));
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });

  it('volume settings do not move prices (independent streams)', () => {
    const a = generateBars({ ...base, seed: 7, model: models[0]! });
    const b = generateBars({ ...base, seed: 7, model: models[0]!, volume: { base: 1, sigma: 2, absReturnBeta: 0 } });
    expect(Buffer.from(a.close.buffer).equals(Buffer.from(b.close.buffer))).toBe(true);
    expect(Buffer.from(a.volume.buffer).equals(Buffer.from(b.volume.buffer))).toBe(false);
  });

  it('closes follow S·exp(Σ((μ − σ²/2)Δt + σ√Δt·z)) over the documented diffusion stream', () => {
    // Recomputes the GBM recursion by hand from the seed's 'diffusion' fork (4 sub-steps by default),
    // so a change to the stream layout or the formula, which would silently change every stored
    // synthetic dataset, fails here.
    const b = generateBars({ ...base, to: T0 + 3 * 60_000, seed: 7, model: models[0]! });
    const z = normalSource(createRng(7).fork('diffusion'));
    const dt = 60_000 / 4 / (365 * DAY);
    let x = Math.log(40_000);
    for (let i = 0; i < 3; i++) {
      for (let k = 0; k < 4; k++) x += (0.1 - 0.6 ** 2 / 2) * dt + 0.6 * Math.sqrt(dt) * z();
      expect(b.close[i]).toBeCloseTo(Math.exp(x), 8);
    }
  });
});

describe('range and bad input', () => {
  it('bars sit on timeframe multiples inside [from, to)', () => {
    expect(barGrid(T0 + 1, T0 + 3 * HOUR, HOUR)).toEqual({ first: T0 + HOUR, count: 2 });
    expect(barGrid(T0, T0 + 3 * HOUR + 1, HOUR)).toEqual({ first: T0, count: 4 });
    const b = generateBars({ symbol: 'S', timeframeMs: HOUR, from: T0 + 30 * 60_000, to: T0 + 5 * HOUR, seed: 1, model: { kind: 'gbm', drift: 0, vol: 0.5 } });
    expect(Array.from(b.ts)).toEqual([1, 2, 3, 4].map((k) => T0 + k * HOUR));
  });

  it('rejects bad specs with an InputError naming the field', () => {
    const ok = { symbol: 'S', timeframeMs: HOUR, from: T0, to: T0 + 10 * HOUR, seed: 1 };
    const bad = (spec: unknown, field: RegExp): void => {
      expect(() => generateBars(spec as never)).toThrow(InputError);
      expect(() => generateBars(spec as never)).toThrow(field);
    };
    bad({ ...ok, to: T0, model: { kind: 'gbm', drift: 0, vol: 0.5 } }, /to: empty range/);
    bad({ ...ok, model: { kind: 'gbm', drift: 0, vol: -1 } }, /model\.vol/);
    bad({ ...ok, startPrice: 0, model: { kind: 'gbm', drift: 0, vol: 1 } }, /startPrice/);
    bad({ ...ok, model: { kind: 'regime', regimes: [{ drift: 0, vol: 1 }, { drift: 0, vol: 1 }], transition: [[0.5, 0.4], [0, 1]] } }, /model\.transition\.0: must sum to 1/);
    bad({ ...ok, model: { kind: 'regime', regimes: [{ drift: 0, vol: 1 }, { drift: 0, vol: 1 }], transition: [[1, 0]] } }, /model\.transition: must have 2 rows/);
    bad({ ...ok, model: { kind: 'brownian' } }, /model/);
    bad({ ...ok, from: T0 + 1, to: T0 + 2, model: { kind: 'gbm', drift: 0, vol: 1 } }, /holds no/);
  });
});
