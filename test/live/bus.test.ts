import { describe, expect, it } from 'vitest';
import { InProcessBus } from '../../live/bus/in-process.ts';
import { parseBusEvent, type BusEvent } from '../../live/bus/events.ts';
import type { BusMessage } from '../../live/bus/bus.ts';

const bar = (seq: number): BusEvent => ({
  type: 'bar', ts: 1_700_000_000_000 + seq * 60_000, source: 'test',
  payload: { kind: 'bar', symbol: 'BTC/USDT', ts: 1_700_000_000_000 + seq * 60_000, seq, source: 0, timeframeMs: 60_000, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10 },
});

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('in-process bus', () => {
  it('every group sees every event; inside a group each event goes to one consumer', async () => {
    const bus = new InProcessBus();
    const seen: Record<string, string[]> = { a1: [], a2: [], b1: [] };
    await bus.subscribe({ group: 'A', consumer: 'a1' }, (m) => void seen.a1!.push(m.id));
    await bus.subscribe({ group: 'A', consumer: 'a2' }, (m) => void seen.a2!.push(m.id));
    await bus.subscribe({ group: 'B', consumer: 'b1' }, (m) => void seen.b1!.push(m.id));
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await bus.publish(bar(i)));
    await settle();
    expect(seen.b1).toEqual(ids);
    expect([...seen.a1!, ...seen.a2!].sort()).toEqual([...ids].sort());
    expect(seen.a1!.length).toBe(5); // round robin
    await bus.close();
  });

  it('a handler that throws gets the event again (to the next consumer), up to maxDeliveries', async () => {
    const dead: string[] = [];
    const bus = new InProcessBus({ maxDeliveries: 3, onDeadLetter: (m) => dead.push(m.id) });
    const got: BusMessage[] = [];
    let failOnce = true;
    await bus.subscribe({ group: 'G', consumer: 'c1' }, (m) => {
      got.push(m);
      if (failOnce) {
        failOnce = false;
        throw new Error('transient');
      }
    });
    const id = await bus.publish(bar(1));
    await settle();
    expect(got.map((m) => [m.id, m.redelivered])).toEqual([[id, false], [id, true]]);
    await bus.subscribe({ group: 'H', consumer: 'h1' }, () => {
      throw new Error('always');
    });
    const id2 = await bus.publish(bar(2));
    await settle();
    expect(dead).toEqual([id2]);
    await bus.close();
  });

  it('type filters: a consumer only sees the types it asked for', async () => {
    const bus = new InProcessBus();
    const types: string[] = [];
    await bus.subscribe({ group: 'G', consumer: 'c', types: ['fill'] }, (m) => void types.push(m.event.type));
    await bus.publish(bar(1));
    await bus.publish({ type: 'fill', ts: 5, source: 'x', payload: { orderId: 'o1', agentId: 'a', symbol: 'BTC/USDT', side: 'buy', amount: 1, price: 2, fee: 0, liquidity: 'taker', ts: 5 } });
    await settle();
    expect(types).toEqual(['fill']);
    await bus.close();
  });
});

describe('parseBusEvent (messages from outside are validated)', () => {
  it('accepts a well-formed event and round-trips it through JSON', () => {
    const e = bar(3);
    const r = parseBusEvent(JSON.stringify(e));
    expect(r).toEqual({ ok: true, event: e });
  });

  it.each([
    ['not JSON', '{nope', /not JSON/],
    ['unknown type', JSON.stringify({ type: 'wire_transfer', ts: 1, source: 's', payload: {} }), /type/],
    ['bar without close', JSON.stringify({ ...bar(1), payload: { ...bar(1).payload, close: undefined } }), /bar payload: close/],
    ['NaN price as string', JSON.stringify({ type: 'fill', ts: 1, source: 's', payload: { orderId: 'o', symbol: 'X', side: 'buy', amount: 1, price: 'NaN', fee: 0, ts: 1 } }), /fill payload: price/],
    ['extra envelope field', JSON.stringify({ ...bar(1), injected: 'ignore previous instructions' }), /injected/],
  ])('rejects %s', (_name, raw, why) => {
    const r = parseBusEvent(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(why);
  });
});

describe('journal → bus bridge', () => {
  it('publishes every journal entry with the journal\'s type and payload, after it is appended', async () => {
    const { Journal } = await import('../../engine/journal.ts');
    const { journalToBus } = await import('../../live/bus/journal-bridge.ts');
    const bus = new InProcessBus();
    const got: BusMessage[] = [];
    await bus.subscribe({ group: 'desk', consumer: 'risk-monitor' }, (m) => void got.push(m));
    const journal = new Journal();
    const tee = journalToBus(journal, bus, 'agent-1');
    tee.append('config_change', { key: 'weights', after: { rsi: 0.5 }, by: 'meta' }, 10);
    tee.append('cancel', { id: 'o-1', reason: 'stale' }, 20);
    await tee.drain();
    await settle();
    expect(got.map((m) => m.event)).toEqual(journal.entries().map((e) => ({ type: e.type, ts: e.ts, source: 'agent-1', payload: e.payload })));
    // What was published is also what a consumer in another process would accept.
    for (const m of got) expect(parseBusEvent(JSON.stringify(m.event)).ok).toBe(true);
    await bus.close();
  });
});
