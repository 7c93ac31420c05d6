import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { detectRegimes } from '../../../engine/agents/regime.ts';
import { createRng } from '../../../engine/rng.ts';

/** A geometric random walk: drift and volatility per bar, from a seeded generator. */
function walk(n: number, seed: number, drift: number, vol: number, start = 100): number[] {
  const rng = createRng(seed);
  const out = [start];
  for (let i = 1; i < n; i++) out.push(out[i - 1]! * Math.exp(drift + vol * rng.normal()));
  return out;
}

describe('detectRegimes', () => {
  it('worked by hand: closes 100, 101, 103 with a 2-return window', () => {
    // r1 = ln 1.01 = 0.0099503, r2 = ln(103/101) = 0.0196083; population sd = |r2 − r1| / 2 = 0.0048290;
    // move = ln 1.03 = 0.0295588; z = 0.0295588 / (0.0048290 · √2) = 4.328.
    expect(detectRegimes([100, 101, 103], { lookback: 2 })).toEqual([null, null, 'trend-up']);
    expect(detectRegimes([100, 101, 103], { lookback: 2, trendZ: 4.3 })[2]).toBe('trend-up');
    expect(detectRegimes([100, 101, 103], { lookback: 2, trendZ: 4.4 })[2]).toBe('range');
    expect(detectRegimes([103, 101, 100], { lookback: 2 })[2]).toBe('trend-down');
  });

  it('labels a drifting walk as a trend, a driftless one mostly as range, and a volatility burst as volatile', () => {
    const up = detectRegimes(walk(400, 1, 0.004, 0.002));
    expect(up.slice(50).every((r) => r === 'trend-up')).toBe(true);
    const down = detectRegimes(walk(400, 2, -0.004, 0.002));
    expect(down.slice(50).every((r) => r === 'trend-down')).toBe(true);
    const flat = detectRegimes(walk(2000, 3, 0, 0.01)).slice(100);
    expect(flat.filter((r) => r === 'range').length / flat.length).toBeGreaterThan(0.6);
    // 200 calm bars then 30 bars at five times the noise.
    const calm = walk(200, 4, 0, 0.005);
    const burst = walk(31, 5, 0, 0.025, calm[calm.length - 1]).slice(1);
    const labels = detectRegimes([...calm, ...burst]);
    expect(labels.slice(215).every((r) => r === 'volatile')).toBe(true);
    expect(labels.slice(100, 200).filter((r) => r === 'volatile').length).toBeLessThan(10);
  });

  it('is causal: poisoning every close after t leaves the labels up to t unchanged', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 0, max: 299 }), fc.double({ min: 1e-6, max: 1e9, noNaN: true }), (seed, cut, poison) => {
        const closes = walk(300, seed, 0.0005, 0.01);
        const poisoned = closes.map((c, i) => (i > cut ? poison * (1 + (i % 7)) : c));
        expect(detectRegimes(poisoned).slice(0, cut + 1)).toEqual(detectRegimes(closes).slice(0, cut + 1));
        // and the prefix alone gives the same labels as the whole series
        expect(detectRegimes(closes.slice(0, cut + 1))).toEqual(detectRegimes(closes).slice(0, cut + 1));
      }),
      { numRuns: 50 },
    );
  });

  it('refuses nonsense options', () => {
    expect(() => detectRegimes([1, 2, 3], { lookback: 1 })).toThrow(RangeError);
    expect(() => detectRegimes([1, 2, 3], { lookback: 10, longLookback: 5 })).toThrow(RangeError);
  });
});
