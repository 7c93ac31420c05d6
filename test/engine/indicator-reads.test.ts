import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runColumnar, runEvents, type BacktestOptions } from '../../engine/backtest.ts';
import { barEvents } from '../../engine/merge.ts';
import { defineStrategy } from '../../engine/strategy.ts';
import { builtinStrategies } from '../../engine/strategies/index.ts';
import { InputError } from '../../engine/errors.ts';
import { column, recycleColumns } from '../../engine/indicators/column.ts';
import { nanColumn } from '../../engine/indicators/window.ts';
import type { BarColumns } from '../../engine/types.ts';
import { generateBars } from '../../datasets/synth.ts';

const H = 3_600_000;
const synth = (symbol: string, seed: number, n = 300): BarColumns =>
  generateBars({ symbol, timeframeMs: H, from: 0, to: n * H, seed, startPrice: 100, model: { kind: 'gbm', drift: 0, vol: 0.8 } });

/** Every read a strategy can make of its indicators, recorded per bar. */
function recorder(log: number[][]) {
  return defineStrategy({
    name: 'reads',
    params: z.object({}).strict(),
    init(ctx) {
      ctx.indicator('s3', 'sma', { period: 3 });
      ctx.indicator('bb', 'bbands', { period: 4, stddev: 2 });
      ctx.setTimer(1); // fires before the first bar has closed
    },
    onTimer(ctx) {
      log.push([ctx.value('s3'), ctx.value('bb', 'upper')]);
    },
    onBar(ctx, bar) {
      const other = bar.symbol === 'BTC/USDT' ? 'ETH/USDT' : 'BTC/USDT';
      log.push([bar.index, ctx.value('s3'), ctx.value('bb'), ctx.value('bb', 'upper'), ctx.value('bb', 'lower'), ctx.value('s3', undefined, other), ctx.value('s3', undefined, bar.symbol)]);
    },
  });
}

/** The close-price SMA(3) worked by hand from the bars. */
const sma3 = (c: BarColumns, i: number): number => (i < 2 ? NaN : (c.close[i]! + c.close[i - 1]! + c.close[i - 2]!) / 3);

describe('indicator reads from a strategy', () => {
  const series = [synth('BTC/USDT', 1, 60), synth('ETH/USDT', 2, 60)];

  it('value() gives the same numbers on the columnar and the event path, for every output and symbol, NaN before any bar', async () => {
    const a: number[][] = [], b: number[][] = [];
    runColumnar({ strategy: recorder(a) }, series);
    await runEvents({ strategy: recorder(b) }, series.map((s) => s.symbol), series.map((s, i) => barEvents(s, i)));
    expect(a.length).toBe(1 + 2 * 60);
    expect(a[0]).toEqual([NaN, NaN]);
    // Object.is per value: NaN equals NaN, and -0 is not 0.
    expect(a.map((r) => r.map((x) => Object.is(x, x) && String(x)))).toEqual(b.map((r) => r.map((x) => Object.is(x, x) && String(x))));
  });

  it('value(name) is the declared indicator of the current bar, checked against the formula', () => {
    const log: number[][] = [];
    runColumnar({ strategy: recorder(log) }, [series[0]!]);
    for (const row of log.slice(1)) {
      const i = row[0]!;
      const want = sma3(series[0]!, i);
      if (Number.isNaN(want)) expect(row[1]).toBeNaN();
      else expect(row[1]).toBeCloseTo(want, 9);
      // The same indicator asked for by the current symbol's name takes the slow path: same number.
      expect(Object.is(row[6], row[1])).toBe(true);
    }
  });

  it('an undeclared name is an InputError naming it; "__proto__" cannot be declared', () => {
    const undeclared = defineStrategy({ name: 'u', params: z.object({}), init: (ctx) => ctx.indicator('fast', 'sma', { period: 2 }), onBar: (ctx) => void ctx.value('slow') });
    expect(() => runColumnar({ strategy: undeclared }, [series[0]!])).toThrow(InputError);
    expect(() => runColumnar({ strategy: undeclared }, [series[0]!])).toThrow(/"slow" was not declared/);
    for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
      const inherited = defineStrategy({ name: 'i', params: z.object({}), init: (ctx) => ctx.indicator('fast', 'sma', { period: 2 }), onBar: (ctx) => void ctx.value(name) });
      expect(() => runColumnar({ strategy: inherited }, [series[0]!])).toThrow(InputError);
    }
    const proto = defineStrategy({ name: 'p', params: z.object({}), init: (ctx) => ctx.indicator('__proto__', 'sma', { period: 2 }) });
    expect(() => runColumnar({ strategy: proto }, [series[0]!])).toThrow(/__proto__/);
  });
});

describe('reused indicator columns', () => {
  it('a reused column is filled exactly as a new one', () => {
    const n = 1000;
    const dirty = column(n).fill(7.5);
    recycleColumns([dirty]);
    const z0 = column(n);
    expect(z0).toBe(dirty); // it is the recycled one…
    expect(z0.every((x) => x === 0)).toBe(true); // …and it reads as new
    recycleColumns([z0.fill(-1)]);
    const nan = nanColumn(n);
    expect(nan).toBe(z0);
    expect(nan.every((x) => Number.isNaN(x))).toBe(true);
    // Only columns made here come back: never a caller's array (an input column, say) or a view.
    const input = new Float64Array(n).fill(3);
    const view = column(2 * n).subarray(0, n);
    recycleColumns([input, view]);
    const next = column(n);
    expect(next).not.toBe(input);
    expect(next).not.toBe(view);
    expect(input.every((x) => x === 3)).toBe(true);
  });

  it('a run after runs with other indicators on the same length of data gives the hash it gives first', () => {
    const data = [synth('BTC/USDT', 5, 400)];
    const opts = (name: string): BacktestOptions => ({ strategy: builtinStrategies[name]!, params: name === 'sma-cross' ? { fast: 5, slow: 20 } : {}, seed: 1 });
    const first = runColumnar(opts('sma-cross'), data).resultHash;
    for (const other of Object.keys(builtinStrategies)) runColumnar(opts(other), data);
    expect(runColumnar(opts('sma-cross'), data).resultHash).toBe(first);
    expect(runColumnar(opts('bollinger-breakout'), data).resultHash).toBe(runColumnar(opts('bollinger-breakout'), data).resultHash);
  });
});
