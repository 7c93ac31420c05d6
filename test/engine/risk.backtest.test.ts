import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runColumnar } from '../../engine/backtest.ts';
import { fold, Journal, journalKillSwitch, verify, type JournalEntry } from '../../engine/journal.ts';
import { KillSwitch } from '../../engine/killswitch.ts';
import { parseRiskConfigText, RiskEngine, riskGate } from '../../engine/risk.ts';
import { defineStrategy } from '../../engine/strategy.ts';
import type { BarColumns } from '../../engine/types.ts';

/**
 * A reckless strategy against the seed's limits (examples/risk.yaml) in a real backtest: every
 * attempt to break a limit is refused, journaled with the right limit, and the drawdown trips
 * the kill switch, after which nothing is accepted.
 */
const T0 = Date.UTC(2024, 0, 1);
const MIN = 60_000;
const N = 600;

/** Flat for 2 hours, then −0.5% per minute: a crash to buy into. */
function series(symbol: string, start: number): BarColumns {
  const ts = new Float64Array(N), open = new Float64Array(N), high = new Float64Array(N), low = new Float64Array(N), close = new Float64Array(N);
  let p = start;
  for (let i = 0; i < N; i++) {
    const next = i < 120 ? p : p * 0.995;
    ts[i] = T0 + i * MIN;
    open[i] = p;
    close[i] = next;
    high[i] = Math.max(p, next);
    low[i] = Math.min(p, next);
    p = next;
  }
  return { symbol, timeframeMs: MIN, length: N, ts, open, high, low, close, volume: new Float64Array(N).fill(1e6) };
}

const reckless = defineStrategy({
  name: 'reckless',
  params: z.object({}),
  onBar(ctx, bar) {
    if (bar.symbol !== 'BTC/USDT' || bar.index < 1) return; // XRP's first bar comes after BTC's
    const why = (reasoning: string) => ({ factors: { close: bar.close }, confidence: 99, reasoning });
    ctx.buy('BTC/USDT', { size: ctx.sizing.notional(6_000), reason: why('one order over the position limit') });
    ctx.buy('XRP/USDT', { size: ctx.sizing.notional(100), reason: why('a symbol outside the whitelist') });
    ctx.buy('BTC/USDT', { size: ctx.sizing.notional(400), reason: why('keep adding every minute') });
  },
});

function rejections(entries: readonly JournalEntry[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of entries) if (e.type === 'order_rejected') m.set(e.payload.breach.limit, (m.get(e.payload.breach.limit) ?? 0) + 1);
  return m;
}

describe('a reckless strategy against the seed limits', () => {
  it('is refused at every limit, journaled, and halted by the drawdown stop', () => {
    const config = parseRiskConfigText(readFileSync(new URL('../../examples/risk.yaml', import.meta.url), 'utf8'));
    const journal = new Journal();
    const ks = new KillSwitch({ onTransition: journalKillSwitch(journal) });
    const risk = new RiskEngine(config, { killSwitch: ks });
    const run = runColumnar(
      { strategy: reckless, seed: 1, cash: 10_000, broker: { takerFeeBps: 10 }, journal, gate: riskGate(risk), killSwitch: ks },
      [series('BTC/USDT', 40_000), series('XRP/USDT', 0.5)],
    );
    const entries = journal.entries();
    expect(verify(entries).ok).toBe(true);

    const byLimit = rejections(entries);
    expect(byLimit.get('maxPositionNotional')).toBeGreaterThan(0);
    expect(byLimit.get('allowedSymbols')).toBeGreaterThan(0);
    expect(byLimit.get('maxTradesPerHour')).toBeGreaterThan(0);
    expect(byLimit.get('killSwitch')).toBeGreaterThan(0);

    // Every rejection carries limit, value, attempted and current, and its decision says it was refused.
    for (const e of entries) {
      if (e.type !== 'order_rejected') continue;
      expect(e.payload.breach).toEqual(expect.objectContaining({ limitValue: expect.anything(), attempted: expect.anything(), current: expect.anything(), scope: expect.any(String) }));
    }
    const refused = run.decisions.filter((d) => d.outcome?.status === 'rejected');
    expect(refused.length).toBe([...byLimit.values()].reduce((a, b) => a + b, 0));

    // No fill takes the BTC position past 5000 USD (fills are at the next open = the close it was checked at).
    let btc = 0, maxBtc = 0;
    for (const e of entries) {
      if (e.type !== 'fill' || e.payload.symbol !== 'BTC/USDT') continue;
      btc += e.payload.side === 'buy' ? e.payload.amount : -e.payload.amount;
      maxBtc = Math.max(maxBtc, btc);
      expect(Math.abs(btc) * e.payload.price).toBeLessThanOrEqual(5_000 * (1 + 1e-9));
    }
    expect(maxBtc).toBeGreaterThan(0);
    expect(btc).toBe(0); // flattened by the kill switch
    // At most 10 orders submitted in any rolling hour.
    const submits = entries.filter((e) => e.type === 'order_submitted').map((e) => e.ts);
    for (let i = 10; i < submits.length; i++) expect(submits[i]! - submits[i - 10]!).toBeGreaterThanOrEqual(3_600_000);

    // The drawdown tripped the kill switch automatically, once, and it was journaled.
    const trips = entries.filter((e) => e.type === 'killswitch');
    expect(trips).toHaveLength(1);
    expect(trips[0]!.payload).toMatchObject({ to: 'HALTED', auto: true, limit: 'maxDrawdown', by: 'risk-engine', cancelAll: true, flatten: true });
    // After the trip, nothing is submitted but the kill switch's own flatten orders.
    const tripSeq = trips[0]!.seq;
    const after = entries.filter((e) => e.seq > tripSeq && e.type === 'order_submitted');
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((e) => (e.payload as { agentId: string }).agentId === 'killswitch')).toBe(true);
    // The seed's drawdown stop holds: equity never below 80 % of its peak by more than one bar's
    // move plus what closing out costs (the taker fee on the flatten fills).
    {
      const exitFees = run.fills.filter((f) => f.agentId === 'killswitch').reduce((a, f) => a + f.fee, 0);
      expect(exitFees).toBeGreaterThan(0);
      const eq = Array.from(run.curve.equity);
      let peak = -Infinity, worst = 0, maxMove = 0;
      eq.forEach((v, i) => {
        peak = Math.max(peak, v);
        worst = Math.max(worst, 0.8 * peak - v);
        if (i > 0) maxMove = Math.max(maxMove, Math.abs(v - eq[i - 1]!));
      });
      expect(worst).toBeLessThanOrEqual(maxMove + exitFees);
    }
    // The trip happened on the first mark at or past −20% from the peak, not before.
    const eq = Array.from(run.curve.equity);
    const at = Array.from(run.curve.ts).indexOf(trips[0]!.ts);
    expect(at).toBeGreaterThan(0);
    expect(eq[at]!).toBeLessThanOrEqual(0.8 * Math.max(...eq.slice(0, at + 1)) + 1e-6);
    expect(eq[at - 1]!).toBeGreaterThan(0.8 * Math.max(...eq.slice(0, at)));
    // The folded journal knows the switch is HALTED and holds the run's final portfolio.
    const state = fold(entries);
    expect(state.killSwitch.global.state).toBe('HALTED');
    expect(state.portfolio.snapshot()).toEqual(run.final);
  });
});

describe('every way a strategy places an order goes through the gate', () => {
  it('buy, sell, close, bracket (entry and both exits) and OCO legs are each checked before the broker sees them', () => {
    const seen: { side: string; type: string; amount: number; price?: number; stopPrice?: number }[] = [];
    const inner = riskGate(RiskEngine.from({ longOnly: true, maxPositionNotional: 1e9 }));
    const gate = {
      ...inner,
      check: (o: Parameters<typeof inner.check>[0], v: Parameters<typeof inner.check>[1]) => {
        const r = inner.check(o, v);
        if (r.ok) seen.push({ side: o.side, type: o.type, amount: o.amount, price: o.price, stopPrice: o.stopPrice });
        return r;
      },
    };
    const everyPath = defineStrategy({
      name: 'every-path',
      params: z.object({}),
      onBar(ctx, bar) {
        const s = bar.symbol;
        const p = bar.close;
        switch (bar.index) {
          case 1: ctx.buy(s, { size: 0.1 }); break;
          case 3: ctx.sell(s, { size: 0.05, type: 'limit', price: p * 1.001 }); break;
          case 5: ctx.close(s); break;
          case 7: ctx.bracket(s, 'buy', { size: 0.1, takeProfit: p * 1.02, stopLoss: p * 0.98 }); break;
          case 9: ctx.oco(s, { side: 'sell', size: 0.05, type: 'limit', price: p * 1.05, reduceOnly: true }, { side: 'sell', size: 0.05, type: 'stop', stopPrice: p * 0.95, reduceOnly: true }); break;
        }
      },
    });
    const journal = new Journal();
    const run = runColumnar({ strategy: everyPath, seed: 1, cash: 100_000, journal, gate }, [series('BTC/USDT', 40_000)]);
    expect(run.orders.length).toBe(8); // buy, sell, close, bracket entry + 2 exits, 2 OCO legs
    // One accepted check per order, in the same order, for the same request.
    expect(seen).toEqual(run.orders.map((o) => ({ side: o.side, type: o.type, amount: o.amount, price: o.price, stopPrice: o.stopPrice })));
    // The bracket exits are reduce-only sells placed while flat: long-only must not refuse them.
    expect(rejections(journal.entries()).size).toBe(0);
  });
});

describe('the drawdown stop with flatten-on-halt', () => {
  it('flattens on the trip; equity never goes below the stop by more than one bar\'s move', () => {
    const config = parseRiskConfigText('maxDrawdown: -20%\nkillSwitch: { onDrawdown: HALTED, cancelAllOnHalt: true, flattenOnHalt: true }\n');
    const journal = new Journal();
    const ks = new KillSwitch({ onTransition: journalKillSwitch(journal) });
    const risk = new RiskEngine(config, { killSwitch: ks });
    const allIn = defineStrategy({
      name: 'all-in',
      params: z.object({}),
      onBar(ctx, bar) {
        // Keeps trying to buy the crash: after the halt every attempt must be refused.
        if (ctx.position(bar.symbol).qty === 0) ctx.buy(bar.symbol, { size: ctx.sizing.allIn(), reason: { confidence: 90, reasoning: 'buy the dip' } });
      },
    });
    const run = runColumnar({ strategy: allIn, seed: 1, cash: 10_000, broker: { takerFeeBps: 0 }, journal, gate: riskGate(risk), killSwitch: ks }, [series('BTC/USDT', 40_000)]);
    const eq = Array.from(run.curve.equity);
    let peak = -Infinity, worstBelowStop = 0, maxMove = 0;
    for (let i = 0; i < eq.length; i++) {
      peak = Math.max(peak, eq[i]!);
      worstBelowStop = Math.max(worstBelowStop, 0.8 * peak - eq[i]!);
      if (i > 0) maxMove = Math.max(maxMove, Math.abs(eq[i]! - eq[i - 1]!));
    }
    expect(maxMove).toBeGreaterThan(0);
    expect(worstBelowStop).toBeLessThanOrEqual(maxMove);
    // The kill switch's own flatten order closed the position, and it is journaled with its reason.
    const flat = run.fills.filter((f) => f.agentId === 'killswitch');
    expect(flat).toHaveLength(1);
    expect(run.final.positions.every((p) => p.qty === 0)).toBe(true);
    const flatDecision = run.decisions.find((d) => d.orderIds.includes(flat[0]!.orderId));
    expect(flatDecision?.reasoning).toMatch(/kill switch HALTED .*flatten/);
    // Nothing but the flatten was accepted after the trip.
    const entries = journal.entries();
    const tripSeq = entries.find((e) => e.type === 'killswitch')!.seq;
    const after = entries.filter((e) => e.seq > tripSeq && e.type === 'order_submitted');
    expect(after.map((e) => (e.payload as { agentId: string }).agentId)).toEqual(['killswitch']);
    expect(verify(entries).ok).toBe(true);
    expect(fold(entries).portfolio.snapshot()).toEqual(run.final);
  });
});
