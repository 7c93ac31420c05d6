import { describe, expect, it } from 'vitest';
import { runColumnar } from '../../engine/backtest.ts';
import { fold, Journal, verify } from '../../engine/journal.ts';
import { builtinStrategies } from '../../engine/strategies/index.ts';
import { generateBars } from '../../datasets/synth.ts';

/** Folding a backtest's journal must give exactly the backtest's final portfolio (issue 3). */
const T0 = Date.UTC(2024, 0, 1);
const HOUR = 3_600_000;
const bars = (symbol: string, seed: number, startPrice: number) =>
  generateBars({ symbol, timeframeMs: HOUR, from: T0, to: T0 + 120 * 24 * HOUR, seed, startPrice, model: { kind: 'gbm', drift: 0, vol: 0.9 } });

describe('fold of a backtest journal', () => {
  for (const [name, params, lotMethod] of [
    ['sma-cross', { fast: 5, slow: 20 }, 'fifo'],
    ['rsi-reversion', {}, 'lifo'],
    ['bollinger-breakout', {}, 'hifo'],
  ] as const) {
    it(`${name} (${lotMethod}): fold(journal) equals the run's final state`, () => {
      const journal = new Journal();
      const run = runColumnar(
        { strategy: builtinStrategies[name]!, params, seed: 3, cash: 50_000, lotMethod, broker: { takerFeeBps: 10, slippage: { kind: 'fixed', bps: 5 } }, journal },
        [bars('BTC/USDT', 1, 40_000), bars('ETH/USDT', 2, 2_500)],
      );
      const entries = journal.entries();
      expect(verify(entries).ok).toBe(true);
      expect(run.fills.length).toBeGreaterThan(10); // the run actually traded
      const state = fold(entries);
      expect(state.counts.fill).toBe(run.fills.length);
      expect(state.portfolio.snapshot()).toEqual(run.final);
      expect(state.portfolio.equity()).toBe(run.curve.equity[run.curve.equity.length - 1]);
      // Whatever was still resting at the end is what the fold says is open.
      const open = run.orders.filter((o) => o.status === 'open' || o.status === 'pending').map((o) => o.id).sort();
      expect([...state.openOrders.keys()].sort()).toEqual(open);
      // The same entries through JSON (as stored) fold to the same state.
      expect(fold(JSON.parse(JSON.stringify(entries))).portfolio.snapshot()).toEqual(run.final);
    });
  }
});

describe('decisions that place no order', () => {
  it('ctx.hold journals a hold decision with its structured detail, and the detail is part of the result hash', async () => {
    const { defineStrategy } = await import('../../engine/strategy.ts');
    const { z } = await import('zod');
    const holder = (tag: string) =>
      defineStrategy({
        name: 'holder',
        params: z.object({}),
        onBar(ctx, bar) {
          if (ctx.decisions.length < 3) ctx.hold(bar.symbol, { confidence: 40, reasoning: 'wait', factors: { rsi: 50 }, detail: { votes: [tag] } });
        },
      });
    const run = (tag: string) => {
      const journal = new Journal();
      const r = runColumnar({ strategy: holder(tag), params: {}, seed: 1, cash: 1_000, journal }, [bars('BTC/USDT', 1, 40_000)]);
      return { r, entries: journal.entries() };
    };
    const a = run('a');
    const decisions = a.entries.filter((e) => e.type === 'decision');
    expect(decisions).toHaveLength(3);
    expect(decisions[0]!.payload).toMatchObject({ action: 'hold', confidence: 40, reasoning: 'wait', orderIds: [], detail: { votes: ['a'] } });
    expect(a.entries.some((e) => e.type === 'order_submitted')).toBe(false);
    expect(a.r.decisions).toHaveLength(3);
    expect(run('b').r.resultHash).not.toBe(a.r.resultHash);
    expect(run('a').r.resultHash).toBe(a.r.resultHash);
  });
});
