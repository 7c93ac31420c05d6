import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { runColumnar } from '../../engine/backtest.ts';
import { createRng } from '../../engine/rng.ts';
import type { Fill } from '../../engine/orders.ts';
import { TF, SYM, plain, rig, bars, scripted } from './broker.support.ts';

/**
 * Hand-worked fill cases. Every expected number is written as the arithmetic of the rule it checks
 * (docs/fills.md), never copied from a run. Bars are one minute long; bar i opens at i·TF, so an
 * order decided at bar i's close (i+1)·TF reaches the book for bar i+1.
 */

const bps = (x: number): number => x / 10_000;
const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(1, Math.abs(b));

describe('market orders', () => {
  it('fill at the open of the first bar after the decision and pay the taker fee', () => {
    const r = rig({ takerFeeBps: 7, makerFeeBps: 2 });
    r.submit({ side: 'buy', type: 'market', amount: 2 }, TF);
    r.bar(1, 100, 105, 95, 102);
    const [f, ...more] = r.fills();
    expect(more).toHaveLength(0);
    expect(f).toMatchObject({ side: 'buy', amount: 2, price: 100, liquidity: 'taker', ts: TF });
    expect(rel(f!.fee, 2 * 100 * bps(7))).toBeLessThan(1e-15);
    expect(rel(r.portfolio.cash, 1_000_000 - 2 * 100 - 2 * 100 * bps(7))).toBeLessThan(1e-15);
    expect(r.portfolio.qty(SYM)).toBe(2);
  });

  it('never fill on a bar that opened before the order reached the book', () => {
    const r = rig();
    r.submit({ side: 'buy', type: 'market', amount: 1 }, 2 * TF);
    r.bar(1, 100, 105, 95, 102); // opened at TF < 2·TF
    expect(r.fills()).toHaveLength(0);
    r.bar(2, 103, 104, 101, 102);
    expect(r.fills()[0]).toMatchObject({ price: 103, ts: 2 * TF });
  });

  it('through the engine: next-bar open by default, the deciding close with fillTiming "close"', () => {
    const rows = [
      [100, 101, 99, 100],
      [110, 111, 109, 112],
      [120, 121, 119, 122],
    ];
    const strategy = scripted({ 1: (ctx) => ctx.buy(SYM, { size: 1 }) });
    const next = runColumnar({ strategy, cash: 10_000, broker: plain }, [bars(rows)]);
    expect(next.decisions).toHaveLength(1);
    expect(next.decisions[0]!.ts).toBe(2 * TF); // decided at bar 1's close
    expect(next.fills).toEqual([expect.objectContaining({ price: 120, ts: 2 * TF, liquidity: 'taker' })]);

    const onClose = runColumnar({ strategy, cash: 10_000, broker: { ...plain, fillTiming: 'close' } }, [bars(rows)]);
    expect(onClose.fills).toEqual([expect.objectContaining({ price: 112, ts: 2 * TF, liquidity: 'taker' })]);
    // Equity at bar 2's close: cash after buying at the fill price, plus one unit at 122.
    expect(next.curve.equity.at(-1)).toBe(10_000 - 120 + 122);
    expect(onClose.curve.equity.at(-1)).toBe(10_000 - 112 + 122);
  });
});

describe('limit orders', () => {
  it('a resting limit fills at its own price when the path touches it, as maker', () => {
    const r = rig({ takerFeeBps: 7, makerFeeBps: 2 });
    r.submit({ side: 'buy', type: 'limit', amount: 1, price: 97 }, TF);
    r.bar(1, 100, 101, 96, 99);
    const [f] = r.fills();
    expect(f).toMatchObject({ price: 97, liquidity: 'maker', ts: TF });
    expect(rel(f!.fee, 97 * bps(2))).toBeLessThan(1e-15);
  });

  it('an untouched limit keeps resting', () => {
    const r = rig();
    const o = r.submit({ side: 'sell', type: 'limit', amount: 1, price: 106 }, TF);
    r.bar(1, 100, 105.99, 96, 99);
    expect(r.fills()).toHaveLength(0);
    expect(o.status).toBe('open');
    r.bar(2, 100, 106, 99, 101);
    expect(r.fills()[0]).toMatchObject({ side: 'sell', price: 106, liquidity: 'maker', ts: 2 * TF });
  });

  it('a limit that arrives marketable fills at the open as taker', () => {
    const r = rig({ takerFeeBps: 7, makerFeeBps: 2 });
    r.submit({ side: 'buy', type: 'limit', amount: 1, price: 105 }, TF);
    r.bar(1, 100, 106, 99, 104);
    const [f] = r.fills();
    expect(f).toMatchObject({ price: 100, liquidity: 'taker' });
    expect(rel(f!.fee, 100 * bps(7))).toBeLessThan(1e-15);
  });

  it('a resting limit that the open gaps through fills at its limit price, not the better open', () => {
    const r = rig();
    r.submit({ side: 'buy', type: 'limit', amount: 1, price: 97 }, TF);
    r.bar(1, 100, 101, 98, 99); // not touched: rests
    r.bar(2, 95, 96, 94, 95); // gaps below
    expect(r.fills()).toEqual([expect.objectContaining({ price: 97, liquidity: 'maker', ts: 2 * TF })]);
  });

  it('post-only: cancelled when it would take; rests and fills as maker otherwise', () => {
    const r = rig({ makerFeeBps: 2, takerFeeBps: 7 });
    const taker = r.submit({ side: 'buy', type: 'limit', amount: 1, price: 105, postOnly: true }, TF);
    const maker = r.submit({ side: 'buy', type: 'limit', amount: 1, price: 97, postOnly: true }, TF);
    r.bar(1, 100, 101, 96, 99);
    expect(taker.status).toBe('cancelled');
    expect(r.cancels()).toEqual([expect.objectContaining({ id: taker.id, reason: expect.stringMatching(/post-only/) })]);
    expect(r.fills()).toEqual([expect.objectContaining({ orderId: maker.id, price: 97, liquidity: 'maker' })]);
  });

  it('an IOC limit that cannot fill on arrival is cancelled there, not left to rest for the bar', () => {
    const r = rig();
    const o = r.submit({ side: 'buy', type: 'limit', amount: 1, price: 97, timeInForce: 'IOC' }, TF);
    r.bar(1, 100, 101, 96, 99); // touches 97 later in the bar: too late for an IOC
    expect(r.fills()).toHaveLength(0);
    expect(o.status).toBe('cancelled');
    const fok = r.submit({ side: 'buy', type: 'limit', amount: 1, price: 97, timeInForce: 'FOK' }, 2 * TF);
    r.bar(2, 100, 101, 96, 99);
    expect(r.fills()).toHaveLength(0);
    expect(fok.status).toBe('cancelled');
  });
});

describe('stop orders', () => {
  it('a sell stop triggers at its stop price and pays slippage from there', () => {
    const r = rig({ slippage: { kind: 'fixed', bps: 5 } });
    r.hold(1, 100);
    r.submit({ side: 'sell', type: 'stop', amount: 1, stopPrice: 95 }, TF);
    r.bar(1, 100, 101, 94, 96);
    expect(r.fills()).toEqual([expect.objectContaining({ price: 95 * (1 - 5 / 10_000), liquidity: 'taker' })]);
  });

  it('a gap through the stop fills at the open, not at the stop', () => {
    const r = rig({ slippage: { kind: 'fixed', bps: 5 } });
    r.hold(1, 100);
    r.submit({ side: 'sell', type: 'stop', amount: 1, stopPrice: 95 }, TF);
    r.bar(1, 100, 101, 96, 99); // not reached
    expect(r.fills()).toHaveLength(0);
    r.bar(2, 93, 94, 90, 92);
    expect(r.fills()).toEqual([expect.objectContaining({ price: 93 * (1 - 5 / 10_000), ts: 2 * TF })]);
  });

  it('a buy stop triggers on the rise, and a gap up fills at the open', () => {
    const r = rig();
    r.submit({ side: 'buy', type: 'stop', amount: 1, stopPrice: 105 }, TF);
    r.bar(1, 100, 106, 99, 104);
    expect(r.fills()).toEqual([expect.objectContaining({ side: 'buy', price: 105 })]);
    const g = rig();
    g.submit({ side: 'buy', type: 'stop', amount: 1, stopPrice: 105 }, TF);
    g.bar(1, 107, 108, 106, 107);
    expect(g.fills()).toEqual([expect.objectContaining({ side: 'buy', price: 107 })]);
  });
});

describe('stop-limit orders', () => {
  it('triggers at the stop and fills there when the stop is within the limit', () => {
    const r = rig();
    r.hold(1, 100);
    r.submit({ side: 'sell', type: 'stop_limit', amount: 1, stopPrice: 95, price: 94 }, TF);
    r.bar(1, 100, 101, 93, 96);
    expect(r.fills()).toEqual([expect.objectContaining({ price: 95 })]);
  });

  it('a gap past the limit triggers it, then it rests as a limit and fills at the limit on a later touch', () => {
    const r = rig();
    r.hold(1, 100);
    const o = r.submit({ side: 'sell', type: 'stop_limit', amount: 1, stopPrice: 95, price: 94 }, TF);
    r.bar(1, 92, 93, 90, 91); // opens below both the stop and the limit: triggered, no fill
    expect(r.fills()).toHaveLength(0);
    expect(o.triggered).toBe(true);
    expect(o.status).toBe('open');
    // Long, so the path is O 92 → L 91 → H 96 → C 95: the rise crosses 94.
    r.bar(2, 92, 96, 91, 95);
    expect(r.fills()).toEqual([expect.objectContaining({ price: 94, liquidity: 'maker', ts: 2 * TF })]);
  });
});

describe('trailing stops: the anchor follows the best price along O → extremes → C', () => {
  it('by amount, long: O 100 → L 98 → H 110 → C 104 moves the trigger to 110 − 5 and hits it on the way to the close', () => {
    const r = rig();
    r.hold(1, 100);
    const o = r.submit({ side: 'sell', type: 'trailing_stop', amount: 1, trailingAmount: 5 }, TF);
    r.bar(1, 100, 110, 98, 104);
    expect(r.fills()).toEqual([expect.objectContaining({ side: 'sell', price: 110 - 5 })]);
    expect(o.trailAnchor).toBe(110);
  });

  it('by percent, long: the high of one bar sets the trigger, the next bar hits it', () => {
    const r = rig();
    r.hold(1, 100);
    const o = r.submit({ side: 'sell', type: 'trailing_stop', amount: 1, trailingPercent: 10 }, TF);
    r.bar(1, 100, 120, 95, 110); // 95 > 100 − 10; then trigger = 120 − 12; close 110 above it
    expect(r.fills()).toHaveLength(0);
    expect(o.trailTrigger).toBe(120 - (120 * 10) / 100);
    r.bar(2, 109, 112, 100, 101); // open 109 not through 108; the fall to 100 crosses it
    expect(r.fills()).toEqual([expect.objectContaining({ price: 120 - (120 * 10) / 100, ts: 2 * TF })]);
  });

  it('by amount, short: high visited first, anchor drops to the low, the close rally hits low + amount', () => {
    const r = rig();
    r.hold(-1, 100);
    r.submit({ side: 'buy', type: 'trailing_stop', amount: 1, trailingAmount: 5 }, TF);
    r.bar(1, 100, 102, 90, 97); // O→H 102 (below 105), H→L 90 (trigger 95), L→C 97 crosses 95
    expect(r.fills()).toEqual([expect.objectContaining({ side: 'buy', price: 90 + 5 })]);
  });

  it('a gap through a trailing trigger fills at the open', () => {
    const r = rig();
    r.hold(1, 100);
    r.submit({ side: 'sell', type: 'trailing_stop', amount: 1, trailingAmount: 5 }, TF);
    r.bar(1, 100, 101, 99, 100); // trigger ends at 101 − 5
    r.bar(2, 90, 91, 89, 90);
    expect(r.fills()).toEqual([expect.objectContaining({ price: 90, ts: 2 * TF })]);
  });

  it('the trigger never moves backwards', () => {
    const r = rig();
    r.hold(1, 100);
    const o = r.submit({ side: 'sell', type: 'trailing_stop', amount: 1, trailingAmount: 5 }, TF);
    r.bar(1, 100, 110, 99, 106);
    r.bar(2, 106, 107, 105.5, 106);
    expect(o.trailTrigger).toBe(110 - 5);
    expect(r.fills()).toHaveLength(0);
  });
});

describe('OCO', () => {
  it('a fill of one leg cancels the other', () => {
    const r = rig();
    r.hold(1, 100);
    const tp = r.submit({ side: 'sell', type: 'limit', amount: 1, price: 110 }, TF, { ocoGroup: 'G' });
    const sl = r.submit({ side: 'sell', type: 'stop', amount: 1, stopPrice: 95 }, TF, { ocoGroup: 'G' });
    r.bar(1, 100, 111, 99, 105);
    expect(r.fills()).toEqual([expect.objectContaining({ orderId: tp.id, price: 110 })]);
    expect(sl.status).toBe('cancelled');
    expect(r.cancels()[0]!.reason).toMatch(/OCO/);
    r.bar(2, 100, 101, 80, 85); // the cancelled stop stays dead
    expect(r.fills()).toHaveLength(1);
  });

  it('through the engine: ctx.oco places both legs; the stop leg fills, the limit leg is cancelled', () => {
    const rows = [
      [100, 100, 100, 100],
      [100, 101, 99, 100],
      [100, 101, 94, 96],
      [96, 120, 95, 118],
    ];
    const strategy = scripted({
      0: (ctx) => ctx.buy(SYM, { size: 1 }),
      1: (ctx) => ctx.oco(SYM, { side: 'sell', size: 1, type: 'limit', price: 110 }, { side: 'sell', size: 1, type: 'stop', stopPrice: 95 }),
    });
    const out = runColumnar({ strategy, cash: 10_000, broker: plain }, [bars(rows)]);
    expect(out.fills.map((f) => [f.side, f.price, f.ts])).toEqual([
      ['buy', 100, TF],
      ['sell', 95, 2 * TF],
    ]);
    expect(out.final.positions[0]!.qty).toBe(0);
  });
});

describe('bracket orders', () => {
  const run = (rows: number[][], side: 'buy' | 'sell', o: { tp: number; sl: number; entry?: number }) =>
    runColumnar(
      {
        strategy: scripted({
          0: (ctx) => ctx.bracket(SYM, side, { size: 1, takeProfit: o.tp, stopLoss: o.sl, ...(o.entry !== undefined ? { entryPrice: o.entry } : {}) }),
        }),
        cash: 10_000,
        broker: plain,
      },
      [bars([[100, 100, 100, 100], ...rows])],
    );
  const legs = (fills: readonly Fill[]) => fills.map((f) => [f.side, f.price, f.ts / TF]);

  it('the children rest after the entry fills and protect it on later bars', () => {
    const out = run(
      [
        [100, 105, 97, 102], // entry at the open; neither child touched
        [101, 111, 99, 108], // take profit
        [108, 109, 80, 85], // the stop was cancelled by the take profit
      ],
      'buy',
      { tp: 110, sl: 90 },
    );
    expect(legs(out.fills)).toEqual([
      ['buy', 100, 1],
      ['sell', 110, 2],
    ]);
    expect(out.fills[1]!.liquidity).toBe('maker');
    expect(out.orders.map((o) => o.status)).toEqual(['filled', 'filled', 'cancelled']);
  });

  it('long, one later bar touching both: the stop fills first and the target is cancelled', () => {
    const out = run([[100, 101, 99, 100], [100, 115, 85, 100]], 'buy', { tp: 110, sl: 90 });
    expect(legs(out.fills)).toEqual([
      ['buy', 100, 1],
      ['sell', 90, 2],
    ]);
    expect(out.orders.map((o) => o.status)).toEqual(['filled', 'cancelled', 'filled']);
  });

  it('short, one later bar touching both: the path is reversed (high first), so again the stop fills', () => {
    const out = run([[100, 101, 99, 100], [100, 115, 85, 100]], 'sell', { tp: 90, sl: 110 });
    expect(legs(out.fills)).toEqual([
      ['sell', 100, 1],
      ['buy', 110, 2],
    ]);
  });

  it('the entry bar itself touching both: the stop still fills first, even with the target nearer the open', () => {
    // High is 11 above the open, low 12 below: a flat path would visit the high first.
    const out = run([[100, 111, 88, 100]], 'buy', { tp: 110, sl: 90 });
    expect(legs(out.fills)).toEqual([
      ['buy', 100, 1],
      ['sell', 90, 1],
    ]);
  });

  it('children never fill before the entry, even when the bar touches them', () => {
    const out = run(
      [
        [100, 112, 96, 100], // limit entry 95 not reached; the target 110 is touched but has nothing to protect
        [100, 101, 94, 99], // entry fills at 95
        [99, 111, 98, 110], // target
      ],
      'buy',
      { tp: 110, sl: 90, entry: 95 },
    );
    expect(legs(out.fills)).toEqual([
      ['buy', 95, 2],
      ['sell', 110, 3],
    ]);
  });

  it('a fill-on-close entry arms its children at once: they protect it from the next bar', () => {
    const out = runColumnar(
      {
        strategy: scripted({ 0: (ctx) => ctx.bracket(SYM, 'buy', { size: 1, takeProfit: 110, stopLoss: 90 }) }),
        cash: 10_000,
        broker: { ...plain, fillTiming: 'close' },
      },
      [bars([[100, 100, 100, 100], [100, 101, 85, 95], [95, 120, 94, 118]])],
    );
    expect(legs(out.fills)).toEqual([
      ['buy', 100, 1], // at bar 0's close, stamped with it
      ['sell', 90, 1],
    ]);
  });

  it('a limit entry filled on a fall that goes on through the stop is stopped out in the same bar', () => {
    // Flat, high nearer the open: O 100 → H 101 → L 88 → C 92. The entry fills at 95 on the fall,
    // and the same fall reaches the stop at 90.
    const out = run([[100, 101, 88, 92]], 'buy', { tp: 110, sl: 90, entry: 95 });
    expect(legs(out.fills)).toEqual([
      ['buy', 95, 1],
      ['sell', 90, 1],
    ]);
  });
});

describe('time in force with a volume cap', () => {
  // maxVolumeShare 0.1 of a 50-unit bar: at most 0.1 × 50 = 5 units per bar.
  const cap = 0.1 * 50;

  it('GTC: the remainder fills on later bars, each part at that bar’s open', () => {
    const r = rig({ maxVolumeShare: 0.1 });
    const o = r.submit({ side: 'buy', type: 'market', amount: 12 }, TF);
    r.bar(1, 100, 101, 99, 100, 50);
    r.bar(2, 102, 103, 101, 102, 50);
    r.bar(3, 104, 105, 103, 104, 50);
    expect(r.fills().map((f) => [f.amount, f.price])).toEqual([
      [cap, 100],
      [cap, 102],
      [12 - 2 * cap, 104],
    ]);
    expect(o.status).toBe('filled');
    expect(o.avgPrice).toBeCloseTo((cap * 100 + cap * 102 + (12 - 2 * cap) * 104) / 12, 12);
  });

  it('IOC: the remainder is cancelled', () => {
    const r = rig({ maxVolumeShare: 0.1 });
    const o = r.submit({ side: 'buy', type: 'market', amount: 12, timeInForce: 'IOC' }, TF);
    r.bar(1, 100, 101, 99, 100, 50);
    r.bar(2, 102, 103, 101, 102, 50);
    expect(r.fills().map((f) => f.amount)).toEqual([cap]);
    expect(o.status).toBe('cancelled');
    expect(r.cancels()[0]!.reason).toMatch(/immediate-or-cancel/);
  });

  it('FOK: cancelled whole when the cap cannot take all of it; filled when it can', () => {
    const r = rig({ maxVolumeShare: 0.1 });
    const big = r.submit({ side: 'buy', type: 'market', amount: 12, timeInForce: 'FOK' }, TF);
    const small = r.submit({ side: 'buy', type: 'market', amount: 4, timeInForce: 'FOK' }, TF);
    r.bar(1, 100, 101, 99, 100, 50);
    expect(big.status).toBe('cancelled');
    expect(small.status).toBe('filled');
    expect(r.fills().map((f) => [f.orderId, f.amount])).toEqual([[small.id, 4]]);
  });

  it('the cap is shared by all orders of the symbol in a bar, in book order', () => {
    const r = rig({ maxVolumeShare: 0.1 });
    const a = r.submit({ side: 'buy', type: 'market', amount: 4 }, TF);
    const b = r.submit({ side: 'buy', type: 'market', amount: 4 }, TF);
    r.bar(1, 100, 101, 99, 100, 50);
    r.bar(2, 100, 101, 99, 100, 50);
    expect(r.fills().map((f) => [f.orderId, f.amount, f.ts])).toEqual([
      [a.id, 4, TF],
      [b.id, cap - 4, TF],
      [b.id, 4 - (cap - 4), 2 * TF],
    ]);
  });

  it('a resting GTC limit fills in capped parts, at its price, bar after bar', () => {
    const r = rig({ maxVolumeShare: 0.1 });
    r.submit({ side: 'buy', type: 'limit', amount: 8, price: 97 }, TF);
    r.bar(1, 100, 101, 96, 99, 50);
    r.bar(2, 98, 99, 96.5, 97, 50);
    expect(r.fills().map((f) => [f.amount, f.price, f.liquidity])).toEqual([
      [cap, 97, 'maker'],
      [8 - cap, 97, 'maker'],
    ]);
  });
});

describe('reduce-only and the spot cash cap', () => {
  it('reduce-only is clipped to the position it reduces; the rest is cancelled', () => {
    const r = rig();
    r.hold(2, 100);
    const o = r.submit({ side: 'sell', type: 'market', amount: 5, reduceOnly: true }, TF);
    r.bar(1, 100, 101, 99, 100);
    expect(r.fills().map((f) => f.amount)).toEqual([2]);
    expect(r.portfolio.qty(SYM)).toBe(0);
    expect(o.status).toBe('cancelled');
    expect(r.cancels()[0]!.reason).toMatch(/reduce-only/);
  });

  it('a reduce-only order that would grow the position fills nothing', () => {
    const r = rig();
    r.hold(2, 100);
    const o = r.submit({ side: 'buy', type: 'market', amount: 1, reduceOnly: true }, TF);
    r.bar(1, 100, 101, 99, 100);
    expect(r.fills()).toHaveLength(0);
    expect(o.status).toBe('cancelled');
  });

  it('cashOnly: a buy is capped at what the cash pays for after the fee; the rest is cancelled', () => {
    const r = rig({ takerFeeBps: 10 }, { cash: 1_000 });
    const o = r.submit({ side: 'buy', type: 'market', amount: 20 }, TF);
    r.bar(1, 100, 101, 99, 100);
    const [f] = r.fills();
    expect(rel(f!.amount, 1_000 / (100 * (1 + 10 / 10_000)))).toBeLessThan(1e-15);
    expect(Math.abs(r.portfolio.cash)).toBeLessThan(1e-9);
    expect(o.status).toBe('cancelled');
    expect(r.cancels()[0]!.reason).toMatch(/cash/);
  });

  it('cashOnly with a lot step: the affordable amount rounds down to the step', () => {
    const market = { symbol: SYM, base: 'BTC', quote: 'USDT', tickSize: 0.01, amountStep: 0.01, minAmount: 0, minNotional: 0 };
    const r = rig({ takerFeeBps: 10 }, { cash: 1_000, market });
    r.submit({ side: 'buy', type: 'market', amount: 20 }, TF);
    r.bar(1, 100, 101, 99, 100);
    // 1000 / 100.1 = 9.99000999…, floored to 0.01 steps.
    expect(r.fills()[0]!.amount).toBe(9.99);
    expect(r.portfolio.cash).toBeCloseTo(1_000 - 9.99 * 100 * (1 + 10 / 10_000), 9);
  });

  it('without cashOnly the same buy fills whole and cash goes negative (margin)', () => {
    const r = rig({ takerFeeBps: 10, cashOnly: false }, { cash: 1_000 });
    r.submit({ side: 'buy', type: 'market', amount: 20 }, TF);
    r.bar(1, 100, 101, 99, 100);
    expect(r.fills()[0]!.amount).toBe(20);
    expect(r.portfolio.cash).toBeCloseTo(1_000 - 20 * 100 * (1 + 10 / 10_000), 9);
  });
});

describe('fees and slippage', () => {
  it('maker and taker fees in bps of notional', () => {
    const r = rig({ makerFeeBps: 2, takerFeeBps: 7 });
    r.submit({ side: 'buy', type: 'market', amount: 3 }, TF);
    r.submit({ side: 'sell', type: 'limit', amount: 3, price: 104 }, TF);
    r.bar(1, 100, 105, 99, 104);
    const [taker, maker] = r.fills();
    expect(taker).toMatchObject({ liquidity: 'taker', price: 100 });
    expect(maker).toMatchObject({ liquidity: 'maker', price: 104 });
    expect(rel(taker!.fee, 3 * 100 * bps(7))).toBeLessThan(1e-15);
    expect(rel(maker!.fee, 3 * 104 * bps(2))).toBeLessThan(1e-15);
    expect(rel(r.portfolio.fees, 3 * 100 * bps(7) + 3 * 104 * bps(2))).toBeLessThan(1e-15);
  });

  it('fixed-bps slippage is always against the trader; maker fills do not slip', () => {
    const r = rig({ slippage: { kind: 'fixed', bps: 5 } });
    r.submit({ side: 'buy', type: 'market', amount: 1 }, TF);
    r.submit({ side: 'sell', type: 'market', amount: 1 }, TF);
    r.submit({ side: 'buy', type: 'limit', amount: 1, price: 99 }, TF);
    r.bar(1, 100, 101, 98, 100);
    expect(r.fills().map((f) => f.price)).toEqual([100 * (1 + 5 / 10_000), 100 * (1 - 5 / 10_000), 99]);
  });

  it('a marketable limit is a taker: it slips like a market order, but never past its limit', () => {
    const r = rig({ slippage: { kind: 'fixed', bps: 5 } });
    r.submit({ side: 'buy', type: 'limit', amount: 1, price: 105 }, TF); // room for the slippage
    r.submit({ side: 'buy', type: 'limit', amount: 1, price: 100.02 }, TF); // 100 × 1.0005 = 100.05 > 100.02
    r.submit({ side: 'sell', type: 'limit', amount: 1, price: 99.99 }, TF); // 100 × 0.9995 = 99.95 < 99.99
    r.bar(1, 100, 101, 99, 100);
    expect(r.fills().map((f) => [f.price, f.liquidity])).toEqual([
      [100 * (1 + 5 / 10_000), 'taker'],
      [100.02, 'taker'],
      [99.99, 'taker'],
    ]);
  });

  it('a stop-limit filling on its trigger is a taker: slipped, capped at its limit', () => {
    const r = rig({ slippage: { kind: 'fixed', bps: 5 } });
    r.hold(2, 100);
    r.submit({ side: 'sell', type: 'stop_limit', amount: 1, stopPrice: 95, price: 90 }, TF);
    r.submit({ side: 'sell', type: 'stop_limit', amount: 1, stopPrice: 95, price: 94.99 }, TF);
    r.bar(1, 100, 101, 93, 96);
    expect(r.fills().map((f) => f.price)).toEqual([95 * (1 - 5 / 10_000), 94.99]);
  });

  it('volume-share slippage without noise: impactBps × fill qty / bar volume', () => {
    const r = rig({ slippage: { kind: 'volume-share', impactBps: 50, noiseBps: 0 } });
    r.submit({ side: 'buy', type: 'market', amount: 10 }, TF);
    r.bar(1, 100, 101, 99, 100, 1_000);
    expect(r.fills()[0]!.price).toBe(100 * (1 + (50 * (10 / 1_000)) / 10_000));
  });

  it('volume-share impact stops growing once a fill takes the whole bar (no negative sell prices)', () => {
    const r = rig({ slippage: { kind: 'volume-share', impactBps: 100, noiseBps: 0 } });
    r.submit({ side: 'sell', type: 'market', amount: 2_000 }, TF);
    r.bar(1, 100, 101, 99, 100, 1);
    expect(r.fills()[0]!.price).toBe(100 * (1 - (100 * 1) / 10_000));
  });

  it('volume-share slippage with seeded noise: impact + |N(0,1)| × noiseBps from the broker’s generator', () => {
    const r = rig({ slippage: { kind: 'volume-share', impactBps: 50, noiseBps: 20 } }, { seed: 7 });
    r.submit({ side: 'buy', type: 'market', amount: 10 }, TF);
    r.submit({ side: 'sell', type: 'market', amount: 10 }, TF);
    r.bar(1, 100, 101, 99, 100, 1_000);
    const g = createRng(7);
    const n1 = Math.abs(g.normal());
    const n2 = Math.abs(g.normal());
    expect(r.fills().map((f) => f.price)).toEqual([
      100 * (1 + (50 * (10 / 1_000) + n1 * 20) / 10_000),
      100 * (1 - (50 * (10 / 1_000) + n2 * 20) / 10_000),
    ]);
  });

  it('volume-share noise: same seed → same fills, and always adverse (property)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(fc.record({ side: fc.constantFrom('buy' as const, 'sell' as const), qty: fc.double({ min: 0.01, max: 50, noNaN: true }) }), { minLength: 1, maxLength: 8 }), (seed, orders) => {
        const once = () => {
          const r = rig({ slippage: { kind: 'volume-share', impactBps: 30, noiseBps: 15 } }, { seed });
          r.hold(1_000, 100); // enough to sell without going short (irrelevant to slippage, keeps it realistic)
          for (const o of orders) r.submit({ side: o.side, type: 'market', amount: o.qty }, TF);
          r.bar(1, 100, 101, 99, 100, 500);
          return r.fills();
        };
        const a = once();
        expect(once()).toEqual(a);
        for (const f of a) {
          const impact = (30 * (f.amount / 500)) / 10_000;
          if (f.side === 'buy') expect(f.price).toBeGreaterThanOrEqual(100 * (1 + impact) * (1 - 1e-15));
          else expect(f.price).toBeLessThanOrEqual(100 * (1 - impact) * (1 + 1e-15));
        }
      }),
      { numRuns: 100, seed: 20261125 },
    );
  });
});

describe('latency: an order reaches the book at decision + latency', () => {
  const rows = [
    [100, 100, 100, 100],
    [110, 111, 109, 110],
    [120, 121, 119, 120],
    [130, 131, 129, 130],
  ];
  const strategy = scripted({ 0: (ctx) => ctx.buy(SYM, { size: 1 }) });
  const fillAt = (latencyMs: number) => runColumnar({ strategy, cash: 10_000, broker: { ...plain, latencyMs } }, [bars(rows)]).fills[0];

  it.each([
    // Decided at TF; the first bar opening at or after TF + latency fills it.
    [0, 110, 1],
    [1, 120, 2],
    [30_000, 120, 2],
    [60_000, 120, 2],
    [60_001, 130, 3],
  ])('latency %i ms → fills at %i (bar %i open)', (latencyMs, price, bar) => {
    expect(fillAt(latencyMs)).toMatchObject({ price, ts: bar * TF });
  });

  it('the order records its decision time and its arrival time', () => {
    const r = rig({ latencyMs: 30_000 });
    const o = r.submit({ side: 'buy', type: 'market', amount: 1 }, TF);
    expect(o.createdTs).toBe(TF);
    expect(o.activeTs).toBe(TF + 30_000);
  });
});

describe('the intrabar path when flat: the extreme nearer the open comes first', () => {
  it('high nearer: the sell limit above fills before the buy limit below', () => {
    const r = rig();
    r.submit({ side: 'buy', type: 'limit', amount: 1, price: 95 }, TF);
    r.submit({ side: 'sell', type: 'limit', amount: 1, price: 102 }, TF);
    r.bar(1, 100, 103, 94, 100);
    expect(r.fills().map((f) => f.side)).toEqual(['sell', 'buy']);
  });

  it('low nearer (and ties): the buy limit below fills first', () => {
    for (const high of [106, 108]) {
      const r = rig();
      r.submit({ side: 'buy', type: 'limit', amount: 1, price: 95 }, TF);
      r.submit({ side: 'sell', type: 'limit', amount: 1, price: 105 }, TF);
      r.bar(1, 100, high, 94, 100);
      expect(r.fills().map((f) => f.side)).toEqual(['buy', 'sell']);
    }
  });

  it('orders touched on the same leg fill in the order the price reaches them', () => {
    const r = rig();
    r.submit({ side: 'buy', type: 'limit', amount: 1, price: 95 }, TF);
    r.submit({ side: 'buy', type: 'limit', amount: 1, price: 98 }, TF);
    r.submit({ side: 'buy', type: 'limit', amount: 1, price: 96 }, TF);
    r.bar(1, 100, 101, 94, 100);
    expect(r.fills().map((f) => f.price)).toEqual([98, 96, 95]);
  });
});

describe('orders the broker refuses', () => {
  it.each([
    [{ type: 'limit' as const, amount: 1 }, /price/],
    [{ type: 'stop' as const, amount: 1 }, /stopPrice/],
    [{ type: 'market' as const, amount: 0 }, /amount/],
    [{ type: 'trailing_stop' as const, amount: 1 }, /trailing/],
    [{ type: 'trailing_stop' as const, amount: 1, trailingPercent: 100 }, /trailingPercent/],
    [{ type: 'market' as const, amount: 1, postOnly: true }, /post-only/],
  ])('%o is rejected with a reason', (req, reason) => {
    const r = rig();
    const o = r.submit({ side: 'sell', ...req }, TF);
    expect(o.status).toBe('rejected');
    expect(r.events).toEqual([expect.objectContaining({ kind: 'rejected', reason: expect.stringMatching(reason) })]);
    r.bar(1, 100, 200, 1, 100);
    expect(r.fills()).toHaveLength(0);
  });
});

describe('trades and quotes (event path): a one-point path', () => {
  it('a quote: market buys meet the ask, sells the bid', () => {
    const r = rig();
    r.submit({ side: 'buy', type: 'market', amount: 1 }, TF);
    r.submit({ side: 'sell', type: 'market', amount: 1 }, TF);
    r.broker.onQuote(SYM, TF + 5, 99, 101);
    expect(r.fills().map((f) => [f.side, f.price, f.ts])).toEqual([
      ['buy', 101, TF + 5],
      ['sell', 99, TF + 5],
    ]);
  });

  it('a trade print through a resting limit fills it at its limit, as on a bar gap', () => {
    const r = rig();
    r.submit({ side: 'buy', type: 'limit', amount: 1, price: 97 }, TF);
    r.broker.onTrade(SYM, TF + 1, 98, 10); // not through: rests
    r.broker.onTrade(SYM, TF + 2, 96.5, 10);
    expect(r.fills()).toEqual([expect.objectContaining({ price: 97, liquidity: 'maker', ts: TF + 2 })]);
  });

  it('a trade print through a stop fills at the print (the price jumped past the stop)', () => {
    const r = rig();
    r.hold(1, 100);
    r.submit({ side: 'sell', type: 'stop', amount: 1, stopPrice: 95 }, TF);
    r.broker.onTrade(SYM, TF + 1, 94, 10);
    expect(r.fills()).toEqual([expect.objectContaining({ price: 94, liquidity: 'taker' })]);
  });

  it('the volume cap of a trade is a share of its size', () => {
    const r = rig({ maxVolumeShare: 0.5 });
    r.submit({ side: 'buy', type: 'market', amount: 3 }, TF);
    r.broker.onTrade(SYM, TF + 1, 100, 4);
    r.broker.onTrade(SYM, TF + 2, 101, 4);
    expect(r.fills().map((f) => [f.amount, f.price])).toEqual([
      [0.5 * 4, 100],
      [3 - 0.5 * 4, 101],
    ]);
  });
});
