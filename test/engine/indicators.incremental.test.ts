import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  computeIndicator,
  createIndicator,
  indicators,
  indicatorSpec,
  parseIndicatorParams,
} from '../../engine/indicators/index.ts';
import type { OhlcvInput } from '../../engine/indicators/index.ts';
import { InputError } from '../../engine/errors.ts';
import { DAY_MS } from '../../engine/timeframe.ts';
import { loadBtc1h } from './indicators.support.ts';

/** Feeds the series bar by bar and records every output after every bar. */
function runIncremental(kind: string, input: OhlcvInput, params: Record<string, unknown>): Float64Array[] {
  const k = createIndicator(kind, params);
  const n = input.close.length;
  const outs = k.outputs.map(() => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    k.update(input.open[i]!, input.high[i]!, input.low[i]!, input.close[i]!, input.volume[i]!, input.ts?.[i] ?? NaN);
    for (let j = 0; j < outs.length; j++) outs[j]![i] = k.value(j);
  }
  return outs;
}

function firstMismatch(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

function expectIdentical(kind: string, input: OhlcvInput, params: Record<string, unknown>): void {
  const batch = computeIndicator(kind, input, params).outputs;
  const inc = runIncremental(kind, input, params);
  indicatorSpec(kind).outputs.forEach((name, j) => {
    const at = firstMismatch(inc[j]!, batch[name]!);
    expect(at, `${kind} ${JSON.stringify(params)} output ${name} differs at ${at}: ` +
      `incremental ${inc[j]![at]} vs batch ${batch[name]![at]}`).toBe(-1);
  });
}

/** Random OHLCV bars: a multiplicative walk with flat stretches, zero volumes and day crossings. */
const barsArb = fc
  .record({
    start: fc.double({ min: 0.001, max: 100_000, noNaN: true }),
    stepMs: fc.constantFrom(60_000, 3_600_000, 4 * 3_600_000, DAY_MS),
    t0: fc.integer({ min: 1_500_000_000, max: 1_800_000_000 }).map((s) => s * 1000),
    bars: fc.array(
      fc.record({
        ret: fc.oneof(fc.constant(0), fc.double({ min: -0.1, max: 0.1, noNaN: true })),
        up: fc.double({ min: 0, max: 0.05, noNaN: true }),
        down: fc.double({ min: 0, max: 0.05, noNaN: true }),
        volume: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e6, noNaN: true })),
      }),
      { maxLength: 300 },
    ),
  })
  .map(({ start, stepMs, t0, bars }) => {
    const n = bars.length;
    const open = new Float64Array(n);
    const high = new Float64Array(n);
    const low = new Float64Array(n);
    const close = new Float64Array(n);
    const volume = new Float64Array(n);
    const ts = new Float64Array(n);
    let c = start;
    bars.forEach((b, i) => {
      const o = c;
      c = o * (1 + b.ret);
      open[i] = o;
      close[i] = c;
      high[i] = Math.max(o, c) * (1 + b.up);
      low[i] = Math.min(o, c) * (1 - b.down);
      volume[i] = b.volume;
      ts[i] = t0 + i * stepMs;
    });
    return { open, high, low, close, volume, ts } satisfies OhlcvInput;
  });

const paramsArb: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  sma: fc.record({ period: fc.integer({ min: 1, max: 40 }) }),
  ema: fc.record({ period: fc.integer({ min: 1, max: 40 }) }),
  rsi: fc.record({ period: fc.integer({ min: 2, max: 40 }) }),
  macd: fc
    .record({ fast: fc.integer({ min: 2, max: 15 }), extra: fc.integer({ min: 1, max: 20 }), signal: fc.integer({ min: 1, max: 12 }) })
    .map(({ fast, extra, signal }) => ({ fast, slow: fast + extra, signal })),
  bbands: fc.record({ period: fc.integer({ min: 2, max: 40 }), stddev: fc.double({ min: 0.5, max: 3, noNaN: true }) }),
  atr: fc.record({ period: fc.integer({ min: 1, max: 40 }) }),
  stoch: fc.record({
    kPeriod: fc.integer({ min: 1, max: 25 }),
    kSmoothing: fc.integer({ min: 1, max: 5 }),
    dPeriod: fc.integer({ min: 1, max: 5 }),
  }),
  obv: fc.constant({}),
  vwap: fc.record({ sessionMs: fc.constantFrom(0, DAY_MS, 4 * 3_600_000) }),
};

describe('incremental kernel == batch, bit for bit (Object.is per element)', () => {
  it('every registered indicator has a parameter generator here', () => {
    expect(Object.keys(paramsArb).sort()).toEqual(Object.keys(indicators).sort());
  });

  for (const kind of Object.keys(paramsArb)) {
    it(`${kind}: random series and parameters`, () => {
      fc.assert(
        fc.property(barsArb, paramsArb[kind]!, (input, params) => expectIdentical(kind, input, params)),
        { seed: 20240601, numRuns: 150 },
      );
    });
  }

  it('every indicator with defaults on 34k real BTCUSDT 1h bars', () => {
    const bars = loadBtc1h();
    for (const kind of Object.keys(indicators)) expectIdentical(kind, bars, {});
  });

  it('a re-summed window stays identical past many wraps, and long series stay identical', () => {
    const bars = loadBtc1h();
    for (const period of [1, 2, 3, 50, 200]) expectIdentical('sma', bars, { period });
    expectIdentical('bbands', bars, { period: 3, stddev: 2 });
  });
});

describe('warm-up length (lookback) and reset', () => {
  it('the main output is NaN before lookback and defined from it', () => {
    fc.assert(
      fc.property(barsArb, fc.constantFrom(...Object.keys(paramsArb)), fc.integer({ min: 0, max: 1000 }), (input, kind, pick) => {
        const params = fc.sample(paramsArb[kind]!, { seed: pick, numRuns: 1 })[0]!;
        const spec = indicatorSpec(kind);
        const lb = spec.lookback(parseIndicatorParams(kind, params) as never);
        const main = computeIndicator(kind, input, params).outputs[spec.outputs[0]!]!;
        for (let i = 0; i < Math.min(lb, main.length); i++) expect(main[i], `${kind} bar ${i}`).toBeNaN();
        // VWAP is legitimately undefined while its session has no volume.
        if (main.length > lb && kind !== 'vwap') expect(Number.isFinite(main[lb]), `${kind} at lookback ${lb}`).toBe(true);
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it('reset() makes a used kernel behave like a fresh one', () => {
    const bars = loadBtc1h();
    const slice = (a: Float64Array) => a.subarray(0, 500);
    const part: OhlcvInput = {
      open: slice(bars.open), high: slice(bars.high), low: slice(bars.low), close: slice(bars.close),
      volume: slice(bars.volume), ts: slice(bars.ts),
    };
    for (const kind of Object.keys(indicators)) {
      const k = createIndicator(kind);
      for (let i = 0; i < 300; i++) k.update(part.open[i]!, part.high[i]!, part.low[i]!, part.close[i]!, part.volume[i]!, part.ts![i]!);
      k.reset();
      const batch = computeIndicator(kind, part).outputs;
      for (let i = 0; i < 500; i++) {
        k.update(part.open[i]!, part.high[i]!, part.low[i]!, part.close[i]!, part.volume[i]!, part.ts![i]!);
        indicatorSpec(kind).outputs.forEach((name, j) => expect(Object.is(k.value(j), batch[name]![i]), `${kind}.${name} @${i}`).toBe(true));
      }
    }
  });
});

describe('registry and parameter validation', () => {
  it('unknown indicator names the indicator and lists the known ones', () => {
    expect(() => createIndicator('smaa')).toThrow(InputError);
    expect(() => createIndicator('smaa')).toThrow(/unknown indicator "smaa".*sma, ema, rsi/);
    // Prototype keys are not indicators.
    expect(() => createIndicator('toString')).toThrow(InputError);
  });

  it('bad or unknown params name the parameter', () => {
    expect(() => createIndicator('rsi', { period: 1 })).toThrow(/rsi: param period/);
    expect(() => createIndicator('rsi', { period: 2.5 })).toThrow(/param period/);
    expect(() => createIndicator('rsi', { period: 'x' })).toThrow(/param period/);
    expect(() => createIndicator('sma', { perod: 3 })).toThrow(/unknown param perod/);
    expect(() => createIndicator('macd', { fast: 26, slow: 12 })).toThrow(/param fast: fast must be smaller than slow/);
    expect(() => createIndicator('bbands', { stddev: -1 })).toThrow(/param stddev/);
  });

  it('defaults are filled in', () => {
    expect(parseIndicatorParams('macd')).toEqual({ fast: 12, slow: 26, signal: 9 });
    expect(parseIndicatorParams('bbands')).toEqual({ period: 20, stddev: 2 });
    expect(parseIndicatorParams('stoch')).toEqual({ kPeriod: 14, kSmoothing: 3, dPeriod: 3 });
    expect(parseIndicatorParams('vwap')).toEqual({ sessionMs: DAY_MS });
  });

  it('VWAP batch without timestamps is an input error unless sessions are off', () => {
    const c = [1, 2, 3];
    const input = { open: c, high: c, low: c, close: c, volume: c };
    expect(() => computeIndicator('vwap', input)).toThrow(InputError);
    expect(computeIndicator('vwap', input, { sessionMs: 0 }).outputs.vwap![2]).toBeCloseTo((1 + 4 + 9) / 6, 12);
  });
});
