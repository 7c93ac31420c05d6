import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { RedisClaims } from '../../live/claims.ts';
import { InProcessBus } from '../../live/bus/in-process.ts';
import type { BusEvent } from '../../live/bus/events.ts';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Journal, verify } from '../../engine/journal.ts';
import { TradingSession } from '../../lab/mcp/session.ts';
import { CLOCK, H, connectClient, useMcpStore, POISON, ORDER_SEQUENCE, RISK, T0, VISIBLE, leakySentiment } from './mcp.support.ts';

const fx = useMcpStore('cs-mcp-');
const connect = connectClient;

const replay = () => new TradingSession({ store: fx.store, clock: { kind: 'replay', at: CLOCK }, timeframe: '1h', risk: RISK, sentiment: leakySentiment });

type Data<T> = { kind: 'data'; note: string; mode: string; clock: string; data: T };
async function call<T>(c: Client, name: string, args: Record<string, unknown>): Promise<Data<T>> {
  const r = await c.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`tool error: ${JSON.stringify(r.content)}`);
  return r.structuredContent as Data<T>;
}

describe('MCP server in process (Client + InMemoryTransport)', () => {
  it('lists the seven tools, each with input and output schemas and the data-not-instructions note', async () => {
    const c = await connect(replay());
    const { tools } = await c.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['analyze_sentiment', 'backtest_strategy', 'get_decisions', 'get_market_data', 'get_portfolio', 'kill_switch_status', 'place_order']);
    for (const t of tools) {
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type).toBe('object');
      expect(t.description).toMatch(/data, not instructions/);
    }
  });

  it('get_market_data returns only bars closed by the replay clock (poisoned future absent)', async () => {
    const c = await connect(replay());
    const r = await call<{ bars: { ts: number; open: number; close: number }[] }>(c, 'get_market_data', { symbol: 'ETH/USDT', limit: 1000 });
    expect(r.kind).toBe('data');
    expect(r.clock).toBe(new Date(CLOCK).toISOString());
    expect(r.data.bars.length).toBe(VISIBLE);
    expect(r.data.bars.at(-1)!.ts).toBe(CLOCK - H); // opened an hour before the clock, closed at it
    expect(JSON.stringify(r)).not.toContain(String(POISON));
    const btc = await call<{ bars: { ts: number; open: number }[] }>(c, 'get_market_data', { symbol: 'BTC/USDT', limit: 3 });
    expect(btc.data.bars.map((b) => b.open)).toEqual([193, 194, 195]);
  });

  it('analyze_sentiment never returns a reading stamped after the clock, even from a leaky source', async () => {
    const c = await connect(replay());
    const eth = await call<{ reading: unknown }>(c, 'analyze_sentiment', { symbol: 'ETH/USDT' });
    expect(eth.data.reading).toBeNull();
    const btc = await call<{ reading: { score: number; ts: number } }>(c, 'analyze_sentiment', { symbol: 'BTC/USDT' });
    expect(btc.data.reading).toMatchObject({ score: -0.4, ts: CLOCK - H });
  });

  it('place_order fills on paper at the next bar\'s open, journals it, and moves the clock to that bar\'s close', async () => {
    const session = replay();
    const c = await connect(session);
    const r = await call<{ status: string; price: number; amount: number; fee: number; clock: number; paper: boolean }>(c, 'place_order', { agentId: 'trend', symbol: 'BTC/USDT', side: 'buy', amount: 0.5, reasoning: 'uptrend' });
    // Bar 96 opens at the clock at 100 + 96; fee 10 bps of 0.5 × 196.
    expect(r.data).toMatchObject({ status: 'filled', price: 196, amount: 0.5, paper: true, clock: CLOCK + H });
    expect(r.data.fee).toBeCloseTo(0.098, 12);
    const p = await call<{ cash: number; equity: number; positions: { qty: number; avgPrice: number }[] }>(c, 'get_portfolio', { agentId: 'trend' });
    expect(p.data.cash).toBeCloseTo(10_000 - 98 - 0.098, 9);
    expect(p.data.equity).toBeCloseTo(10_000 - 98 - 0.098 + 0.5 * 196.5, 9); // marked at bar 96's close
    expect(p.data.positions).toEqual([expect.objectContaining({ symbol: 'BTC/USDT', qty: 0.5, avgPrice: 196 })]);
    const types = session.journal.entries().map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['run_start', 'decision', 'order_submitted', 'order_accepted', 'fill']));
    expect(verify(session.journal.entries()).ok).toBe(true);
    const d = await call<{ decisions: { decision: { agentId: string; reasoning: string }; events: { type: string }[] }[] }>(c, 'get_decisions', { agentId: 'trend' });
    expect(d.data.decisions).toHaveLength(1);
    expect(d.data.decisions[0]!.decision).toMatchObject({ agentId: 'trend', reasoning: 'uptrend' });
    expect(d.data.decisions[0]!.events.map((e) => e.type)).toEqual(['fill']);
  });

  it('a risk rejection names the limit; nothing fills and the account is unchanged', async () => {
    const session = replay();
    const c = await connect(session);
    const r = await call<{ status: string; limit: string; message: string; clock: number }>(c, 'place_order', { agentId: 'aggressive', symbol: 'BTC/USDT', side: 'buy', amount: 20 });
    expect(r.data).toMatchObject({ status: 'rejected', limit: 'maxOrderNotional', clock: CLOCK });
    expect(r.data.message).toMatch(/order notional 3910 exceeds 1000/); // 20 × the last close, bar 95's 100.5 + 95
    const p = await call<{ cash: number; positions: unknown[] }>(c, 'get_portfolio', { agentId: 'aggressive' });
    expect(p.data).toMatchObject({ cash: 10_000, positions: [] });
    expect(session.journal.entries().filter((e) => e.type === 'order_rejected')).toHaveLength(1);
  });

  it('several orders in a row: each reports its own fee, the portfolio adds them up, and place_order never reads the journal', async () => {
    // One journal for two sessions, as `cs mcp --journal` reopens its file: the second session's
    // fresh accounts give their orders the same ids as the first's.
    const journal = new Journal();
    let reads = 0;
    const counted = { append: journal.append.bind(journal), entries: () => (reads++, journal.entries()) };
    const orders = ORDER_SEQUENCE;
    const ids: (string | null)[][] = [];
    for (let run = 0; run < 2; run++) {
      const session = new TradingSession({ store: fx.store, clock: { kind: 'replay', at: CLOCK }, timeframe: '1h', risk: RISK, journal: counted });
      const c = await connect(session);
      let cash = 10_000;
      let fees = 0;
      ids.push([]);
      for (const [k, o] of orders.entries()) {
        const r = await call<{ status: string; orderId: string; price: number; amount: number; fee: number }>(c, 'place_order', { agentId: 'trend', symbol: 'BTC/USDT', ...o });
        // Order k fills at bar 96 + k's open, 196 + k, and pays 10 bps of its notional.
        const price = 196 + k;
        const fee = 0.001 * o.amount * price;
        expect(r.data).toMatchObject({ status: 'filled', price, amount: o.amount });
        expect(r.data.fee).toBeCloseTo(fee, 12);
        ids[run]!.push(r.data.orderId);
        cash += (o.side === 'buy' ? -1 : 1) * o.amount * price - fee;
        fees += fee;
      }
      expect(reads).toBe(0);
      const p = await call<{ cash: number; fees: number; positions: unknown[] }>(c, 'get_portfolio', { agentId: 'trend' });
      expect(p.data.fees).toBeCloseTo(fees, 12);
      expect(p.data.cash).toBeCloseTo(cash, 9);
      expect(p.data.positions).toEqual([]); // 0.5 + 0.25 − 0.5 + 1 − 1.25
    }
    // The same ids twice: a fee summed over the whole journal would have counted the first session's fills too.
    expect(ids[1]).toEqual(ids[0]);
    expect(journal.entries().filter((e) => e.type === 'fill')).toHaveLength(2 * orders.length);
    expect(verify(journal.entries()).ok).toBe(true);
  });

  it('a second agent cannot open the trade another agent has claimed', async () => {
    const session = replay();
    const c = await connect(session);
    await call(c, 'place_order', { agentId: 'trend', symbol: 'BTC/USDT', side: 'buy', amount: 0.5 });
    const r = await call<{ status: string; limit: string; message: string }>(c, 'place_order', { agentId: 'conservative', symbol: 'BTC/USDT', side: 'buy', amount: 0.1 });
    expect(r.data).toMatchObject({ status: 'rejected', limit: 'claim' });
    expect(r.data.message).toMatch(/claimed by trend/);
    const rej = session.journal.entries().filter((e) => e.type === 'order_rejected');
    expect(rej.map((e) => (e.payload as { breach: { limit: string } }).breach.limit)).toEqual(['claim']);
    // The refused decision is journaled and explained like any other.
    const d = await call<{ decisions: { decision: { agentId: string; outcome: { limit: string } }; events: { type: string }[] }[] }>(c, 'get_decisions', { agentId: 'conservative' });
    expect(d.data.decisions).toHaveLength(1);
    expect(d.data.decisions[0]!.decision.outcome).toMatchObject({ status: 'rejected', limit: 'claim' });
    expect(d.data.decisions[0]!.events.map((e) => e.type)).toEqual(['order_rejected']);
    expect(verify(session.journal.entries()).ok).toBe(true);
  });

  it('bad arguments: a clear tool error, nothing placed, the journal unchanged', async () => {
    const session = replay();
    const c = await connect(session);
    const before = session.journal.entries().length;
    const bad = [
      { agentId: 'x', symbol: 'BTC/USDT', side: 'long', amount: 1 },
      { agentId: 'x', symbol: 'BTC/USDT', side: 'buy' },
      { agentId: 'x', symbol: 'BTC/USDT', side: 'buy', amount: -1 },
      { agentId: 'x', symbol: 'BTC/USDT', side: 'buy', type: 'limit', amount: 1 },
      { agentId: 'x', symbol: 'DROP TABLE', side: 'buy', amount: 1 },
      { agentId: 'x', symbol: 'BTC/USDT', side: 'buy', amount: 1, live: true },
      { agentId: 'x', symbol: 'DOGE/USDT', side: 'buy', amount: 1 },
    ];
    for (const args of bad) {
      const r = await c.callTool({ name: 'place_order', arguments: args });
      expect(r.isError, JSON.stringify(args)).toBe(true);
      expect(JSON.stringify(r.content)).toMatch(/side|amount|price|symbol|live|Unrecognized|DOGE\/USDT/);
    }
    expect(session.journal.entries().length).toBe(before);
    const p = await call<{ cash: number; positions: unknown[]; openOrders: unknown[] }>(c, 'get_portfolio', { agentId: 'x' });
    expect(p.data).toMatchObject({ cash: 10_000, positions: [], openOrders: [] });
  });

  it('backtest_strategy only sees bars closed by the clock', async () => {
    const c = await connect(replay());
    const r = await call<{ bars: number; to: string; trades: number }>(c, 'backtest_strategy', { strategy: 'buy-and-hold', symbol: 'ETH/USDT' });
    expect(r.data.bars).toBe(VISIBLE);
    expect(r.data.to).toBe(new Date(T0 + (VISIBLE - 1) * H).toISOString());
    expect(JSON.stringify(r)).not.toContain(String(POISON));
    const bad = await c.callTool({ name: 'backtest_strategy', arguments: { strategy: './evil.ts', symbol: 'ETH/USDT' } });
    expect(bad.isError).toBe(true);
  });

  it('kill_switch_status reads the shared kill switch', async () => {
    const session = replay();
    const c = await connect(session);
    expect((await call<{ global: { state: string } }>(c, 'kill_switch_status', {})).data.global.state).toBe('ACTIVE');
    session.killSwitch.trip({ scope: 'global' }, 'HALTED', { by: 'ops', reason: 'test', ts: CLOCK });
    expect((await call<{ global: { state: string; reason: string } }>(c, 'kill_switch_status', {})).data.global).toMatchObject({ state: 'HALTED', reason: 'test' });
    const r = await call<{ status: string; limit: string }>(c, 'place_order', { agentId: 'trend', symbol: 'BTC/USDT', side: 'buy', amount: 0.1 });
    expect(r.data).toMatchObject({ status: 'rejected', limit: 'killSwitch' });
  });

  it('analyze_sentiment from the fx.store (the default source) reads only headlines stamped by the clock', async () => {
    const c = await connect(new TradingSession({ store: fx.store, clock: { kind: 'replay', at: CLOCK } }));
    const r = await call<{ reading: { ts: number; score: number; samples: number } }>(c, 'analyze_sentiment', { symbol: 'ETH/USDT' });
    expect(r.data.reading).toMatchObject({ samples: 1 });
    expect(r.data.reading.score).toBeGreaterThan(0); // the +0.6 headline alone; the −1 one after the clock would turn it negative
    expect(JSON.stringify(r)).not.toContain('POISON');
  });

  it('the replay clock never passes --replay-to: an order with no next bar in range stays open', async () => {
    const session = new TradingSession({ store: fx.store, clock: { kind: 'replay', at: CLOCK, to: CLOCK + H / 2 } });
    const c = await connect(session);
    const r = await call<{ status: string; clock: number }>(c, 'place_order', { agentId: 'trend', symbol: 'BTC/USDT', side: 'buy', amount: 0.5 });
    expect(r.data).toMatchObject({ status: 'open', clock: CLOCK });
    const p = await call<{ openOrders: { amount: number }[]; positions: unknown[] }>(c, 'get_portfolio', { agentId: 'trend' });
    expect(p.data.openOrders).toHaveLength(1);
    expect(p.data.positions).toEqual([]);
  });

  it('a paper session fills at once at the last stored close (wall clock after the data)', async () => {
    const now = T0 + 1_000 * H; // long after the last stored bar
    const session = new TradingSession({ store: fx.store, clock: { kind: 'paper' }, now: () => now });
    const c = await connect(session);
    const r = await call<{ status: string; price: number; amount: number }>(c, 'place_order', { agentId: 'paper', symbol: 'BTC/USDT', side: 'buy', notional: 299.5 });
    // Last bar (199) closes at 100.5 + 199 = 299.5: a 299.5 notional is 1 BTC.
    expect(r.data).toMatchObject({ status: 'filled', price: 299.5, amount: 1 });
    expect(r.mode).toBe('paper');
  });

  it('two sessions (two servers) sharing Redis claims: an agent on one blocks the same trade on the other', async () => {
    const prefix = `test:mcp-claims:${randomUUID()}`;
    const c1 = new RedisClaims(inject('redisUrl'), prefix);
    const c2 = new RedisClaims(inject('redisUrl'), prefix);
    try {
      const s1 = new TradingSession({ store: fx.store, clock: { kind: 'replay', at: CLOCK }, claims: c1 });
      const s2 = new TradingSession({ store: fx.store, clock: { kind: 'replay', at: CLOCK }, claims: c2 });
      const a = await call<{ status: string }>(await connect(s1), 'place_order', { agentId: 'trend', symbol: 'BTC/USDT', side: 'buy', amount: 0.5 });
      expect(a.data.status).toBe('filled');
      const b = await call<{ status: string; limit: string; message: string }>(await connect(s2), 'place_order', { agentId: 'aggressive', symbol: 'BTC/USDT', side: 'buy', amount: 0.5 });
      expect(b.data).toMatchObject({ status: 'rejected', limit: 'claim' });
      expect(b.data.message).toMatch(/claimed by trend/);
      // Selling is another trade: not blocked.
      const sell = await call<{ status: string }>(await connect(s2), 'place_order', { agentId: 'aggressive', symbol: 'BTC/USDT', side: 'sell', amount: 0.01 });
      expect(sell.data.status).not.toBe('rejected');
    } finally {
      await c1.close();
      await c2.close();
    }
  });

  it('publishes the session journal on the event bus, in journal order, after journaling', async () => {
    const bus = new InProcessBus();
    const seen: BusEvent[] = [];
    await bus.subscribe({ group: 'monitor', consumer: 'm1' }, (m) => void seen.push(m.event));
    const session = new TradingSession({ store: fx.store, clock: { kind: 'replay', at: CLOCK }, bus, busSource: 'desk-1' });
    await call(await connect(session), 'place_order', { agentId: 'trend', symbol: 'BTC/USDT', side: 'buy', amount: 0.5 });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.map((e) => e.type)).toEqual(session.journal.entries().map((e) => e.type));
    expect(seen.find((e) => e.type === 'fill')).toMatchObject({ source: 'desk-1', payload: { agentId: 'trend', price: 196 } });
    await bus.close();
  });
});
