import { describe, expect, it } from 'vitest';
import { computeIndicator, trueRange } from '../../engine/indicators/index.ts';
import type { OhlcvInput } from '../../engine/indicators/index.ts';

/**
 * Indicator values checked against PUBLISHED worked examples (typed in from the source named
 * above each table) or, where no table is known with certainty, against values derived by hand
 * from the textbook definition, written below as fractions.
 */

function closesOnly(close: readonly number[]): OhlcvInput {
  const zeros = close.map(() => 0);
  return { open: close, high: close, low: close, close, volume: zeros };
}

function expectNear(actual: ArrayLike<number>, expected: readonly (number | null)[], tol: number, offset = 0): void {
  expected.forEach((e, j) => {
    const a = actual[offset + j]!;
    if (e === null) expect(a, `index ${offset + j} should still be warming up`).toBeNaN();
    else expect(Math.abs(a - e), `index ${offset + j}: got ${a}, published ${e}`).toBeLessThanOrEqual(tol);
  });
}

// StockCharts ChartSchool, "Moving Averages - Simple and Exponential", worked example (Intel,
// cs-movavg.xls): 30 closes shown to 2 decimals, 10-day SMA and EMA from the 10th close on.
// The page prints closes rounded to cents and the averages rounded to cents, so values computed
// from the printed closes may differ from the printed averages by up to 0.01.
const MA_CLOSE = [
  22.27, 22.19, 22.08, 22.17, 22.18, 22.13, 22.23, 22.43, 22.24, 22.29, 22.15, 22.39, 22.38, 22.61, 23.36,
  24.05, 23.75, 23.83, 23.95, 23.63, 23.82, 23.87, 23.65, 23.19, 23.1, 23.33, 22.68, 23.1, 22.4, 22.17,
];
const MA_SMA10 = [
  22.22, 22.21, 22.23, 22.26, 22.31, 22.42, 22.61, 22.77, 22.91, 23.08, 23.21, 23.38, 23.53, 23.65, 23.71,
  23.69, 23.61, 23.51, 23.43, 23.28, 23.13,
];
const MA_EMA10 = [
  22.22, 22.21, 22.24, 22.27, 22.33, 22.52, 22.8, 22.97, 23.13, 23.28, 23.34, 23.43, 23.51, 23.54, 23.47,
  23.4, 23.39, 23.26, 23.23, 23.08, 22.92,
];

// StockCharts ChartSchool, "Relative Strength Index (RSI)", spreadsheet cs-rsi.xls (QQQQ daily
// closes, 4 decimals, and the 14-day RSI column to 4 decimals).
const RSI_CLOSE = [
  44.3389, 44.0902, 44.1497, 43.6124, 44.3278, 44.8264, 45.0955, 45.4245, 45.8433, 46.0826, 45.8931, 46.0328,
  45.614, 46.282, 46.282, 46.0028, 46.0328, 46.4116, 46.2222, 45.6439, 46.2122, 46.2521, 45.7137, 46.4515,
  45.7835, 45.3548, 44.0288, 44.1783, 44.2181, 44.5672, 43.4205, 42.6628, 43.1314,
];
const RSI_14 = [
  70.5328, 66.3186, 66.5498, 69.4063, 66.3552, 57.9749, 62.9296, 63.2571, 56.0593, 62.3771, 54.7076, 50.4228,
  39.9898, 41.4605, 41.8689, 45.4632, 37.304, 33.0795, 37.773,
];

// StockCharts ChartSchool, "Average True Range (ATR)", spreadsheet cs-atr.xls (QQQQ daily bars,
// the True Range column and the 14-day ATR column to 6 decimals).
const ATR_HIGH = [
  48.7, 48.72, 48.9, 48.87, 48.82, 49.05, 49.2, 49.35, 49.92, 50.19, 50.12, 49.66, 49.88, 50.19, 50.36, 50.57,
  50.65, 50.43, 49.63, 50.33, 50.29, 50.17, 49.32, 48.5, 48.3201, 46.8, 47.8, 48.39, 48.66, 48.79,
];
const ATR_LOW = [
  47.79, 48.14, 48.39, 48.37, 48.24, 48.635, 48.94, 48.86, 49.5, 49.87, 49.2, 48.9, 49.43, 49.725, 49.26, 50.09,
  50.3, 49.21, 48.98, 49.61, 49.2, 49.43, 48.08, 47.64, 41.55, 44.2833, 47.31, 47.2, 47.9, 47.7301,
];
const ATR_CLOSE = [
  48.16, 48.61, 48.75, 48.63, 48.74, 49.03, 49.07, 49.32, 49.91, 50.13, 49.53, 49.5, 49.75, 50.03, 50.31, 50.52,
  50.41, 49.34, 49.37, 50.23, 49.2375, 49.93, 48.43, 48.18, 46.57, 45.41, 47.77, 47.72, 48.62, 47.85,
];
const ATR_TR = [
  0.91, 0.58, 0.51, 0.5, 0.58, 0.415, 0.26, 0.49, 0.6, 0.32, 0.93, 0.76, 0.45, 0.465, 1.1, 0.48, 0.35, 1.22,
  0.65, 0.96, 1.09, 0.9325, 1.85, 0.86, 6.7701, 2.5167, 2.39, 1.19, 0.94, 1.0599,
];
/** Published from the 14th bar (index 13) on. */
const ATR_14 = [
  0.555, 0.593929, 0.585791, 0.568949, 0.615452, 0.61792, 0.642354, 0.674329, 0.69277, 0.775429, 0.78147,
  1.209229, 1.30262, 1.38029, 1.366698, 1.336219, 1.316482,
];

// StockCharts ChartSchool, "Bollinger Bands", spreadsheet cs-bbands.xls (SPY daily closes, the
// 20-day SMA and the bands at 2 population standard deviations, to 6 decimals), from bar 20 on.
const BB_CLOSE = [
  86.1557, 89.0867, 88.7829, 90.3228, 89.0671, 91.1453, 89.4397, 89.175, 86.9302, 87.6752, 86.9596, 89.4299,
  89.3221, 88.7241, 87.4497, 87.2634, 89.4985, 87.9006, 89.126, 90.7043, 92.9001, 92.9784, 91.8021, 92.6647,
  92.6843, 92.3021, 92.7725, 92.5373, 92.949, 93.2039, 91.0669, 89.8318, 89.7435, 90.3994, 90.7387, 88.0177,
  88.0867, 88.8439, 90.7781, 90.5416, 91.3894, 90.65,
];
const BB_MIDDLE = [
  88.70794, 89.04516, 89.239745, 89.390705, 89.5078, 89.68866, 89.7465, 89.91314, 90.081255, 90.382195,
  90.65863, 90.863995, 90.88409, 90.90516, 90.988925, 91.153375, 91.19109, 91.1205, 91.167665, 91.25027,
  91.242135, 91.1666, 91.05018,
];
const BB_UPPER = [
  91.291862, 91.949268, 92.612595, 92.9342, 93.31195, 93.72845, 93.899592, 94.266255, 94.565096, 94.786912,
  95.043001, 94.907605, 94.902912, 94.89532, 94.861013, 94.673629, 94.556593, 94.678752, 94.575786, 94.534271,
  94.532306, 94.369251, 94.148503,
];
const BB_LOWER = [
  86.124018, 86.141052, 85.866895, 85.84721, 85.70365, 85.64887, 85.593408, 85.560025, 85.597414, 85.977478,
  86.274259, 86.820385, 86.865268, 86.915, 87.116837, 87.633121, 87.825587, 87.562248, 87.759544, 87.966269,
  87.951964, 87.963949, 87.951857,
];

describe('SMA and EMA: StockCharts 10-day worked example', () => {
  it('SMA(10) matches the published column and is NaN before the 10th close', () => {
    const [out] = Object.values(computeIndicator('sma', closesOnly(MA_CLOSE), { period: 10 }).outputs);
    expectNear(out!, Array(9).fill(null), 0);
    expectNear(out!, MA_SMA10, 0.0101, 9);
  });

  it('EMA(10) is seeded with the SMA of the first 10 closes and matches the published column', () => {
    const out = computeIndicator('ema', closesOnly(MA_CLOSE), { period: 10 }).outputs.ema!;
    expectNear(out, Array(9).fill(null), 0);
    // The seed is exactly the first SMA: (22.27 + ... + 22.29) / 10 = 222.21 / 10.
    expect(out[9]).toBeCloseTo(222.21 / 10, 12);
    expectNear(out, MA_EMA10, 0.0101, 9);
  });
});

describe('RSI: StockCharts cs-rsi.xls (Wilder, 14 days)', () => {
  it('first value at index 14 and every published value to 4 decimals', () => {
    const out = computeIndicator('rsi', closesOnly(RSI_CLOSE), { period: 14 }).outputs.rsi!;
    expectNear(out, Array(14).fill(null), 0);
    expectNear(out, RSI_14, 0.00005 + 1e-9, 14);
  });

  it('is 100 when every change is a gain, 0 when every change is a loss', () => {
    const up = [1, 2, 3, 4, 5, 6];
    const down = [...up].reverse();
    expect(computeIndicator('rsi', closesOnly(up), { period: 3 }).outputs.rsi![5]).toBe(100);
    expect(computeIndicator('rsi', closesOnly(down), { period: 3 }).outputs.rsi![5]).toBe(0);
  });

  it('hand-worked period 2: seed 1/2-means, then Wilder smoothing', () => {
    // closes 10, 11, 10.5, 12: changes +1, -0.5, +1.5.
    // seed: gain (1 + 0) / 2 = 0.5, loss (0 + 0.5) / 2 = 0.25 -> RSI = 100 * 0.5 / 0.75 = 66.67
    // next: gain (0.5 * 1 + 1.5) / 2 = 1, loss (0.25 * 1 + 0) / 2 = 0.125 -> 100 * 1 / 1.125
    const out = computeIndicator('rsi', closesOnly([10, 11, 10.5, 12]), { period: 2 }).outputs.rsi!;
    expect(out[1]).toBeNaN();
    expect(out[2]).toBeCloseTo(200 / 3, 12);
    expect(out[3]).toBeCloseTo(100 / 1.125, 12);
  });

  it('a window with no movement at all reads neutral 50 (documented difference from TA-Lib)', () => {
    const out = computeIndicator('rsi', closesOnly([5, 5, 5, 5]), { period: 2 }).outputs.rsi!;
    expect(out[3]).toBe(50);
  });
});

describe('ATR: StockCharts cs-atr.xls (Wilder, 14 days)', () => {
  it('true range of bars 1.. equals the published TR column', () => {
    for (let i = 1; i < ATR_CLOSE.length; i++) {
      expect(trueRange(ATR_HIGH[i]!, ATR_LOW[i]!, ATR_CLOSE[i - 1]!)).toBeCloseTo(ATR_TR[i]!, 9);
    }
  });

  it('matches the published ATR once the first-bar convention is aligned', () => {
    // StockCharts counts bar 0's high-low (0.91) as a true range; TA-Lib, whose warm-up we
    // follow, needs a previous close. Prepending a bar whose close (48.16) lies inside bar 0's
    // range makes bar 0's TR exactly its high-low, so our ATR one bar later is StockCharts' ATR.
    const pre = 48.16;
    const high = [pre, ...ATR_HIGH];
    const low = [pre, ...ATR_LOW];
    const close = [pre, ...ATR_CLOSE];
    const out = computeIndicator('atr', { open: close, high, low, close, volume: close.map(() => 0) }, { period: 14 })
      .outputs.atr!;
    expectNear(out, Array(14).fill(null), 0);
    expectNear(out, ATR_14, 0.0000005 + 1e-9, 14);
  });

  it('without the extra bar, the first ATR is at index 14 and averages TR of bars 1..14', () => {
    const input = { open: ATR_CLOSE, high: ATR_HIGH, low: ATR_LOW, close: ATR_CLOSE, volume: ATR_CLOSE.map(() => 0) };
    const out = computeIndicator('atr', input, { period: 14 }).outputs.atr!;
    expect(out[13]).toBeNaN();
    const seed = ATR_TR.slice(1, 15).reduce((a, b) => a + b, 0) / 14;
    expect(out[14]).toBeCloseTo(seed, 9);
    expect(out[15]).toBeCloseTo((seed * 13 + ATR_TR[15]!) / 14, 9);
  });
});

describe('Bollinger Bands: StockCharts cs-bbands.xls (20, 2)', () => {
  it('middle, upper and lower match to 6 decimals; population standard deviation', () => {
    const [upper, middle, lower] = Object.values(
      computeIndicator('bbands', closesOnly(BB_CLOSE), { period: 20, stddev: 2 }).outputs,
    );
    expectNear(middle!, Array(19).fill(null), 0);
    expectNear(middle!, BB_MIDDLE, 0.0000005 + 1e-9, 19);
    expectNear(upper!, BB_UPPER, 0.0000005 + 1e-9, 19);
    expectNear(lower!, BB_LOWER, 0.0000005 + 1e-9, 19);
  });

  it('hand-worked: window 2, 4, 4, 4, 5, 5, 7, 9 has mean 5 and population sd 2', () => {
    // Sum of squared deviations: 9 + 1 + 1 + 1 + 0 + 0 + 4 + 16 = 32; 32 / 8 = 4; sd = 2.
    const out = computeIndicator('bbands', closesOnly([2, 4, 4, 4, 5, 5, 7, 9]), { period: 8, stddev: 1.5 }).outputs;
    expect(out.middle![7]).toBe(5);
    expect(out.upper![7]).toBeCloseTo(5 + 1.5 * 2, 12);
    expect(out.lower![7]).toBeCloseTo(5 - 1.5 * 2, 12);
  });
});

describe('MACD: hand-worked with fast 2, slow 3, signal 2 on closes 1, 2, 4, 8, 16, 32', () => {
  // Slow EMA(3), k = 1/2, seed = mean(1, 2, 4) = 7/3 at bar 2; then 31/6, 127/12, 511/24.
  // Fast EMA(2), k = 2/3, TA-Lib seeding: it starts at bar slow-fast = 1, seed = mean(2, 4) = 3
  // at bar 2; then 3 + (8 - 3)*2/3 = 19/3, 19/3 + (16 - 19/3)*2/3 = 115/9, then 691/27.
  // MACD = fast - slow: 2/3, 7/6, 79/36, 929/216 (bars 2..5).
  // Signal EMA(2) of MACD, seed = mean(2/3, 7/6) = 11/12 at bar 3; then 191/108, 280/81.
  // Histogram: 7/6 - 11/12 = 1/4, 79/36 - 191/108 = 23/54, 929/216 - 280/81 = 547/648.
  const out = computeIndicator('macd', closesOnly([1, 2, 4, 8, 16, 32]), { fast: 2, slow: 3, signal: 2 }).outputs;

  it('macd line from bar slow-1', () => {
    expectNear(out.macd!, [null, null, 2 / 3, 7 / 6, 79 / 36, 929 / 216], 1e-12);
  });

  it('signal and histogram from bar slow+signal-2', () => {
    expectNear(out.signal!, [null, null, null, 11 / 12, 191 / 108, 280 / 81], 1e-12);
    expectNear(out.histogram!, [null, null, null, 1 / 4, 23 / 54, 547 / 648], 1e-12);
  });
});

describe('Stochastic: hand-worked with kPeriod 3, kSmoothing 2, dPeriod 2', () => {
  const high = [10, 12, 11, 13, 15, 14];
  const low = [8, 9, 9, 10, 12, 11];
  const close = [9, 11, 10, 12, 14, 12];
  // Raw %K: bar 2: HH 12, LL 8 -> 100*(10-8)/4 = 50; bar 3: HH 13, LL 9 -> 100*3/4 = 75;
  // bar 4: HH 15, LL 9 -> 100*5/6 = 250/3; bar 5: HH 15, LL 10 -> 100*2/5 = 40.
  // k = SMA2(raw): bar 3 (50+75)/2 = 62.5, bar 4 (75+250/3)/2 = 475/6, bar 5 (250/3+40)/2 = 185/3.
  // d = SMA2(k): bar 4 (62.5+475/6)/2 = 425/6, bar 5 (475/6+185/3)/2 = 845/12.
  const out = computeIndicator('stoch', { open: close, high, low, close, volume: close.map(() => 0) }, {
    kPeriod: 3,
    kSmoothing: 2,
    dPeriod: 2,
  }).outputs;

  it('k and d', () => {
    expectNear(out.k!, [null, null, null, 62.5, 475 / 6, 185 / 3], 1e-12);
    expectNear(out.d!, [null, null, null, null, 425 / 6, 845 / 12], 1e-12);
  });

  it('a window without range reads 50', () => {
    const flat = [3, 3, 3];
    const o = computeIndicator('stoch', { open: flat, high: flat, low: flat, close: flat, volume: flat }, {
      kPeriod: 3,
      kSmoothing: 1,
      dPeriod: 1,
    }).outputs;
    expect(o.k![2]).toBe(50);
  });
});

describe('OBV: hand-worked', () => {
  it('adds volume on up closes, subtracts on down closes, keeps on unchanged; starts at the first volume', () => {
    const close = [10, 11, 11, 10, 12];
    const volume = [100, 200, 300, 400, 500];
    const out = computeIndicator('obv', { open: close, high: close, low: close, close, volume }).outputs.obv!;
    // 100; +200 = 300; unchanged 300; -400 = -100; +500 = 400.
    expect(Array.from(out)).toEqual([100, 300, 300, -100, 400]);
  });
});

describe('VWAP: hand-worked, session reset at 00:00 UTC', () => {
  const ts = [Date.UTC(2024, 0, 1, 0), Date.UTC(2024, 0, 1, 1), Date.UTC(2024, 0, 2, 0), Date.UTC(2024, 0, 2, 1)];
  const high = [12, 15, 30, 33];
  const low = [8, 9, 24, 27];
  const close = [10, 12, 27, 30];
  const volume = [1, 3, 2, 2];
  // Typical prices (h+l+c)/3: 10, 12, 27, 30.
  const input = { open: close, high, low, close, volume, ts };

  it('resets each UTC day by default', () => {
    const out = computeIndicator('vwap', input).outputs.vwap!;
    // Day 1: 10; (10*1 + 12*3)/4 = 11.5. Day 2 starts afresh: 27; (27*2 + 30*2)/4 = 28.5.
    expectNear(out, [10, 11.5, 27, 28.5], 1e-12);
  });

  it('sessionMs=0 accumulates over the whole series', () => {
    const out = computeIndicator('vwap', input, { sessionMs: 0 }).outputs.vwap!;
    // (10 + 36 + 54 + 60) / 8 = 20.
    expect(out[3]).toBeCloseTo(20, 12);
  });

  it('is undefined while the session has traded no volume', () => {
    const out = computeIndicator('vwap', { ...input, volume: [0, 1, 0, 0] }).outputs.vwap!;
    expect(out[0]).toBeNaN();
    expect(out[1]).toBeCloseTo(12, 12);
    expect(out[2]).toBeNaN();
  });
});
