import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { fold, GENESIS_HASH, Journal, makeEntry, verify, why, type JournalEntry } from '../../engine/journal.ts';
import { clone, sampleJournal, T0 } from './journal.support.ts';

describe('journal entries', () => {
  it('hash = sha256 of the canonical {seq, ts, type, payload, prevHash}; genesis prevHash is 64 zeros', () => {
    const j = new Journal();
    const e = j.append('config_change', { key: 'maxDrawdown', before: 0.2, after: 0.1, by: 'alice' }, 5);
    expect(e.seq).toBe(1);
    expect(e.prevHash).toBe('0'.repeat(64));
    // Written out by hand: keys sorted, no spaces.
    const text = '{"payload":{"after":0.1,"before":0.2,"by":"alice","key":"maxDrawdown"},"prevHash":"' + GENESIS_HASH + '","seq":1,"ts":5,"type":"config_change"}';
    expect(e.hash).toBe(createHash('sha256').update(text).digest('hex'));
    const e2 = j.append('cancel', { id: 'o1' }, 6);
    expect([e2.seq, e2.prevHash]).toEqual([2, e.hash]);
  });

  it('stores a copy: mutating the payload after append cannot change the entry', () => {
    const j = new Journal();
    const payload = { key: 'k', after: { x: 1 }, by: 'me' };
    j.append('config_change', payload, 1);
    payload.after.x = 2;
    expect(verify(j.entries()).ok).toBe(true);
    expect((j.entries()[0]!.payload as { after: { x: number } }).after.x).toBe(1);
  });

  it('round-trips through JSON unchanged, NaN included', () => {
    const e = makeEntry({ seq: 0, hash: GENESIS_HASH }, 'run_end', { finalEquity: Number.NaN }, 1);
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
    expect(verify([JSON.parse(JSON.stringify(e))]).ok).toBe(true);
  });
});

describe('verify', () => {
  const base = sampleJournal().entries();

  it('accepts an untouched journal and reports its head', () => {
    expect(verify(base)).toEqual({ ok: true, count: base.length, head: { seq: base.length, hash: base.at(-1)!.hash } });
  });

  it('detects a changed entry', () => {
    const es = clone(base);
    (es[4]!.payload as { price: number }).price = 99;
    expect(verify(es)).toMatchObject({ ok: false, index: 4, seq: 5, problem: 'hash-mismatch' });
  });

  it('detects a removed entry', () => {
    const es = clone(base);
    es.splice(6, 1);
    expect(verify(es)).toMatchObject({ ok: false, index: 6, seq: 8, problem: 'seq-gap' });
  });

  it('detects an inserted entry (valid hash of its own)', () => {
    const es = clone(base);
    const forged = makeEntry(es[5]!, 'fill', { ...(es[4]!.payload as object), amount: 50 } as never, es[5]!.ts);
    es.splice(6, 0, forged);
    expect(verify(es)).toMatchObject({ ok: false, index: 7, seq: 7, problem: 'reordered' });
  });

  it('detects an inserted entry with the rest of the chain rebuilt, against a known head', () => {
    const es = clone(base);
    const j = new Journal(es[5]!);
    j.append('fill', { ...(es[4]!.payload as object), amount: 50 } as never, es[5]!.ts);
    for (const e of es.slice(6)) j.append(e.type, e.payload as never, e.ts);
    const forged = [...es.slice(0, 6), ...j.entries()];
    expect(verify(forged).ok).toBe(true); // a consistent rewrite: only an external anchor catches it
    expect(verify(forged, { expectedHead: { seq: base.length, hash: base.at(-1)!.hash } })).toMatchObject({ ok: false, problem: 'head-mismatch' });
  });

  it('detects reordered entries', () => {
    const es = clone(base);
    [es[3], es[4]] = [es[4]!, es[3]!];
    expect(verify(es)).toMatchObject({ ok: false, index: 3, problem: 'reordered' });
  });

  it('detects a cut tail against a known head, and a cut head by the genesis link', () => {
    expect(verify(base.slice(0, -2), { expectedHead: { seq: base.length, hash: base.at(-1)!.hash } })).toMatchObject({ problem: 'head-mismatch' });
    const tail = clone(base.slice(3));
    expect(verify(tail)).toMatchObject({ ok: false, index: 0, problem: 'seq-gap' });
    expect(verify(tail, { from: base[2]! }).ok).toBe(true);
  });

  it('detects any single-field change anywhere (property)', () => {
    const fields = ['seq', 'ts', 'type', 'payload', 'prevHash', 'hash'] as const;
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.constantFrom(...fields), fc.integer({ min: 1, max: 1000 }), (i, field, k) => {
        const es = clone(base) as unknown as Record<string, unknown>[];
        const e = es[i]!;
        if (field === 'seq' || field === 'ts') e[field] = (e[field] as number) + k;
        else if (field === 'type') e.type = e.type === 'fill' ? 'cancel' : 'fill';
        else if (field === 'payload') e.payload = { ...(e.payload as object), tampered: k };
        else e[field] = (e[field] as string).replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
        const r = verify(es as unknown as JournalEntry[]);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.index).toBeLessThanOrEqual(i + 1);
      }),
      { numRuns: 300, seed: 3 },
    );
  });
});

describe('fold', () => {
  it('rebuilds cash, positions, lots, open orders and kill-switch state', () => {
    const s = fold(sampleJournal().entries());
    // Hand-worked: 10 000 − 100 − 0.1 (buy) + 44 − 0.044 (sell 0.4 @110) = 9 943.856.
    expect(s.portfolio.cash).toBeCloseTo(9943.856, 9);
    expect(s.portfolio.fees).toBeCloseTo(0.144, 12);
    const pos = s.portfolio.position('BTC/USDT');
    expect(pos.qty).toBeCloseTo(0.6, 12);
    expect(pos.realizedPnl).toBeCloseTo(4, 9); // 0.4 × (110 − 100)
    expect(s.portfolio.equity()).toBeCloseTo(9943.856 + 0.6 * 112, 9); // marked at run_end's 112
    expect(s.portfolio.lots('BTC/USDT').map((l) => [+l.qty.toFixed(12), l.price])).toEqual([[0.1, 100], [0.5, 100]]);
    expect([...s.openOrders.keys()]).toEqual(['o3']);
    expect(s.openOrders.get('o3')).toMatchObject({ status: 'open', filled: 0, order: { price: 95 } });
    expect(s.killSwitch.agents.a1).toMatchObject({ state: 'REDUCING', by: 'alice' });
    expect(s.run).toMatchObject({ runId: 'r1', seed: 7 });
    expect(s.counts).toMatchObject({ fill: 3, decision: 4, order_rejected: 1 });
    expect(s.head.seq).toBe(sampleJournal().entries().length);
  });

  it('gives the same state from a JSON round trip', () => {
    const es = sampleJournal().entries();
    expect(fold(clone(es)).portfolio.snapshot()).toEqual(fold(es).portfolio.snapshot());
  });
});

describe('why', () => {
  it('answers with the decision, its factors, the checks passed and the fills', () => {
    const es = sampleJournal().entries();
    const r = why(es, { orderId: 'o1' })!;
    expect(r.decision).toMatchObject({ id: 'd1', factors: { rsi: 27.4, trendUp: true }, weights: { rsi: 0.7 }, confidence: 62, reasoning: 'RSI oversold' });
    expect(r.accepted?.checks).toContain('global.maxPositionNotional');
    expect(r.fills.map((f) => f.amount)).toEqual([0.5, 0.5]);
    expect(r.rejected).toBeNull();
    expect(why(es, { orderId: 'o4' })!.rejected?.breach.limit).toBe('maxPositionNotional');
    expect(why(es, { ts: T0 + 179_999 })!.orderId).toBe('o1'); // the last order submitted by then
    expect(why(es, { ts: T0 + 180_000 })!.orderId).toBe('o2');
    expect(why(es, { orderId: 'nope' })).toBeNull();
    expect(why(es, { ts: T0 })).toBeNull();
  });
});
