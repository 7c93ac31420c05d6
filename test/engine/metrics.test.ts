import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { computeMetrics, drawdownSeries, perPeriodRate, returnsFromEquity, type ClosedTrade } from '../../engine/metrics.ts';
import { periodsPerYear, timeframeToMs } from '../../engine/timeframe.ts';

const eq = (xs: number[]) => Float64Array.from(xs);

/** Equity from 100 with the returns +10 %, −10 %, +10 %, +10 %: 100, 110, 99, 108.9, 119.79. */
const HAND = eq([100, 110, 99, 108.9, 119.79]);

function trade(pnl: number, entryTs = 0, exitTs = 0, extra: Partial<ClosedTrade> = {}): ClosedTrade {
  return { symbol: 'BTC/USDT', side: 'long', entryTs, exitTs, entryPrice: 100, exitPrice: 100, qty: 1, pnl, fees: 0, returnPct: pnl / 100, ...extra };
}

describe('returnsFromEquity and drawdownSeries', () => {
  it('work out the hand series', () => {
    const r = returnsFromEquity(HAND);
    expect(r.length).toBe(4);
    [0.1, -0.1, 0.1, 0.1].forEach((x, i) => expect(r[i]).toBeCloseTo(x, 12));
    // Running peaks 100, 110, 110, 110, 119.79 → 0, 0, 99/110−1 = −0.1, 108.9/110−1 = −0.01, 0.
    const dd = drawdownSeries(HAND);
    [0, 0, -0.1, -0.01, 0].forEach((x, i) => expect(dd[i]).toBeCloseTo(x, 12));
  });

  it('write into a given buffer and refuse one too short', () => {
    const out = new Float64Array(4);
    expect(returnsFromEquity(HAND, out)).toBe(out);
    expect(() => drawdownSeries(HAND, new Float64Array(2))).toThrow(RangeError);
  });
});

describe('computeMetrics on a series worked by hand', () => {
  // Returns r = [0.1, −0.1, 0.1, 0.1]: mean = 0.2 / 4 = 0.05.
  // Deviations 0.05, −0.15, 0.05, 0.05 → squares 0.0025 + 0.0225 + 0.0025 + 0.0025 = 0.03;
  // sample variance 0.03 / 3 = 0.01 → std = 0.1.
  // Downside: only −0.1 is below 0 → sqrt(0.01 / 4) = 0.05 (divided by ALL 4 periods).
  // Total return 1.1³ × 0.9 − 1 = 1.331 × 0.9 − 1 = 0.1979.
  it('annualises with periodsPerYear = 4 (the four returns span one year)', () => {
    const m = computeMetrics({ equity: HAND, periodsPerYear: 4 });
    expect(m.totalReturn).toBeCloseTo(0.1979, 12);
    expect(m.cagr).toBeCloseTo(0.1979, 12); // one year: CAGR = total return
    expect(m.volatility).toBeCloseTo(0.1 * 2, 12); // std × sqrt(4)
    expect(m.sharpe).toBeCloseTo((0.05 / 0.1) * 2, 12); // = 1
    expect(m.sortino).toBeCloseTo((0.05 / 0.05) * 2, 12); // = 2
    expect(m.maxDrawdown).toBeCloseTo(-0.1, 12); // 110 → 99
    expect(m.calmar).toBeCloseTo(0.1979 / 0.1, 10);
    // Peak 110 at bar 1; 99 and 108.9 are below it; 119.79 at bar 4 recovers: 3 bars.
    expect(m.maxDrawdownDuration).toBe(3);
    expect(m.maxDrawdownDurationMs).toBeNaN();
    expect(m.periods).toBe(4);
  });

  it('compounds CAGR over the elapsed bars / periodsPerYear', () => {
    // Four returns at 2 per year are two years: CAGR = sqrt(1.1979) − 1.
    const m = computeMetrics({ equity: HAND, periodsPerYear: 2 });
    expect(m.cagr).toBeCloseTo(Math.sqrt(1.1979) - 1, 12);
    expect(m.volatility).toBeCloseTo(0.1 * Math.SQRT2, 12);
    expect(m.sharpe).toBeCloseTo(0.5 * Math.SQRT2, 12);
  });

  it('uses 252 and sqrt(252) when told', () => {
    const m = computeMetrics({ equity: HAND, periodsPerYear: 252 });
    expect(m.sharpe).toBeCloseTo(0.5 * 15.874507866387544, 10); // sqrt(252) = 15.8745078664
    expect(m.sortino).toBeCloseTo(15.874507866387544, 10);
  });

  it('subtracts a compounded per-period risk-free rate', () => {
    // Annual 4.0604 % over 4 periods per year is 1 % per period (1.01⁴ = 1.04060401).
    const rf = 1.01 ** 4 - 1;
    expect(perPeriodRate(rf, 4)).toBeCloseTo(0.01, 14);
    const m = computeMetrics({ equity: HAND, periodsPerYear: 4, riskFree: rf });
    // Excess returns 0.09, −0.11, 0.09, 0.09: mean 0.04, same std 0.1 → Sharpe 0.04/0.1 × 2 = 0.8.
    expect(m.sharpe).toBeCloseTo(0.8, 10);
    // Downside of excess: sqrt(0.11² / 4) = 0.055 → Sortino 0.04 / 0.055 × 2.
    expect(m.sortino).toBeCloseTo((0.04 / 0.055) * 2, 10);
    expect(m.volatility).toBeCloseTo(0.2, 12);
    expect(m.riskFree).toBe(rf);
  });
});

describe('published worked examples', () => {
  it('Sortino ratio of the Red Rock Capital paper (Rollinger & Hoffman, "Sortino: A Sharper Ratio")', () => {
    // Annual returns 17, 15, 23, −5, 12, 9, 13, −4 %: average 10 %; downside deviation over all
    // eight years sqrt((0.05² + 0.04²) / 8) = 2.26 %; Sortino 4.417 (target 0).
    const returns = [0.17, 0.15, 0.23, -0.05, 0.12, 0.09, 0.13, -0.04];
    const equity = new Float64Array(returns.length + 1);
    equity[0] = 1;
    returns.forEach((r, i) => (equity[i + 1] = equity[i]! * (1 + r)));
    const m = computeMetrics({ equity, periodsPerYear: 1 });
    expect(m.sortino).toBeCloseTo(4.417, 3);
    expect(Math.sqrt((0.05 ** 2 + 0.04 ** 2) / 8)).toBeCloseTo(0.0226, 4);
  });

  it('maximum drawdown of the Investopedia example (500k → 750k → 400k → 600k → 350k → 800k)', () => {
    // MDD = (350,000 − 750,000) / 750,000 = −53.33 %; the 750k peak is regained only at 800k.
    const m = computeMetrics({ equity: eq([500_000, 750_000, 400_000, 600_000, 350_000, 800_000]), periodsPerYear: 1 });
    expect(m.maxDrawdown).toBeCloseTo(-0.5333, 4);
    expect(m.maxDrawdownDuration).toBe(4);
    expect(m.calmar).toBeCloseTo(m.cagr / 0.5333333333333333, 10);
  });
});

describe('drawdown duration', () => {
  it('takes the longest stretch from a peak to recovery, or to the end when never recovered', () => {
    // Bars: 0:100 1:90 2:100 (recovers at equality, 2 bars) 3:120 4:110 5:115 6:119 (end, 3 bars).
    const equity = eq([100, 90, 100, 120, 110, 115, 119]);
    const m = computeMetrics({ equity, periodsPerYear: 365 });
    expect(m.maxDrawdownDuration).toBe(3);
    // 110/120 − 1 is deeper than 90/100 − 1.
    expect(m.maxDrawdown).toBeCloseTo(-0.1, 12);
  });

  it('measures ms on the timestamps, which may pick a shorter stretch in bars over a data gap', () => {
    const H = 3_600_000;
    // First stretch: peak at bar 0 (t=0), recovered at bar 2 (t=50h, after a gap) → 2 bars, 50 h.
    // Second: peak at bar 2 (t=50h), to the end at bar 5 (t=53h) → 3 bars, 3 h.
    const equity = eq([100, 90, 100, 95, 96, 97]);
    const ts = eq([0, H, 50 * H, 51 * H, 52 * H, 53 * H]);
    const m = computeMetrics({ equity, ts, periodsPerYear: 8760 });
    expect(m.maxDrawdownDuration).toBe(3);
    expect(m.maxDrawdownDurationMs).toBe(50 * H);
  });

  it('is 0 for a curve that never falls, flat steps included', () => {
    const m = computeMetrics({ equity: eq([1, 1, 1.1, 1.1, 1.2]), periodsPerYear: 365 });
    expect(m.maxDrawdown).toBe(0);
    expect(m.maxDrawdownDuration).toBe(0);
    expect(m.calmar).toBeNaN();
  });
});

describe('trade metrics', () => {
  it('works out win rate, profit factor, expectancy and holding time by hand', () => {
    // P&L +30, −10, +20, −20, 0: wins 2 of 5 = 0.4; gross profit 50, gross loss 30 → PF 5/3;
    // expectancy 20 / 5 = 4; holding 1h, 2h, 3h, 4h, 5h → 3h on average.
    const H = 3_600_000;
    const trades = [30, -10, 20, -20, 0].map((p, i) => trade(p, 0, (i + 1) * H));
    const m = computeMetrics({ equity: HAND, periodsPerYear: 4, trades });
    expect(m.numTrades).toBe(5);
    expect(m.winRate).toBeCloseTo(0.4, 15);
    expect(m.profitFactor).toBeCloseTo(50 / 30, 14);
    expect(m.expectancy).toBeCloseTo(4, 14);
    expect(m.avgHoldingTime).toBe(3 * H);
  });

  it('gives an infinite profit factor when no trade lost', () => {
    const m = computeMetrics({ equity: HAND, periodsPerYear: 4, trades: [trade(5), trade(7), trade(0)] });
    expect(m.profitFactor).toBe(Infinity);
    expect(m.winRate).toBeCloseTo(2 / 3, 15);
  });

  it('distinguishes no trades (0, rates NaN) from trades not given (all NaN)', () => {
    const none = computeMetrics({ equity: HAND, periodsPerYear: 4, trades: [] });
    expect(none.numTrades).toBe(0);
    expect(none.winRate).toBeNaN();
    expect(none.profitFactor).toBeNaN();
    expect(none.expectancy).toBeNaN();
    const unknown = computeMetrics({ equity: HAND, periodsPerYear: 4 });
    expect(unknown.numTrades).toBeNaN();
    expect(unknown.turnover).toBeNaN();
    expect(unknown.exposure).toBeNaN();
  });
});

describe('exposure and turnover', () => {
  it('counts the share of bars with a position', () => {
    const m = computeMetrics({ equity: HAND, periodsPerYear: 4, exposure: eq([0, 1.5, -2, 0, 3]) });
    expect(m.exposure).toBeCloseTo(3 / 5, 15);
    expect(computeMetrics({ equity: HAND, periodsPerYear: 4, exposure: 0.25 }).exposure).toBe(0.25);
    expect(() => computeMetrics({ equity: HAND, periodsPerYear: 4, exposure: 1.5 })).toThrow(RangeError);
  });

  it('annualises traded notional over average equity', () => {
    // Average equity (100 + 110 + 99 + 108.9 + 119.79) / 5 = 537.69 / 5 = 107.538; 4 bars at 2 per
    // year = 2 years; 430.152 traded → 430.152 / 107.538 / 2 = 2.0 per year.
    const m = computeMetrics({ equity: HAND, periodsPerYear: 2, tradedNotional: 430.152 });
    expect(m.turnover).toBeCloseTo(2, 12);
  });

  it('derives traded notional from the trades when not given', () => {
    // One round trip of 0.5 at 100 in and 120 out: 50 + 60 = 110 traded.
    const t = trade(10, 0, 1, { qty: 0.5, entryPrice: 100, exitPrice: 120 });
    const m = computeMetrics({ equity: HAND, periodsPerYear: 4, trades: [t] });
    expect(m.turnover).toBeCloseTo(110 / 107.538 / 1, 12);
  });
});

describe('edge cases', () => {
  it('one equity point: returns undefined, drawdown 0', () => {
    const m = computeMetrics({ equity: eq([100]), periodsPerYear: 365 });
    expect(m.totalReturn).toBe(0);
    expect(m.periods).toBe(0);
    for (const v of [m.cagr, m.volatility, m.sharpe, m.sortino, m.calmar]) expect(v).toBeNaN();
    expect(m.maxDrawdown).toBe(0);
  });

  it('two points: a return but no standard deviation', () => {
    const m = computeMetrics({ equity: eq([100, 90]), periodsPerYear: 1 });
    expect(m.totalReturn).toBeCloseTo(-0.1, 15);
    expect(m.cagr).toBeCloseTo(-0.1, 15);
    expect(m.volatility).toBeNaN();
    expect(m.sharpe).toBeNaN();
    expect(m.sortino).toBeCloseTo(-1, 15); // mean −0.1 / sqrt(0.01 / 1)
  });

  it('zero volatility: volatility 0, Sharpe NaN, Sortino +Infinity with gains', () => {
    // 1.01^k built by repeated multiplication: equal steps up to rounding.
    const equity = new Float64Array(50);
    equity[0] = 1000;
    for (let i = 1; i < 50; i++) equity[i] = equity[i - 1]! * 1.01;
    const m = computeMetrics({ equity, periodsPerYear: 365 });
    expect(m.volatility).toBe(0);
    expect(m.sharpe).toBeNaN();
    expect(m.sortino).toBe(Infinity);
    const flat = computeMetrics({ equity: eq([5, 5, 5, 5]), periodsPerYear: 365 });
    expect(flat.volatility).toBe(0);
    expect(flat.sharpe).toBeNaN();
    expect(flat.sortino).toBeNaN();
  });

  it('a ruined account: CAGR −1, returns after zero undefined', () => {
    const m = computeMetrics({ equity: eq([100, 50, 0, 0]), periodsPerYear: 1 });
    expect(m.totalReturn).toBe(-1);
    expect(m.cagr).toBe(-1);
    expect(m.maxDrawdown).toBe(-1);
    expect(m.sharpe).toBeNaN();
  });

  it('rejects bad arguments', () => {
    expect(() => computeMetrics({ equity: eq([]), periodsPerYear: 1 })).toThrow(RangeError);
    expect(() => computeMetrics({ equity: eq([0, 1]), periodsPerYear: 1 })).toThrow(/equity\[0\]/);
    expect(() => computeMetrics({ equity: eq([1, NaN]), periodsPerYear: 1 })).toThrow(/equity\[1\]/);
    expect(() => computeMetrics({ equity: HAND, periodsPerYear: 0 })).toThrow(/periodsPerYear/);
    expect(() => computeMetrics({ equity: HAND, ts: eq([1, 2]), periodsPerYear: 1 })).toThrow(/ts has 2/);
  });
});

describe('annualisation for 24/7 markets', () => {
  it('counts 365 days of bars per year', () => {
    expect(periodsPerYear(timeframeToMs('1m'))).toBe(365 * 24 * 60); // 525,600
    expect(periodsPerYear(timeframeToMs('1h'))).toBe(365 * 24); // 8,760
    expect(periodsPerYear(timeframeToMs('1d'))).toBe(365);
  });

  it('scales hourly volatility by sqrt(8760)', () => {
    const m = computeMetrics({ equity: HAND, periodsPerYear: periodsPerYear(timeframeToMs('1h')) });
    expect(m.volatility).toBeCloseTo(0.1 * Math.sqrt(8760), 10);
    // 4 hourly returns are 4/8760 of a year: CAGR = 1.1979^(8760/4) − 1 (astronomical, by design).
    expect(m.cagr).toBeCloseTo(1.1979 ** 2190 - 1, -160);
  });
});

describe('benchmark', () => {
  it('reports the same return metrics for the buy-and-hold curve', () => {
    const bench = eq([100, 120, 90, 100]);
    const m = computeMetrics({ equity: HAND, periodsPerYear: 4, benchmarkEquity: bench });
    const alone = computeMetrics({ equity: bench, periodsPerYear: 4 });
    expect(m.benchmark).toEqual({
      totalReturn: alone.totalReturn,
      cagr: alone.cagr,
      volatility: alone.volatility,
      sharpe: alone.sharpe,
      sortino: alone.sortino,
      calmar: alone.calmar,
      maxDrawdown: alone.maxDrawdown,
    });
    expect(m.benchmark!.maxDrawdown).toBeCloseTo(-0.25, 15); // 120 → 90
    expect(m.benchmark!.totalReturn).toBe(0);
    expect(computeMetrics({ equity: HAND, periodsPerYear: 4 }).benchmark).toBeUndefined();
  });
});

/** A second implementation, written with plain arrays and reduce, straight from the formulas. */
function naive(equity: number[], ppy: number) {
  const r = equity.slice(1).map((e, i) => e / equity[i]! - 1);
  const n = r.length;
  const mean = r.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(r.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const dd = Math.sqrt(r.reduce((a, b) => a + Math.min(b, 0) ** 2, 0) / n);
  const total = equity[n]! / equity[0]! - 1;
  const cagr = (1 + total) ** (ppy / n) - 1;
  let mdd = 0;
  equity.forEach((e, i) => {
    const peak = Math.max(...equity.slice(0, i + 1));
    mdd = Math.min(mdd, e / peak - 1);
  });
  // Duration: at every bar i, p is the last bar before i at the running maximum; if equity has
  // been below e[p] at any bar of (p, i], a drawdown started at p has lasted i − p bars by then.
  let longest = 0;
  for (let i = 1; i < equity.length; i++) {
    const before = equity.slice(0, i);
    const p = before.lastIndexOf(Math.max(...before));
    if (Math.min(...equity.slice(p + 1, i + 1)) < equity[p]!) longest = Math.max(longest, i - p);
  }
  return { total, cagr, vol: std * Math.sqrt(ppy), sharpe: (mean / std) * Math.sqrt(ppy), sortino: (mean / dd) * Math.sqrt(ppy), mdd, longest, calmar: cagr / -mdd };
}

const rel = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

describe('against a naive second implementation (fast-check)', () => {
  it('agrees on random curves with losses', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -0.3, max: 0.3, noNaN: true }), { minLength: 3, maxLength: 120 }),
        fc.constantFrom(1, 12, 252, 365, 8760),
        (returns, ppy) => {
          fc.pre(returns.some((r) => r < -1e-6) && returns.some((r) => r > 1e-6));
          const equity = [1000];
          for (const r of returns) equity.push(equity[equity.length - 1]! * (1 + r));
          const m = computeMetrics({ equity: Float64Array.from(equity), periodsPerYear: ppy });
          const ref = naive(equity, ppy);
          expect(rel(m.totalReturn, ref.total)).toBe(true);
          expect(rel(m.volatility, ref.vol)).toBe(true);
          expect(rel(m.sharpe, ref.sharpe)).toBe(true);
          expect(rel(m.sortino, ref.sortino)).toBe(true);
          expect(rel(m.maxDrawdown, ref.mdd)).toBe(true);
          expect(m.maxDrawdownDuration).toBe(ref.longest);
          if (Number.isFinite(ref.cagr) && Math.abs(ref.cagr) < 1e12) {
            expect(rel(m.cagr, ref.cagr)).toBe(true);
            if (ref.mdd < 0) expect(rel(m.calmar, ref.calmar)).toBe(true);
          }
        },
      ),
      { numRuns: 300, seed: 20240501 },
    );
  });

  it('returnsFromEquity and drawdownSeries match element by element', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 1, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 200 }), (xs) => {
        const e = Float64Array.from(xs);
        const r = returnsFromEquity(e);
        const d = drawdownSeries(e);
        xs.slice(1).forEach((x, i) => expect(r[i]).toBe(x / xs[i]! - 1));
        xs.forEach((x, i) => expect(d[i]).toBe(x / Math.max(...xs.slice(0, i + 1)) - 1));
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});
