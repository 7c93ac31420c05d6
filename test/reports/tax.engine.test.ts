import { describe, expect, it } from 'vitest';
import { runColumnar } from '../../engine/backtest.ts';
import { Journal } from '../../engine/journal.ts';
import { Portfolio } from '../../engine/portfolio.ts';
import { defineStrategy } from '../../engine/strategy.ts';
import { z } from 'zod';
import { generateBars } from '../../datasets/synth.ts';
import { matchLots, taxYearReport } from '../../reports/tax.ts';
import { fillsFromJournal } from '../../reports/tax-fills.ts';
import { cents } from './tax.support.ts';

/**
 * A real backtest's journal through the tax report, checked against the engine's own float64 lot
 * accounting (Portfolio with closed-lot tracking, another implementation of the same matching):
 * the same lots in the same order, the same quantities, and gains within the report's rounding
 * (each row rounds proceeds and basis once: at most a cent each, so 1 cent per row, plus float noise).
 */
const DAY = 86_400_000;
const T0 = Date.UTC(2022, 0, 1);
/** Scales in and out at random (seeded): many lots per position, sells that take parts of several lots. */
const scaler = defineStrategy({
  name: 'test-scaler',
  params: z.object({}).strict(),
  onBar(ctx, bar) {
    const r = ctx.rng.next();
    const held = ctx.position(bar.symbol).qty;
    if (r < 0.06) ctx.buy(bar.symbol, { size: ctx.sizing.fraction(0.04) });
    else if (r < 0.075 && held > 0) ctx.sell(bar.symbol, { size: r < 0.0615 ? ctx.sizing.allIn() : ctx.sizing.qty(held * ctx.rng.next()) });
  },
});
const bars = (symbol: string, seed: number, startPrice: number) =>
  generateBars({ symbol, timeframeMs: DAY, from: T0, to: T0 + 3 * 365 * DAY, seed, startPrice, model: { kind: 'gbm', drift: 0, vol: 0.8 } });

describe('tax report of an engine run', () => {
  for (const lotMethod of ['fifo', 'lifo', 'hifo'] as const) {
    it(`${lotMethod}: rows match the engine's closed lots`, () => {
      const journal = new Journal();
      runColumnar(
        { strategy: scaler, params: {}, seed: 5, cash: 100_000, lotMethod, broker: { takerFeeBps: 10, slippage: { kind: 'fixed', bps: 5 } }, journal },
        [bars('BTC/USDT', 11, 40_000), bars('ETH/USDT', 12, 2_500)],
      );
      const fills = fillsFromJournal(journal.entries(), 'run');
      expect(fills.filter((f) => f.side === 'sell').length).toBeGreaterThan(10);
      expect(fills.length).toBeGreaterThan(100);

      const p = new Portfolio({ cash: 100_000, lotMethod, trackClosedLots: true });
      for (const f of fills) p.applyFill({ orderId: f.orderId, agentId: 'a', symbol: f.symbol, side: f.side, amount: Number(f.amount), price: Number(f.price), fee: Number(f.fee), liquidity: 'taker', ts: f.ts });
      const ledger = matchLots(fills, { method: lotMethod });
      const engine = p.closedLots;
      // the run exercised what matters: sells spread over several lots, and both holding terms
      expect(new Set(ledger.rows.map((r) => r.sellFill)).size).toBeLessThan(ledger.rows.length);
      expect(ledger.rows.some((r) => r.term === 'long')).toBe(true);
      expect(ledger.rows.length).toBe(engine.length);
      ledger.rows.forEach((r, i) => {
        const c = engine[i]!;
        expect([r.symbol, r.acquiredTs, r.soldTs]).toEqual([c.symbol, c.openTs, c.closeTs]);
        expect(Number(r.quantity)).toBeCloseTo(c.qty, 9);
        const engineGainCents = (c.pnl - c.openFee - c.closeFee) * 100;
        expect(Math.abs(Number(cents(r.gain)) - engineGainCents)).toBeLessThanOrEqual(2 + 1e-6 * Math.abs(engineGainCents));
      });
      // spanning three years: every year's report adds up to the history
      expect(ledger.years.length).toBeGreaterThanOrEqual(2);
      const total = ledger.years.reduce((s, y) => s + cents(taxYearReport(ledger, y).scheduleD.netGain), 0n);
      expect(total).toBe(ledger.rows.reduce((s, r) => s + cents(r.gain), 0n));
    });
  }
});
