import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../engine/errors.ts';
import { entryHash, Journal } from '../../engine/journal.ts';
import { AUDIT_CSV_COLUMNS, auditCsv, auditHistory, auditJsonl } from '../../reports/audit.ts';
import { clone, sampleJournal, T0 } from '../engine/journal.support.ts';

/**
 * The sample journal (test/engine/journal.support.ts), entry by entry:
 *  1 run_start r1 · 2 decision d1 · 3 submit o1 (buy 1) · 4 accept o1 · 5 fill o1 0.5 @100 fee 0.05
 *  6 fill o1 0.5 @100 fee 0.05 · 7 decision d2 · 8 submit o2 (sell 0.4) · 9 accept o2
 * 10 fill o2 0.4 @110 fee 0.044 · 11 decision d3 · 12 submit o3 (limit buy 0.2 @95) · 13 accept o3
 * 14 decision d4 · 15 reject o4 (maxPositionNotional) · 16 killswitch · 17 run_end
 */
const entries = sampleJournal().entries();

describe('audit history', () => {
  const h = auditHistory(entries);

  it('one record per decision, with the fate of each order and the entries it came from', () => {
    expect(h.runId).toBe('r1');
    expect(h.head).toEqual({ seq: 17, hash: entries[16]!.hash });
    const brief = h.records.map((r) => [r.kind, r.decisionId, r.action, r.entrySeq, r.evidenceSeqs, r.orders.map((o) => [o.id, o.status, o.filled, o.fees])]);
    expect(brief).toEqual([
      ['decision', 'd1', 'buy', 2, [2, 3, 4, 5, 6], [['o1', 'filled', 1, 0.1]]],
      ['decision', 'd2', 'sell', 7, [7, 8, 9, 10], [['o2', 'filled', 0.4, 0.044]]],
      ['decision', 'd3', 'buy', 11, [11, 12, 13], [['o3', 'open', 0, 0]]],
      ['decision', 'd4', 'buy', 14, [14, 15], [['o4', 'rejected', 0, 0]]],
    ]);
    const d1 = h.records[0]!;
    expect(d1).toMatchObject({ agentId: 'a1', symbol: 'BTC/USDT', confidence: 62, factors: { rsi: 27.4, trendUp: true }, weights: { rsi: 0.7, trend: 0.3 }, reasoning: 'RSI oversold' });
    expect(d1.orders[0]).toMatchObject({ avgPrice: 100, checks: ['killSwitch', 'global.maxPositionNotional'], fills: 2, firstFillTs: T0 + 120_000 });
    expect(h.records[3]!.orders[0]!.rejection).toMatchObject({ limit: 'maxPositionNotional', message: 'too big' });
    // each record points at real entries: its hash is the decision entry's own
    for (const r of h.records) expect(r.entryHash).toBe(entryHash(entries[r.entrySeq - 1]!));
  });

  it('an order whose decision is not journaled still gets a record', () => {
    const j = new Journal();
    j.append('order_submitted', { id: 'x1', agentId: 'a9', decisionId: 'missing', symbol: 'ETH/USDT', side: 'sell', type: 'market', amount: 2 }, T0);
    j.append('fill', { orderId: 'x1', agentId: 'a9', symbol: 'ETH/USDT', side: 'sell', amount: 1, price: 3000, fee: 3, liquidity: 'taker', ts: T0 + 1 }, T0 + 1);
    j.append('cancel', { id: 'x1', reason: 'kill switch' }, T0 + 2);
    const r = auditHistory(j.entries()).records;
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'order-without-decision', decisionId: 'missing', agentId: 'a9', action: 'sell', evidenceSeqs: [1, 2, 3] });
    expect(r[0]!.orders[0]).toMatchObject({ status: 'cancelled', filled: 1, avgPrice: 3000, cancelReason: 'kill switch' });
  });

  it('an altered journal is refused, naming the entry', () => {
    const bad = clone(entries);
    (bad[9]!.payload as { price: number }).price = 1;
    expect(() => auditHistory(bad, 'run r1')).toThrow(InputError);
    expect(() => auditHistory(bad, 'run r1')).toThrow(/run r1: the journal does not verify \(hash-mismatch at entry 10/);
  });
});

describe('audit formats', () => {
  const h = auditHistory(entries);

  it('JSONL: a header with the chain head, then the records; the same history gives the same bytes', () => {
    const lines = auditJsonl(h).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ kind: 'audit-export', version: 1, runId: 'r1', journalEntries: 17, head: h.head, records: 4 });
    expect(lines.slice(1).map((r) => r.decisionId)).toEqual(['d1', 'd2', 'd3', 'd4']);
    expect(auditJsonl(auditHistory(clone(entries)))).toBe(auditJsonl(h));
  });

  it('CSV, read back by DuckDB\'s CSV reader: one row per record, nested values as JSON text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-audit-'));
    try {
      const file = join(dir, 'a.csv');
      writeFileSync(file, auditCsv(h));
      const db = await DuckDBInstance.create(':memory:');
      const c = await db.connect();
      const r = await c.runAndReadAll(`SELECT * FROM read_csv('${file}', header = true, all_varchar = true)`);
      const rows = r.getRowObjectsJS() as Record<string, string>[];
      c.closeSync();
      db.closeSync();
      expect(Object.keys(rows[0]!)).toEqual([...AUDIT_CSV_COLUMNS]);
      expect(rows.map((x) => [x.decision_id, x.order_statuses, x.filled, x.entry_seq, x.evidence_seqs])).toEqual([
        ['d1', 'o1:filled', '1', '2', '2;3;4;5;6'],
        ['d2', 'o2:filled', '0.4', '7', '7;8;9;10'],
        ['d3', 'o3:open', '0', '11', '11;12;13'],
        ['d4', 'o4:rejected', '0', '14', '14;15'],
      ]);
      expect(JSON.parse(rows[0]!.factors!)).toEqual({ rsi: 27.4, trendUp: true });
      expect(rows[0]!.risk_checks).toBe('o1:killSwitch|global.maxPositionNotional');
      expect(rows[3]!.rejections).toBe('o4:maxPositionNotional: too big');
      expect(new Set(rows.map((x) => x.journal_head_hash))).toEqual(new Set([h.head.hash]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('CSV: reasoning that a spreadsheet would run as a formula is defused', () => {
    const j = new Journal();
    j.append('decision', { id: 'd', ts: T0, agentId: 'llm', symbol: 'BTC/USDT', action: 'hold', factors: {}, weights: {}, confidence: 10, reasoning: '=cmd|"/c calc"!A1', orderIds: [] }, T0);
    const row = auditCsv(auditHistory(j.entries())).split('\r\n')[1]!;
    expect(row).toContain(`"'=cmd|""/c calc""!A1"`);
  });
});
