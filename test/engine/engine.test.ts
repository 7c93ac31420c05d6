import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runColumnar, runEvents, type BacktestOptions, type RunOutput } from '../../engine/backtest.ts';
import { barEvents, compareEvents, mergeStreams } from '../../engine/merge.ts';
import { builtinStrategies } from '../../engine/strategies/index.ts';
import { defineStrategy, type AnyStrategy } from '../../engine/strategy.ts';
import { InputError } from '../../engine/errors.ts';
import type { BarColumns, MarketEvent } from '../../engine/types.ts';
import { generateBars } from '../../datasets/synth.ts';

const H = 3_600_000;
const NAMES = Object.keys(builtinStrategies);

/** Volatile hourly GBM: enough swings for RSI below 30, band breaks and SMA crosses. */
function synth(symbol: string, seed: number, n = 600, tf = H): BarColumns {
  return generateBars({ symbol, timeframeMs: tf, from: 0, to: n * tf, seed, startPrice: 30_000, model: { kind: 'gbm', drift: 0, vol: 0.9 } });
}

/** Fees, noisy slippage, a volume cap and latency: every random and partial path of the broker in play. */
const busyBroker = { makerFeeBps: 2, takerFeeBps: 6, slippage: { kind: 'volume-share' as const, impactBps: 20, noiseBps: 5 }, maxVolumeShare: 0.5, latencyMs: 1_000 };

async function eventPath(opts: BacktestOptions, series: readonly BarColumns[]): Promise<RunOutput> {
  return runEvents(opts, series.map((s) => s.symbol), series.map((s, i) => barEvents(s, i)));
}

const fast = (name: string) => (name === 'sma-cross' ? { fast: 5, slow: 20 } : {});

describe('determinism', () => {
  it.each(NAMES)('%s: the same backtest twice gives the same resultHash, and it trades', (name) => {
    const opts = { strategy: builtinStrategies[name]!, params: fast(name), seed: 3, broker: busyBroker };
    const a = runColumnar(opts, [synth('BTC/USDT', 1)]);
    const b = runColumnar(opts, [synth('BTC/USDT', 1)]);
    expect(a.fills.length).toBeGreaterThan(0);
    expect(b.resultHash).toBe(a.resultHash);
    expect(a.resultHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each(NAMES)('%s: columnar path and event path give the same resultHash (one symbol)', async (name) => {
    const opts = { strategy: builtinStrategies[name]!, params: fast(name), seed: 5, broker: busyBroker };
    const cols = [synth('BTC/USDT', 2)];
    const col = runColumnar(opts, cols);
    const ev = await eventPath(opts, cols);
    expect(col.fills.length).toBeGreaterThan(0);
    expect(ev.resultHash).toBe(col.resultHash);
  });

  it.each(NAMES)('%s: columnar path and event path give the same resultHash (three symbols, mixed timeframes)', async (name) => {
    const opts = { strategy: builtinStrategies[name]!, params: fast(name), seed: 9, broker: busyBroker };
    const cols = [synth('BTC/USDT', 11, 400), synth('ETH/USDT', 12, 100, 4 * H), synth('SOL/USDT', 13, 800, H / 2)];
    const col = runColumnar(opts, cols);
    const ev = await eventPath(opts, cols);
    expect(new Set(col.fills.map((f) => f.symbol)).size).toBeGreaterThan(1);
    expect(ev.resultHash).toBe(col.resultHash);
  });

  it('the hash sees the seed when fills are random (volume-share noise)', () => {
    const opts = { strategy: builtinStrategies['sma-cross']!, params: fast('sma-cross'), broker: busyBroker };
    const cols = [synth('BTC/USDT', 1)];
    const a = runColumnar({ ...opts, seed: 1 }, cols);
    const b = runColumnar({ ...opts, seed: 2 }, cols);
    expect(a.fills[0]!.ts).toBe(b.fills[0]!.ts);
    expect(a.fills[0]!.price).not.toBe(b.fills[0]!.price);
    expect(a.resultHash).not.toBe(b.resultHash);
  });
});

describe('multi-symbol merge order: (close time, source, seq)', () => {
  const recorder = (seen: string[]): AnyStrategy =>
    defineStrategy({
      name: 'recorder',
      params: z.object({}),
      onBar(ctx, bar) {
        seen.push(`${bar.symbol}@${bar.closeTs / H}h now=${ctx.now / H}h`);
      },
    }) as unknown as AnyStrategy;

  const flat = (symbol: string, n: number, tf: number): BarColumns => {
    const c = () => new Float64Array(n).fill(100);
    return { symbol, timeframeMs: tf, length: n, ts: Float64Array.from({ length: n }, (_, i) => i * tf), open: c(), high: c(), low: c(), close: c(), volume: c() };
  };

  // A: four 1h bars closing at 1,2,3,4h. B: two 2h bars closing at 2h and 4h.
  const expectAB = ['A@1h now=1h', 'A@2h now=2h', 'B@2h now=2h', 'A@3h now=3h', 'A@4h now=4h', 'B@4h now=4h'];
  const expectBA = ['A@1h now=1h', 'B@2h now=2h', 'A@2h now=2h', 'A@3h now=3h', 'B@4h now=4h', 'A@4h now=4h'];

  it.each([
    ['A first', ['A', 'B'], expectAB],
    ['B first', ['B', 'A'], expectBA],
  ])('%s: bars are released at their close; ties go to the lower source index', async (_label, order, expected) => {
    const byName: Record<string, BarColumns> = { A: flat('A', 4, H), B: flat('B', 2, 2 * H) };
    const series = order.map((n) => byName[n]!);
    const col: string[] = [];
    runColumnar({ strategy: recorder(col) }, series);
    expect(col).toEqual(expected);
    const ev: string[] = [];
    await eventPath({ strategy: recorder(ev) }, series);
    expect(ev).toEqual(expected);
  });

  it('a trade inside a bar comes before that bar (bars are released at their close)', async () => {
    const bar: MarketEvent = { kind: 'bar', ts: 0, seq: 0, source: 0, symbol: 'A', timeframeMs: H, open: 1, high: 1, low: 1, close: 1, volume: 1 };
    const trade: MarketEvent = { kind: 'trade', ts: H / 2, seq: 0, source: 1, symbol: 'A', price: 1, amount: 1 };
    const atClose: MarketEvent = { ...trade, ts: H, seq: 1 };
    expect(compareEvents(trade, bar)).toBeLessThan(0);
    expect(compareEvents(bar, atClose)).toBeLessThan(0); // same instant: source 0 before source 1
    const out: MarketEvent[] = [];
    for await (const e of mergeStreams([[bar], [trade, atClose]])) out.push(e);
    expect(out).toEqual([trade, bar, atClose]);
  });

  it('equal time and source fall back to seq; a stream out of order is refused', async () => {
    const t = (seq: number, ts = 0): MarketEvent => ({ kind: 'trade', ts, seq, source: 0, symbol: 'A', price: 1, amount: 1 });
    const out: MarketEvent[] = [];
    for await (const e of mergeStreams([[t(0), t(2)], [t(1), t(3)]])) out.push(e);
    expect(out.map((e) => e.seq)).toEqual([0, 1, 2, 3]);
    const drain = async () => {
      for await (const _ of mergeStreams([[t(0, 10), t(1, 5)]])) void _;
    };
    await expect(drain()).rejects.toThrow(/out of order/);
  });
});

describe('no look-ahead: poisoned future', () => {
  const N = 600;

  /** Bars after index t replaced by garbage that is still valid data: prices ×10, volume ×7. */
  function poison(c: BarColumns, t: number): BarColumns {
    const f = (a: Float64Array, k: number) => a.map((v, i) => (i > t ? v * k : v));
    return { ...c, open: f(c.open, 10), high: f(c.high, 10), low: f(c.low, 10), close: f(c.close, 10), volume: f(c.volume, 7) };
  }

  const orderShape = (o: RunOutput['orders'][number]) => ({ id: o.id, type: o.type, side: o.side, amount: o.amount, price: o.price, stopPrice: o.stopPrice, createdTs: o.createdTs, activeTs: o.activeTs });
  const decisionShape = ({ outcome: _o, ...d }: RunOutput['decisions'][number]) => d;

  function check(name: string, fillTiming: 'next-open' | 'close', ts: readonly number[]): void {
    const strategy = builtinStrategies[name]!;
    const base = synth('BTC/USDT', 21, N);
    const opts = { strategy, params: fast(name), seed: 4, broker: { ...busyBroker, latencyMs: 0, fillTiming } };
    const clean = runColumnar(opts, [base]);
    let before = 0;
    for (const t of ts) {
      const dirty = runColumnar(opts, [poison(base, t)]);
      const closeT = base.ts[t]! + base.timeframeMs;
      // With next-open fills, a fill stamped closeT is bar t+1's open: the future, so it may differ.
      const fillCut = fillTiming === 'close' ? closeT : base.ts[t]!;
      const upTo = <T>(xs: readonly T[], at: (x: T) => number, cut: number) => xs.filter((x) => at(x) <= cut);
      expect(upTo(dirty.decisions, (d) => d.ts, closeT).map(decisionShape)).toEqual(upTo(clean.decisions, (d) => d.ts, closeT).map(decisionShape));
      expect(upTo(dirty.orders, (o) => o.createdTs, closeT).map(orderShape)).toEqual(upTo(clean.orders, (o) => o.createdTs, closeT).map(orderShape));
      expect(upTo(dirty.fills, (f) => f.ts, fillCut)).toEqual(upTo(clean.fills, (f) => f.ts, fillCut));
      const k = clean.curve.ts.findIndex((x) => x > closeT);
      expect(Array.from(dirty.curve.equity.subarray(0, k))).toEqual(Array.from(clean.curve.equity.subarray(0, k)));
      // The poison did reach the run: what comes after t is different.
      expect(dirty.resultHash).not.toBe(clean.resultHash);
      before += upTo(clean.decisions, (d) => d.ts, closeT).length;
    }
    expect(before).toBeGreaterThan(0);
  }

  it.each(NAMES)('%s: decisions, orders, fills and equity up to bar t ignore every bar after t (next-open fills)', (name) => {
    check(name, 'next-open', [60, 250, 451, N - 2]);
  });

  it.each(NAMES)('%s: the same with fill-on-close', (name) => {
    check(name, 'close', [60, 250, 451, N - 2]);
  });
});

describe('bad input', () => {
  const sma = builtinStrategies['sma-cross']!;
  const one = [synth('BTC/USDT', 1, 10)];

  it('an unknown parameter is an InputError naming it', () => {
    expect(() => runColumnar({ strategy: sma, params: { fats: 3 } }, one)).toThrow(InputError);
    expect(() => runColumnar({ strategy: sma, params: { fats: 3 } }, one)).toThrow(/fats/);
  });

  it('invalid parameters are an InputError naming the field', () => {
    expect(() => runColumnar({ strategy: sma, params: { fast: 50, slow: 20 } }, one)).toThrow(InputError);
    expect(() => runColumnar({ strategy: sma, params: { fast: 50, slow: 20 } }, one)).toThrow(/fast/);
    expect(() => runColumnar({ strategy: sma, params: { fast: 'five' } }, one)).toThrow(/fast/);
    expect(() => runColumnar({ strategy: builtinStrategies['rsi-reversion']!, params: { lower: 80, upper: 20 } }, one)).toThrow(InputError);
  });

  it('no series, or only empty series, is an InputError', async () => {
    const empty: BarColumns = { ...one[0]!, length: 0, ts: new Float64Array(0), open: new Float64Array(0), high: new Float64Array(0), low: new Float64Array(0), close: new Float64Array(0), volume: new Float64Array(0) };
    expect(() => runColumnar({ strategy: sma }, [])).toThrow(InputError);
    expect(() => runColumnar({ strategy: sma }, [empty])).toThrow(InputError);
    await expect(runEvents({ strategy: sma }, ['BTC/USDT'], [])).rejects.toThrow(InputError);
    await expect(runEvents({ strategy: sma }, ['BTC/USDT'], [barEvents(empty)])).rejects.toThrow(InputError);
  });
});
