import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  defaultBins,
  equityChart,
  fanCollector,
  histogram,
  monteCarloFanChart,
  monthlyReturns,
  monthlyReturnsHeatmap,
  paramGrid,
  parameterHeatmap,
  priceTradesChart,
  renderSvg,
  returnHistogramChart,
  rollingSharpe,
  rollingSharpeChart,
  thinIndices,
  underwaterChart,
  walkForwardChart,
  yearlyReturns,
} from '../../reports/charts/index.ts';
import { quantileSorted } from '../../engine/metrics.ts';

const eq = (xs: number[]) => Float64Array.from(xs);
const day = (y: number, m: number, d: number, h = 0) => Date.UTC(y, m - 1, d, h);

describe('monthlyReturns', () => {
  it('compounds by calendar month, a point at midnight on the 1st closing the month before', () => {
    // Start 100 on 1 Jan; 110 mid-January; 120 at 1 Feb 00:00 (the close of January's last bar);
    // 90 on 10 Feb; 108 at 1 Mar 00:00 (February's close).
    // January: 120 / 100 − 1 = +20 %; February: 108 / 120 − 1 = −10 %; the year: 1.2 × 0.9 − 1 = +8 %.
    const ts = [day(2024, 1, 1), day(2024, 1, 15), day(2024, 2, 1), day(2024, 2, 10), day(2024, 3, 1)];
    const m = monthlyReturns(ts, [100, 110, 120, 90, 108]);
    expect(m.map((x) => [x.year, x.month])).toEqual([
      [2024, 0],
      [2024, 1],
    ]);
    expect(m[0]!.ret).toBeCloseTo(0.2, 12);
    expect(m[1]!.ret).toBeCloseTo(-0.1, 12);
    const y = yearlyReturns(m);
    expect(y).toHaveLength(1);
    expect(y[0]!.ret).toBeCloseTo(0.08, 12);
  });

  it('chains months across a year end, and the months multiply back to the total return', () => {
    // 1000 → 1100 at 1 Dec 00:00 (November), → 990 at 1 Jan (December, −10 %), → 1089 on 5 Jan (+10 %).
    const ts = [day(2023, 11, 1), day(2023, 12, 1), day(2024, 1, 1), day(2024, 1, 5, 12)];
    const m = monthlyReturns(ts, [1000, 1100, 990, 1089]);
    expect(m.map((x) => `${x.year}-${x.month + 1}`)).toEqual(['2023-11', '2023-12', '2024-1']);
    [0.1, -0.1, 0.1].forEach((r, i) => expect(m[i]!.ret).toBeCloseTo(r, 12));
    expect(m.reduce((g, x) => g * (1 + x.ret), 1)).toBeCloseTo(1089 / 1000, 12);
  });

  it('the product of monthly growths is the whole curve growth (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -0.2, max: 0.2, noNaN: true }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 48 }), (rs, hours) => {
        const equity = [100];
        for (const r of rs) equity.push(equity[equity.length - 1]! * (1 + r));
        const ts = equity.map((_, i) => day(2024, 1, 1) + i * hours * 3_600_000);
        const g = monthlyReturns(ts, equity).reduce((a, x) => a * (1 + x.ret), 1);
        expect(g).toBeCloseTo(equity[equity.length - 1]! / 100, 9);
      }),
      { numRuns: 100 },
    );
  });
});

describe('rollingSharpe', () => {
  it('matches the hand-worked window statistics', () => {
    // Returns +1 %, +2 %, +3 %, −1 %; window 3, 4 periods a year (√4 = 2).
    // Point 3: mean 0.02, sample std 0.01 → 2 × 2 = 4.
    // Point 4: returns .02, .03, −.01: mean 0.04/3; squared deviations sum to 0.0026/3, so the
    // sample variance is 0.0013/3 = 13/30000 → (0.04/3)/√(13/30000) × 2 = 1.2810252…
    const e = [100];
    for (const r of [0.01, 0.02, 0.03, -0.01]) e.push(e[e.length - 1]! * (1 + r));
    const s = rollingSharpe(eq(e), 3, 4);
    expect(s.length).toBe(5);
    expect([s[0], s[1], s[2]].every(Number.isNaN)).toBe(true);
    expect(s[3]).toBeCloseTo(4, 9);
    expect(s[4]).toBeCloseTo(1.2810252304406972, 9);
  });

  it('is NaN over a window of identical returns (no spread, no ratio)', () => {
    const e = [100];
    for (let i = 0; i < 10; i++) e.push(e[e.length - 1]! * 1.001);
    const s = rollingSharpe(eq(e), 4, 365);
    expect(Array.from(s.subarray(4)).every(Number.isNaN)).toBe(true);
  });

  it('agrees with a direct per-window mean and standard deviation (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -0.05, max: 0.05, noNaN: true }), { minLength: 2, maxLength: 120 }), fc.integer({ min: 2, max: 30 }), (rs, w) => {
        const e = [1];
        for (const r of rs) e.push(e[e.length - 1]! * (1 + r));
        const s = rollingSharpe(eq(e), w, 252);
        for (let i = w; i < e.length; i++) {
          const win = [];
          for (let k = i - w + 1; k <= i; k++) win.push(e[k]! / e[k - 1]! - 1);
          const mean = win.reduce((a, b) => a + b, 0) / w;
          const sd = Math.sqrt(win.reduce((a, b) => a + (b - mean) ** 2, 0) / (w - 1));
          // Below ~1e-6 of spread the ratio is dominated by rounding in any formula.
          if (sd < 1e-6) continue;
          const want = (mean / sd) * Math.sqrt(252);
          expect(Math.abs(s[i]! - want)).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(want)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a window under 2', () => expect(() => rollingSharpe(eq([1, 2, 3]), 1, 365)).toThrow(RangeError));
});

describe('histogram', () => {
  it('bins by equal widths, the maximum in the last bin', () => {
    // min 0, max 10, 5 bins of width 2: {0,1} {2,3} {4} {} {10}.
    const h = histogram([0, 1, 2, 3, 4, 10, NaN], 5);
    expect(h.edges).toEqual([0, 2, 4, 6, 8, 10]);
    expect(h.counts).toEqual([2, 2, 1, 0, 1]);
  });
  it('puts equal values in one bin and has nothing for no finite value', () => {
    expect(histogram([3, 3, 3], 4)).toEqual({ edges: [3, 3], counts: [3] });
    expect(histogram([NaN], 4)).toEqual({ edges: [], counts: [] });
  });
  it('copes with a span too small to divide (found by the property below)', () => {
    expect(histogram([0, 5e-324], 2).counts).toEqual([1, 1]);
  });
  it('counts every finite value exactly once (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 })), fc.integer({ min: 1, max: 50 }), (xs, b) => {
        expect(histogram(xs, b).counts.reduce((a, c) => a + c, 0)).toBe(xs.length);
      }),
    );
  });
  it("Sturges' rule within [10, 60]", () => {
    expect(defaultBins(1000)).toBe(11); // ⌈log2 1000⌉ + 1 = 10 + 1
    expect(defaultBins(5)).toBe(10);
  });
});

describe('thinIndices and the fan', () => {
  it('keeps first and last, evenly spaced', () => {
    expect(thinIndices(10, 4)).toEqual([0, 3, 6, 9]);
    expect(thinIndices(3, 10)).toEqual([0, 1, 2]);
  });

  it('quantiles are type 7 (numpy linear)', () => {
    // numpy.percentile([1, 2, 3, 4], 25) = 1.75; 50 → 2.5.
    expect(quantileSorted([1, 2, 3, 4], 0.25)).toBeCloseTo(1.75, 12);
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBeCloseTo(2.5, 12);
  });

  it('gives the per-step quantiles of the paths worked by hand', () => {
    // Four paths of two steps at +10 %, 0 %, −10 %, +20 % a step: growth after two steps
    // 1.21, 1, 0.81, 1.44. Sorted 0.81, 1, 1.21, 1.44: median (1 + 1.21)/2 = 1.105,
    // p25 = 0.81 + 0.75 × 0.19 = 0.9525; p5 = 0.81 + 0.15 × 0.19 = 0.8385.
    const c = fanCollector(2, 4);
    [0.1, 0, -0.1, 0.2].forEach((r, p) => c.observe(p, [r, r], 2));
    const f = c.fan([0.05, 0.25, 0.5]);
    expect(f.steps).toEqual([0, 1, 2]);
    expect(f.bands.map((b) => b[0])).toEqual([1, 1, 1]);
    expect(f.bands[0]![2]).toBeCloseTo(0.8385, 12);
    expect(f.bands[1]![2]).toBeCloseTo(0.9525, 12);
    expect(f.bands[2]![2]).toBeCloseTo(1.105, 12);
  });
});

describe('paramGrid', () => {
  it('places each run in its cell and keeps the best of runs sharing a cell', () => {
    const g = paramGrid(
      [
        { params: { fast: 10, slow: 50, k: 1 }, value: 0.5 },
        { params: { fast: 10, slow: 50, k: 2 }, value: 0.9 },
        { params: { fast: 5, slow: 100, k: 1 }, value: -0.2 },
        { params: { fast: 5, slow: 50, k: 1 }, value: null },
      ],
      'fast',
      'slow',
    );
    expect(g.xValues).toEqual(['5', '10']);
    expect(g.yValues).toEqual(['50', '100']);
    expect(g.cells).toEqual([
      [1, 0, 0.9],
      [0, 1, -0.2],
    ]);
    const low = paramGrid([{ params: { a: 1, b: 1 }, value: 3 }, { params: { a: 1, b: 1 }, value: 2 }], 'a', 'b', { lowerIsBetter: true });
    expect(low.cells).toEqual([[0, 0, 2]]);
  });
});

describe('option builders', () => {
  const ts = Array.from({ length: 400 }, (_, i) => day(2024, 1, 1) + i * 86_400_000);
  const equity = ts.map((_, i) => 1000 * (1 + 0.3 * Math.sin(i / 20) + i / 400));
  const builders = {
    equity: equityChart({ ts, equity, benchmark: equity.map((x) => x * 0.9) }),
    underwater: underwaterChart({ ts, equity }),
    monthly: monthlyReturnsHeatmap(monthlyReturns(ts, equity)),
    rolling: rollingSharpeChart({ ts, equity, window: 30, periodsPerYear: 365 }),
    histogram: returnHistogramChart(equity.slice(1).map((x, i) => x / equity[i]! - 1)),
    price: priceTradesChart({ ts, close: equity, trades: [{ side: 'long', entryTs: ts[10]!, exitTs: ts[50]!, entryPrice: equity[10]!, exitPrice: equity[50]! }] }),
    params: parameterHeatmap(paramGrid([{ params: { a: 1, b: 2 }, value: 1 }, { params: { a: 2, b: 2 }, value: 2 }], 'a', 'b'), 'sharpe'),
    walkforward: walkForwardChart({ windows: [{ isFrom: ts[0]!, isTo: ts[100]!, oosFrom: ts[100]!, oosTo: ts[150]! }], ts: ts.slice(100, 150), equity: equity.slice(100, 150) }),
    fan: (() => {
      const c = fanCollector(10, 3);
      for (let p = 0; p < 3; p++) c.observe(p, Array(10).fill(0.01 * (p - 1)), 10);
      return monteCarloFanChart({ fan: c.fan(), startValue: 1000 });
    })(),
  };

  it('are plain JSON (they are inlined into HTML and drawn in the browser)', () => {
    for (const [name, o] of Object.entries(builders)) expect(JSON.parse(JSON.stringify(o)), name).toEqual(o);
  });

  it('render to SVG on the server with drawn paths', () => {
    for (const [name, o] of Object.entries(builders)) {
      const svg = renderSvg(o, { width: 600, height: 300 });
      expect(svg.startsWith('<svg'), name).toBe(true);
      expect((svg.match(/<path/g) ?? []).length, name).toBeGreaterThan(3);
    }
  });

  it('the underwater chart is the drawdown from the running peak in percent', () => {
    // 100 → 110 → 99 → 121: peaks 100, 110, 110, 121 → 0, 0, −10 %, 0.
    const o = underwaterChart({ ts: [1, 2, 3, 4], equity: [100, 110, 99, 121] }) as { series: { data: [number, number][] }[] };
    expect(o.series[0]!.data.map((p) => p[1])).toEqual([0, 0, -10, 0]);
  });

  it('thins long curves to a bounded number of points, keeping the last', () => {
    const n = 100_000;
    const big = Array.from({ length: n }, (_, i) => i);
    const o = equityChart({ ts: big, equity: big.map((i) => 1000 + i) }) as { series: { data: [number, number][] }[] };
    expect(o.series[0]!.data.length).toBeLessThanOrEqual(4000);
    expect(o.series[0]!.data.at(-1)).toEqual([n - 1, 1000 + n - 1]);
  });
});
