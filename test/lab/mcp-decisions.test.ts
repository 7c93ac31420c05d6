import { describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Journal, type JournalEntry } from '../../engine/journal.ts';
import { TradingSession } from '../../lab/mcp/session.ts';
import { DecisionListing } from '../../lab/mcp/decision-listing.ts';
import { CLOCK, H, connectClient, useMcpStore, ORDER_SEQUENCE, RISK } from './mcp.support.ts';

const fx = useMcpStore('cs-mcp-dec-');
const connect = connectClient;

async function call<T>(c: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const r = await c.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`tool error: ${JSON.stringify(r.content)}`);
  return (r.structuredContent as { data: T }).data;
}

type Listed = { decisions: { decision: { id: string; agentId: string; symbol: string; action: string; ts: number }; events: { type: string; ts: number; orderId: string; detail: { price?: number; amount?: number; limit?: string } }[] }[] };

describe('get_decisions', () => {
  it('after several orders in two sessions sharing a reopened journal, each decision lists its own order\'s events only', async () => {
    // The second session's fresh accounts repeat the first's order and decision ids.
    const journal = new Journal();
    const orders = ORDER_SEQUENCE;
    const ids: string[][] = [];
    for (let run = 0; run < 2; run++) {
      const c = await connect(new TradingSession({ store: fx.store, clock: { kind: 'replay', at: CLOCK }, timeframe: '1h', risk: RISK, journal }));
      const atStart = await call<Listed>(c, 'get_decisions', { agentId: 'trend' });
      // At the replay clock only the first session's first decision (decided at the clock, filled at its open) has happened.
      expect(atStart.decisions.map((d) => d.events.map((e) => e.orderId))).toEqual(run === 0 ? [] : [[ids[0]![0]]]);
      ids.push([]);
      for (const [k, o] of orders.entries()) {
        const r = await call<{ orderId: string; status: string }>(c, 'place_order', { agentId: 'trend', symbol: 'BTC/USDT', ...o });
        expect(r.status).toBe('filled');
        ids[run]!.push(r.orderId);
        if (k === 0) {
          // trend holds the BTC buy claim now: another agent's buy is refused and journaled with its decision.
          const x = await call<{ status: string }>(c, 'place_order', { agentId: 'conservative', symbol: 'BTC/USDT', side: 'buy', amount: 0.1 });
          expect(x.status).toBe('rejected');
        }
      }
      const all = await call<Listed>(c, 'get_decisions', { agentId: 'trend', limit: 100 });
      expect(all.decisions).toHaveLength(5 * (run + 1));
      for (const [i, d] of all.decisions.entries()) {
        const k = i % orders.length;
        const o = orders[k]!;
        expect(d.decision).toMatchObject({ agentId: 'trend', symbol: 'BTC/USDT', action: o.side });
        // One fill each: order k fills whole at bar 96 + k's open, 100 + 96 + k (mcp.support's bars).
        expect(d.events).toHaveLength(1);
        expect(d.events[0]).toMatchObject({ type: 'fill', orderId: ids[Math.floor(i / orders.length)]![k], ts: CLOCK + k * H, detail: { price: 196 + k, amount: o.amount } });
      }
      const refused = await call<Listed>(c, 'get_decisions', { agentId: 'conservative' });
      expect(refused.decisions).toHaveLength(run + 1);
      for (const d of refused.decisions) expect(d.events.map((e) => [e.type, e.detail.limit])).toEqual([['order_rejected', 'claim']]);
      const last3 = await call<Listed>(c, 'get_decisions', { agentId: 'trend', limit: 3 });
      expect(last3.decisions.map((d) => d.events[0]!.orderId)).toEqual(ids[run]!.slice(2));
      expect(last3.decisions).toEqual(all.decisions.slice(-3));
      expect((await call<Listed>(c, 'get_decisions', { symbol: 'ETH/USDT' })).decisions).toEqual([]);
      expect((await call<Listed>(c, 'get_decisions', { symbol: 'BTC/USDT', limit: 500 })).decisions).toHaveLength(6 * (run + 1));
    }
    expect(ids[1]).toEqual(ids[0]);
  });

  it('reads each journal entry once: entries already indexed are not read again', () => {
    const journal = new Journal();
    const decision = (id: string, ts: number) => ({ id, ts, agentId: 'a', symbol: 'BTC/USDT', action: 'buy' as const, factors: {}, weights: {}, confidence: 50, reasoning: '', orderIds: [] });
    journal.append('decision', decision('a-D1', 1), 1);
    journal.append('order_submitted', { id: 'a-1', decisionId: 'a-D1', agentId: 'a', symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: 1 }, 1);
    const listing = new DecisionListing();
    listing.catchUp(journal.entries());
    // Poison what was read: a re-read would throw or list garbage.
    const seen = [...journal.entries()] as (JournalEntry | null)[];
    seen[0] = null;
    seen[1] = null;
    journal.append('fill', { orderId: 'a-1', agentId: 'a', symbol: 'BTC/USDT', side: 'buy', price: 10, amount: 1, fee: 0.01, ts: 2, liquidity: 'taker' }, 2);
    seen.push(journal.entries()[2]!);
    listing.catchUp(seen as JournalEntry[]);
    const [d] = listing.select(10, { limit: 5 });
    expect(d!.decision.id).toBe('a-D1');
    expect(d!.events.map((e) => [e.type, e.orderId, e.ts])).toEqual([['fill', 'a-1', 2]]);
    // and the clock hides what happened after it
    expect(listing.select(1, { limit: 5 })[0]!.events).toEqual([]);
    expect(listing.select(0, { limit: 5 })).toEqual([]);
  });
});
