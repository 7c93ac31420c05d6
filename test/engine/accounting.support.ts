import fc from 'fast-check';
import { z } from 'zod';
import { defineStrategy, type AnyStrategy, type StrategyContext } from '../../engine/strategy.ts';
import type { BrokerConfig } from '../../engine/broker.ts';
import type { BarColumns } from '../../engine/types.ts';
import type { Fill, TimeInForce } from '../../engine/orders.ts';

/**
 * Random market data and random strategies for the accounting properties. The strategy draws every
 * choice from ctx.rng, so a (bars, seed, config) triple is one reproducible run.
 */

export const TF = 60_000;

export interface SeriesSpec {
  readonly start: number;
  readonly tfMult: number;
  readonly steps: readonly { r: number; gap: number; up: number; down: number; vol: number }[];
}

const step = fc.record({
  r: fc.double({ min: -0.08, max: 0.08, noNaN: true }),
  gap: fc.oneof(fc.constant(0), fc.double({ min: -0.03, max: 0.03, noNaN: true })),
  up: fc.double({ min: 0, max: 0.04, noNaN: true }),
  down: fc.double({ min: 0, max: 0.04, noNaN: true }),
  vol: fc.double({ min: 1, max: 1_000, noNaN: true }),
});

export const seriesSpec = (minBars = 4, maxBars = 30): fc.Arbitrary<SeriesSpec> =>
  fc.record({
    start: fc.double({ min: 0.5, max: 50_000, noNaN: true }),
    tfMult: fc.constantFrom(1, 2, 3),
    steps: fc.array(step, { minLength: minBars, maxLength: maxBars }),
  });

/** OHLCV that a real market could print: low ≤ open, close ≤ high, all positive. */
export function buildSeries(symbol: string, spec: SeriesSpec): BarColumns {
  const n = spec.steps.length;
  const tf = TF * spec.tfMult;
  const cols = { ts: new Float64Array(n), open: new Float64Array(n), high: new Float64Array(n), low: new Float64Array(n), close: new Float64Array(n), volume: new Float64Array(n) };
  let prev = spec.start;
  spec.steps.forEach((s, i) => {
    const o = prev * (1 + s.gap);
    const c = o * (1 + s.r);
    cols.ts[i] = i * tf;
    cols.open[i] = o;
    cols.close[i] = c;
    cols.high[i] = Math.max(o, c) * (1 + s.up);
    cols.low[i] = Math.min(o, c) * (1 - s.down);
    cols.volume[i] = s.vol;
    prev = c;
  });
  return { symbol, timeframeMs: tf, length: n, ...cols };
}

/** Constant-price bars: every fill happens at exactly `price`. */
export function flatSeries(symbol: string, price: number, n: number): BarColumns {
  const c = () => new Float64Array(n).fill(price);
  return { symbol, timeframeMs: TF, length: n, ts: Float64Array.from({ length: n }, (_, i) => i * TF), open: c(), high: c(), low: c(), close: c(), volume: new Float64Array(n).fill(1e6) };
}

export const brokerConfig: fc.Arbitrary<Partial<BrokerConfig>> = fc.record({
  makerFeeBps: fc.constantFrom(0, 1, 2.5, 10),
  takerFeeBps: fc.constantFrom(0, 4, 7.5, 20),
  slippage: fc.oneof(
    fc.constant({ kind: 'none' as const }),
    fc.record({ kind: fc.constant('fixed' as const), bps: fc.constantFrom(1, 5, 30) }),
    fc.record({ kind: fc.constant('volume-share' as const), impactBps: fc.constantFrom(0, 10, 100), noiseBps: fc.constantFrom(0, 3, 20) }),
  ),
  latencyMs: fc.constantFrom(0, 0, TF / 2, TF),
  fillTiming: fc.constantFrom('next-open' as const, 'next-open' as const, 'close' as const),
  maxVolumeShare: fc.constantFrom(Infinity, 0.05, 0.5),
  cashOnly: fc.boolean(),
});

export interface RandomStrategyOptions {
  /** Starting cash: order sizes are drawn as fractions of it. */
  readonly cash: number;
  /** Per symbol, the bar index at whose close everything is cancelled and the position closed. */
  readonly flattenAt?: Readonly<Record<string, number>>;
  /** Integer quantities only (exact arithmetic for the round-trip property). */
  readonly integerSizes?: boolean;
  /** Every fill in arrival order, and after each decision the number of fills so far. */
  readonly log?: { fills: Fill[]; afterBar: { ts: number; symbol: string; close: number; fills: number }[] };
}

const TIFS: readonly TimeInForce[] = ['GTC', 'GTC', 'IOC', 'FOK'];

/**
 * Random buys, sells, closes and cancels with random sizes, order types and flags. It trades only
 * the symbol of the bar it is looking at and never reads lot-dependent values (avgPrice), so runs
 * that differ only in the lot method make identical decisions.
 */
export function randomStrategy(opts: RandomStrategyOptions): AnyStrategy {
  const log = opts.log;
  return defineStrategy({
    name: 'random',
    params: z.object({ activity: z.number().min(0).max(1).default(0.6) }),
    onFill(_ctx, f) {
      log?.fills.push(f);
    },
    onBar(ctx, bar) {
      const c = ctx as StrategyContext<{ activity: number }>;
      const rng = c.rng;
      const sym = bar.symbol;
      const flatAt = opts.flattenAt?.[sym];
      const record = () => log?.afterBar.push({ ts: ctx.now, symbol: sym, close: bar.close, fills: log.fills.length });
      if (flatAt !== undefined && bar.index >= flatAt) {
        if (bar.index === flatAt) {
          c.cancelAll(sym);
          c.close(sym);
        }
        record();
        return;
      }
      if (rng.next() < c.params.activity) act(c, sym, bar.close, opts);
      record();
    },
  }) as unknown as AnyStrategy;
}

function act(c: StrategyContext<unknown>, sym: string, px: number, opts: RandomStrategyOptions): void {
  const rng = c.rng;
  const side = rng.next() < 0.5 ? ('buy' as const) : ('sell' as const);
  const raw = ((0.02 + rng.next() * 0.5) * opts.cash) / px;
  const size = opts.integerSizes ? Math.max(1, Math.floor(raw)) : raw;
  const timeInForce = TIFS[rng.int(TIFS.length)]!;
  const reduceOnly = rng.next() < 0.2;
  const away = (k: number) => px * (1 + k * (0.002 + rng.next() * 0.05)); // k = +1 above, −1 below
  const place = side === 'buy' ? c.buy.bind(c) : c.sell.bind(c);
  const sgn = side === 'buy' ? 1 : -1;
  switch (rng.int(10)) {
    case 0:
      place(sym, { size, timeInForce, reduceOnly });
      break;
    case 1: // a limit on either side of the close: some arrive marketable, some rest
      place(sym, { size, type: 'limit', price: away(rng.next() < 0.7 ? -sgn : sgn), timeInForce, reduceOnly, postOnly: rng.next() < 0.3 });
      break;
    case 2:
      place(sym, { size, type: 'stop', stopPrice: away(sgn), timeInForce, reduceOnly });
      break;
    case 3: {
      const stopPrice = away(sgn);
      place(sym, { size, type: 'stop_limit', stopPrice, price: stopPrice * (1 + sgn * rng.next() * 0.01), timeInForce, reduceOnly });
      break;
    }
    case 4:
      place(sym, rng.next() < 0.5 ? { size, type: 'trailing_stop', trailingAmount: px * (0.001 + rng.next() * 0.05), reduceOnly } : { size, type: 'trailing_stop', trailingPercent: 0.1 + rng.next() * 5, reduceOnly });
      break;
    case 5:
      c.close(sym);
      break;
    case 6:
      c.bracket(sym, side, {
        size,
        takeProfit: px * (1 + sgn * (0.005 + rng.next() * 0.05)),
        stopLoss: px * (1 - sgn * (0.005 + rng.next() * 0.05)),
        ...(rng.next() < 0.5 ? { entryPrice: away(-sgn) } : {}),
      });
      break;
    case 7:
      c.oco(sym, { side, size, type: 'limit', price: away(-sgn) }, { side, size, type: 'stop', stopPrice: away(sgn) });
      break;
    case 8: {
      const open = c.openOrders(sym);
      if (open.length > 0) c.cancel(open[rng.int(open.length)]!.id);
      break;
    }
    default:
      c.cancelAll(sym);
  }
}
