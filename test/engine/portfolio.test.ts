import { describe, expect, it } from 'vitest';
import { Portfolio, type LotMethod } from '../../engine/portfolio.ts';
import type { Fill } from '../../engine/orders.ts';
import { createRng } from '../../engine/rng.ts';

/** Hand-worked portfolio cases: lots per method, fees, shorts, flips, trades, marks. */

const S = 'BTC/USDT';
let ts = 0;
const fill = (side: 'buy' | 'sell', amount: number, price: number, fee = 0, symbol = S): Fill => ({
  orderId: `o${ts}`,
  agentId: 'a',
  symbol,
  side,
  amount,
  price,
  fee,
  liquidity: 'taker',
  ts: ++ts,
});

function book(method: LotMethod, fills: Fill[], cash = 10_000): Portfolio {
  const p = new Portfolio({ cash, lotMethod: method, trackClosedLots: true });
  for (const f of fills) p.applyFill(f);
  return p;
}

describe('lot methods pick the lot a sale closes', () => {
  // Buy 1 @ 100, buy 1 @ 120, buy 1 @ 110, then sell 1 @ 130.
  const buys = () => [fill('buy', 1, 100), fill('buy', 1, 120), fill('buy', 1, 110), fill('sell', 1, 130)];

  it.each([
    ['fifo', 100, [120, 110]], // the oldest lot
    ['lifo', 110, [100, 120]], // the newest lot
    ['hifo', 120, [100, 110]], // the most expensive lot (smallest gain)
  ] as const)('%s closes the lot bought at %i', (method, closed, left) => {
    const p = book(method, buys());
    expect(p.closedLots).toHaveLength(1);
    expect(p.closedLots[0]).toMatchObject({ qty: 1, openPrice: closed, closePrice: 130, pnl: 130 - closed });
    expect(p.lots(S).map((l) => l.price)).toEqual(left);
    expect(p.realizedPnl).toBe(130 - closed);
    expect(p.qty(S)).toBe(2);
    // Cash does not care which lot went: 10 000 − 330 + 130.
    expect(p.cash).toBe(10_000 - 100 - 120 - 110 + 130);
  });

  it('a sale larger than one lot walks several lots in method order (FIFO 1.5 of 1 @ 100, 1 @ 120)', () => {
    const p = book('fifo', [fill('buy', 1, 100), fill('buy', 1, 120), fill('sell', 1.5, 130)]);
    expect(p.closedLots.map((l) => [l.qty, l.openPrice, l.pnl])).toEqual([
      [1, 100, 30],
      [0.5, 120, 5],
    ]);
    expect(p.lots(S)).toEqual([expect.objectContaining({ qty: 0.5, price: 120 })]);
    expect(p.realizedPnl).toBe(30 + 5);
  });

  it('HIFO for a short closes the cheapest sale first (the costliest to buy back)', () => {
    const p = book('hifo', [fill('sell', 1, 100), fill('sell', 1, 90), fill('sell', 1, 95), fill('buy', 1, 80)]);
    expect(p.closedLots[0]).toMatchObject({ qty: -1, openPrice: 90, pnl: (80 - 90) * 1 * -1 });
  });
});

describe('fees, shorts, flips and round trips', () => {
  it('entry fees ride on the lot and are split by quantity when it is closed in parts', () => {
    const p = book('fifo', [fill('buy', 2, 100, 0.2), fill('sell', 1, 110, 0.11)]);
    expect(p.closedLots[0]).toMatchObject({ qty: 1, openFee: 0.2 / 2, closeFee: 0.11, pnl: 10 });
    expect(p.lots(S)[0]!.fee).toBeCloseTo(0.2 / 2, 15);
    expect(p.fees).toBeCloseTo(0.2 + 0.11, 15);
    expect(p.cash).toBeCloseTo(10_000 - 200 - 0.2 + 110 - 0.11, 9);
    // Realised P&L is gross of fees.
    expect(p.realizedPnl).toBe(10);
  });

  it('a short gains when it is bought back lower', () => {
    const p = book('fifo', [fill('sell', 2, 100), fill('buy', 2, 90)]);
    expect(p.realizedPnl).toBe((90 - 100) * 2 * -1);
    expect(p.qty(S)).toBe(0);
    expect(p.cash).toBe(10_000 + 200 - 180);
    expect(p.closedTrades).toEqual([expect.objectContaining({ side: 'short', entryPrice: 100, exitPrice: 90, qty: 2, pnl: 20 })]);
  });

  it('a sale bigger than the long closes it and opens a short with the rest; the fee is split pro rata', () => {
    const p = book('fifo', [fill('buy', 1, 100), fill('sell', 3, 110, 0.33)]);
    expect(p.qty(S)).toBe(-2);
    expect(p.closedLots).toEqual([expect.objectContaining({ qty: 1, pnl: 10, closeFee: 0.33 / 3 })]);
    expect(p.lots(S)).toEqual([expect.objectContaining({ qty: -2, price: 110 })]);
    expect(p.lots(S)[0]!.fee).toBeCloseTo((0.33 * 2) / 3, 15);
    expect(p.closedTrades).toEqual([expect.objectContaining({ side: 'long', entryPrice: 100, exitPrice: 110, qty: 1 })]);
    expect(p.closedTrades[0]!.pnl).toBeCloseTo(10 - 0.33 / 3, 12);
  });

  it('a round trip in several fills: entry and exit prices are quantity-weighted, qty is the peak, return on entry notional', () => {
    const p = book('fifo', [fill('buy', 1, 100, 0.1), fill('buy', 3, 120, 0.36), fill('sell', 2, 130, 0.26), fill('sell', 2, 110, 0.22)]);
    const [t] = p.closedTrades;
    const entry = (1 * 100 + 3 * 120) / 4;
    const exit = (2 * 130 + 2 * 110) / 4;
    const gross = (130 - 100) * 1 + (130 - 120) * 1 + (110 - 120) * 2;
    const fees = 0.1 + 0.36 + 0.26 + 0.22;
    expect(t!.entryPrice).toBe(entry);
    expect(t!.exitPrice).toBe(exit);
    expect(t!.qty).toBe(4);
    expect(t!.fees).toBeCloseTo(fees, 12);
    expect(t!.pnl).toBeCloseTo(gross - fees, 12);
    expect(t!.returnPct).toBeCloseTo((gross - fees) / (entry * 4), 12);
    expect(p.realizedPnl).toBe(gross);
  });

  it('average price, marks, unrealised P&L and equity', () => {
    const p = book('fifo', [fill('buy', 1, 100), fill('buy', 3, 120)]);
    expect(p.position(S).avgPrice).toBe((100 + 3 * 120) / 4);
    p.mark(S, 125);
    expect(p.position(S).unrealizedPnl).toBe((125 - 115) * 4);
    expect(p.equity()).toBe(10_000 - 460 + 4 * 125);
    expect(p.grossExposure()).toBe(4 * 125);
    const short = book('fifo', [fill('sell', 2, 100)]);
    short.mark(S, 90);
    expect(short.equity()).toBe(10_000 + 200 - 2 * 90);
    expect(short.grossExposure()).toBe(2 * 90);
  });

  it('several symbols keep separate books; equity marks each at its own price', () => {
    const p = book('fifo', [fill('buy', 1, 100, 0, 'A'), fill('sell', 2, 50, 0, 'B')]);
    p.mark('A', 110);
    p.mark('B', 40);
    expect(p.equity()).toBe(10_000 - 100 + 100 + 1 * 110 - 2 * 40);
    expect(p.symbols()).toEqual(['A', 'B']);
  });
});

describe('float residue never leaves dust', () => {
  it('selling 0.3 back in three fills of 0.1 leaves a flat book, not a 1e-17 short', () => {
    const p = book('fifo', [fill('buy', 0.3, 100), fill('sell', 0.1, 100), fill('sell', 0.1, 100), fill('sell', 0.1, 100)]);
    expect(p.qty(S)).toBe(0);
    expect(p.lots(S)).toHaveLength(0);
    expect(p.closedTrades).toHaveLength(1);
  });

  it('buying 0.1 three times and selling 0.3 at once leaves a flat book', () => {
    const p = book('lifo', [fill('buy', 0.1, 100), fill('buy', 0.1, 100), fill('buy', 0.1, 100), fill('sell', 0.3, 100)]);
    expect(p.qty(S)).toBe(0);
    expect(p.lots(S)).toHaveLength(0);
  });
});

describe('bad fills are refused and change nothing', () => {
  it.each([
    ['zero amount', fill('buy', 0, 100)],
    ['negative price', fill('buy', 1, -1)],
    ['NaN price', fill('buy', 1, NaN)],
    ['negative fee', fill('buy', 1, 100, -0.01)],
  ])('%s', (_label, f) => {
    const p = book('fifo', [fill('buy', 1, 100)]);
    const before = JSON.stringify(p.snapshot());
    expect(() => p.applyFill(f)).toThrow(RangeError);
    expect(JSON.stringify(p.snapshot())).toBe(before);
  });

  it('non-finite starting cash', () => {
    expect(() => new Portfolio({ cash: Infinity })).toThrow(RangeError);
  });
});

describe('lots and position never part', () => {
  it.each(['fifo', 'lifo', 'hifo'] as const)('%s: 20,000 random 0.01-step fills keep Σ lots = position (regression: a −0.01 position with no lots)', (lotMethod) => {
    const rng = createRng(9);
    const pf = new Portfolio({ cash: 1e9, lotMethod });
    for (let i = 0; i < 20_000; i++) {
      // This draw order with seed 9 once crashed at fill 3,049: the running position and the lot
      // sum had drifted 6e-14 apart and the close looked for a lot that was not there.
      const side = rng.next() < 0.5 ? 'buy' : 'sell';
      const amount = 0.01 + rng.int(100) / 100;
      const price = 100 + rng.int(1000) / 10;
      pf.applyFill(fill(side, amount, price));
      const lots = pf.lots(S);
      const sum = lots.reduce((a, l) => a + l.qty, 0);
      expect(Math.abs(sum - pf.qty(S))).toBeLessThanOrEqual(1e-9);
      expect(lots.length === 0).toBe(pf.qty(S) === 0);
    }
  });
});
