import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultMarket, type MarketSpec } from '../../engine/types.ts';
import { fixedFractionalQty, kellyFraction, kellyQty, realisedVol, toMarketQty, volTargetQty } from '../../engine/sizing.ts';

const btc: MarketSpec = { ...defaultMarket('BTC/USDT'), amountStep: 0.001, minAmount: 0.001, minNotional: 10 };
const unit: MarketSpec = { ...defaultMarket('X/USD'), amountStep: 1, minAmount: 1, minNotional: 0 };
const cents: MarketSpec = { ...defaultMarket('X/USD'), amountStep: 0.01, minAmount: 0, minNotional: 0 };

describe('fixed fractional', () => {
  it('risks the fraction of equity between entry and stop', () => {
    // 1% of 10 000 = 100 at risk over a 1000 stop distance → 0.1 BTC.
    expect(fixedFractionalQty({ equity: 10_000, riskFraction: 0.01, entryPrice: 50_000, stopPrice: 49_000, market: btc })).toBe(0.1);
    // 2% of 10 000 = 200 over a 3.00 distance = 66.67 → rounded DOWN to 66 whole units.
    expect(fixedFractionalQty({ equity: 10_000, riskFraction: 0.02, entryPrice: 100, stopPrice: 97, market: unit })).toBe(66);
    // A short's stop above entry works the same way.
    expect(fixedFractionalQty({ equity: 10_000, riskFraction: 0.01, entryPrice: 100, stopPrice: 104, market: cents })).toBe(25);
  });
  it('is 0 below the minimum notional or with no stop distance', () => {
    // 1% of 100 = 1 over 10 → 0.1 BTC-units at 50 = 5 USD < 10 minimum.
    expect(fixedFractionalQty({ equity: 100, riskFraction: 0.01, entryPrice: 50, stopPrice: 40, market: btc })).toBe(0);
    expect(fixedFractionalQty({ equity: 100, riskFraction: 0.01, entryPrice: 50, stopPrice: 50, market: btc })).toBe(0);
  });
});

describe('volatility targeting', () => {
  it('sizes to the target from realised vol, capped at the leverage limit', () => {
    // 20% target / 80% vol = 0.25 of 100 000 = 25 000 notional = 0.5 BTC at 50 000.
    expect(volTargetQty({ equity: 100_000, targetAnnualVol: 0.2, price: 50_000, vol: { kind: 'realised', annualVol: 0.8 }, market: btc })).toBe(0.5);
    // 20% / 10% = 2× but no leverage by default → 1× = 2 BTC.
    expect(volTargetQty({ equity: 100_000, targetAnnualVol: 0.2, price: 50_000, vol: { kind: 'realised', annualVol: 0.1 }, market: btc })).toBe(2);
  });
  it('sizes from ATR: σ ≈ ATR/price per bar, annualised by √periods', () => {
    // ATR 2 on a 100 price with daily bars: 0.02 × √365 = 0.3820995; 0.2 / 0.3820995 = 0.5234239;
    // × 100 000 / 100 = 523.4239 → 523.42 at a 0.01 step.
    expect(volTargetQty({ equity: 100_000, targetAnnualVol: 0.2, price: 100, vol: { kind: 'atr', atr: 2, periodsPerYear: 365 }, market: cents })).toBe(523.42);
  });
  it('realised vol is the sample std dev annualised', () => {
    // mean 0, Σx² = 0.001, /3 → σ = 0.018257419; × √365.
    expect(realisedVol([0.01, -0.01, 0.02, -0.02], 365)).toBeCloseTo(0.018257418583505537 * Math.sqrt(365), 12);
  });
});

describe('Kelly', () => {
  it('f* = p − (1 − p)/b, fractional, capped, never negative', () => {
    expect(kellyFraction({ winRate: 0.6, payoffRatio: 2, cap: 1 })).toBeCloseTo(0.4, 15); // 0.6 − 0.4/2
    expect(kellyFraction({ winRate: 0.6, payoffRatio: 2 })).toBe(0.25); // default cap
    expect(kellyFraction({ winRate: 0.6, payoffRatio: 2, fraction: 0.5, cap: 1 })).toBeCloseTo(0.2, 15);
    expect(kellyFraction({ winRate: 0.55, payoffRatio: 1, cap: 1 })).toBeCloseTo(0.1, 15);
    expect(kellyFraction({ winRate: 0.4, payoffRatio: 1 })).toBe(0); // −0.2 → no bet
    expect(kellyFraction({ winRate: 1.2, payoffRatio: 1 })).toBe(0); // nonsense in, no bet out
    // 0.1 of 10 000 at 100 = 10 units.
    expect(kellyQty({ winRate: 0.55, payoffRatio: 1, equity: 10_000, price: 100, market: unit })).toBe(10);
  });
  it('is within [0, cap] for any input', () => {
    fc.assert(fc.property(fc.double({ noNaN: false }), fc.double(), fc.double({ min: 0, max: 1, noNaN: true }), (p, b, cap) => {
      const f = kellyFraction({ winRate: p, payoffRatio: b, cap });
      expect(f >= 0 && f <= cap).toBe(true);
    }));
  });
});

describe('rounding to the market', () => {
  it('rounds down to the step and never up', () => {
    expect(toMarketQty(0.3, 1, cents)).toBe(0.3);
    expect(toMarketQty(0.1 + 0.2, 1, cents)).toBe(0.3); // 0.30000000000000004
    expect(toMarketQty(0.0999, 60_000, btc)).toBe(0.099);
    fc.assert(fc.property(fc.double({ min: 0.001, max: 1e6, noNaN: true }), (q) => {
      const r = toMarketQty(q, 100, btc);
      expect(r).toBeLessThanOrEqual(q * (1 + 1e-12));
      expect(Math.abs(r * 1000 - Math.round(r * 1000))).toBeLessThan(1e-6);
    }));
  });
});
