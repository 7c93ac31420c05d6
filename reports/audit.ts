import { InputError } from '../engine/errors.ts';
import { canonicalJson } from '../engine/hash.ts';
import { verify, type ChainHead, type JournalEntry, type Rejection } from '../engine/journal.ts';
import type { DecisionRecord } from '../engine/decision.ts';

/**
 * The decision history of a journal, as an auditor reads it (pure): one record per decision — who
 * decided what, on which factors, weights, confidence and reasoning — with what became of each of
 * its orders (accepted after which risk checks, rejected by which limit, filled how much at what
 * average price and fees, cancelled). Every record names the seq and hash of the journal entries
 * it was built from, and the export carries the chain head, so each line can be checked against
 * the hash-chained journal (`cs journal verify`). The chain is verified before anything is built.
 *
 * Orders whose decision is not in the journal get a record of their own (kind
 * `order-without-decision`), so nothing the agent did is left out of the history.
 */
export type AuditOrderStatus = 'pending' | 'open' | 'partially_filled' | 'filled' | 'rejected' | 'cancelled';

export interface AuditOrder {
  readonly id: string;
  readonly side: string | null;
  readonly type: string | null;
  readonly amount: number | null;
  readonly price: number | null;
  readonly status: AuditOrderStatus;
  /** The risk checks it passed (null when the accept entry did not list them). */
  readonly checks: readonly string[] | null;
  readonly rejection: Rejection | null;
  readonly cancelReason: string | null;
  readonly fills: number;
  readonly filled: number;
  /** Amount-weighted fill price, null when nothing filled. */
  readonly avgPrice: number | null;
  readonly fees: number;
  readonly firstFillTs: number | null;
  readonly lastFillTs: number | null;
}

export interface AuditRecord {
  readonly kind: 'decision' | 'order-without-decision';
  readonly runId: string | null;
  readonly decisionId: string | null;
  readonly ts: number;
  readonly agentId: string;
  readonly symbol: string;
  readonly action: string;
  readonly confidence: number | null;
  readonly factors: Readonly<Record<string, unknown>>;
  readonly weights: Readonly<Record<string, number>>;
  readonly reasoning: string;
  readonly orders: readonly AuditOrder[];
  /** The decision entry (or the first entry of an order without one). */
  readonly entrySeq: number;
  readonly entryHash: string;
  /** Every entry this record was built from, ascending. */
  readonly evidenceSeqs: readonly number[];
}

export interface AuditHistory {
  readonly runId: string | null;
  readonly entries: number;
  readonly head: ChainHead;
  readonly records: readonly AuditRecord[];
}

interface OrderAcc {
  id: string;
  decisionId: string | null;
  agentId: string;
  symbol: string;
  side: string | null;
  type: string | null;
  amount: number | null;
  price: number | null;
  submitted: boolean;
  accepted: boolean;
  checks: readonly string[] | null;
  rejection: Rejection | null;
  cancelled: boolean;
  cancelReason: string | null;
  fills: number;
  filled: number;
  notional: number;
  fees: number;
  firstFillTs: number | null;
  lastFillTs: number | null;
  firstSeq: number;
  firstHash: string;
  firstTs: number;
  seqs: number[];
}

function statusOf(o: OrderAcc): AuditOrderStatus {
  if (o.rejection) return 'rejected';
  const full = o.amount !== null && o.filled >= o.amount * (1 - 1e-12);
  if (o.filled > 0) return full ? 'filled' : o.cancelled ? 'cancelled' : 'partially_filled';
  if (o.cancelled) return 'cancelled';
  return o.accepted ? 'open' : 'pending';
}

function orderView(o: OrderAcc): AuditOrder {
  return {
    id: o.id, side: o.side, type: o.type, amount: o.amount, price: o.price, status: statusOf(o), checks: o.checks, rejection: o.rejection,
    cancelReason: o.cancelReason, fills: o.fills, filled: o.filled, avgPrice: o.filled > 0 ? o.notional / o.filled : null, fees: o.fees,
    firstFillTs: o.firstFillTs, lastFillTs: o.lastFillTs,
  };
}

/**
 * Builds the decision history; a journal whose chain does not verify → InputError saying where.
 * `runId` names the run when the run_start entry does not (the store keys journals by run id).
 */
export function auditHistory(entries: readonly JournalEntry[], source = 'journal', runId: string | null = null): AuditHistory {
  const v = verify(entries);
  if (!v.ok) throw new InputError(`${source}: the journal does not verify (${v.problem} at entry ${v.index + 1}, ${v.message}); no audit export from an altered record`);
  const decisions: { d: DecisionRecord; seq: number; hash: string }[] = [];
  const orders = new Map<string, OrderAcc>();
  const acc = (id: string, e: JournalEntry): OrderAcc => {
    let o = orders.get(id);
    if (!o) {
      o = {
        id, decisionId: null, agentId: '', symbol: '', side: null, type: null, amount: null, price: null, submitted: false, accepted: false,
        checks: null, rejection: null, cancelled: false, cancelReason: null, fills: 0, filled: 0, notional: 0, fees: 0,
        firstFillTs: null, lastFillTs: null, firstSeq: e.seq, firstHash: e.hash, firstTs: e.ts, seqs: [],
      };
      orders.set(id, o);
    }
    o.seqs.push(e.seq);
    return o;
  };
  const describeOrder = (o: OrderAcc, p: { decisionId?: string; agentId?: string; symbol?: string; side?: string; type?: string; amount?: number; price?: number }) => {
    o.decisionId ??= p.decisionId ?? null;
    if (p.agentId !== undefined) o.agentId = p.agentId;
    if (p.symbol !== undefined) o.symbol = p.symbol;
    o.side ??= p.side ?? null;
    o.type ??= p.type ?? null;
    o.amount ??= p.amount ?? null;
    o.price ??= p.price ?? null;
  };
  for (const e of entries) {
    switch (e.type) {
      case 'run_start':
        runId ??= e.payload.runId ?? null;
        break;
      case 'decision':
        decisions.push({ d: e.payload, seq: e.seq, hash: e.hash });
        break;
      case 'order_submitted': {
        const o = acc(e.payload.id, e);
        o.submitted = true;
        describeOrder(o, e.payload);
        break;
      }
      case 'order_accepted': {
        const o = acc(e.payload.id, e);
        o.accepted = true;
        o.checks = e.payload.checks ?? null;
        break;
      }
      case 'order_rejected': {
        const o = acc(e.payload.id, e);
        o.rejection = e.payload.breach;
        describeOrder(o, e.payload);
        break;
      }
      case 'cancel': {
        const o = acc(e.payload.id, e);
        o.cancelled = true;
        o.cancelReason = e.payload.reason ?? null;
        break;
      }
      case 'fill': {
        const f = e.payload;
        const o = acc(f.orderId, e);
        describeOrder(o, { agentId: f.agentId, symbol: f.symbol, side: f.side });
        o.fills++;
        o.filled += f.amount;
        o.notional += f.amount * f.price;
        o.fees += f.fee;
        o.firstFillTs ??= f.ts;
        o.lastFillTs = f.ts;
        break;
      }
      default:
        break;
    }
  }
  const claimed = new Set<string>();
  const records: AuditRecord[] = decisions.map(({ d, seq, hash }) => {
    const ids = [...d.orderIds];
    for (const o of orders.values()) if (o.decisionId === d.id && !ids.includes(o.id)) ids.push(o.id);
    const mine = ids.map((id) => orders.get(id)).filter((o): o is OrderAcc => o !== undefined);
    for (const o of mine) claimed.add(o.id);
    return {
      kind: 'decision', runId, decisionId: d.id, ts: d.ts, agentId: d.agentId, symbol: d.symbol, action: d.action, confidence: d.confidence,
      factors: d.factors, weights: d.weights, reasoning: d.reasoning, orders: mine.map(orderView), entrySeq: seq, entryHash: hash,
      evidenceSeqs: [seq, ...mine.flatMap((o) => o.seqs)].sort((a, b) => a - b),
    };
  });
  for (const o of orders.values()) {
    if (claimed.has(o.id)) continue;
    records.push({
      kind: 'order-without-decision', runId, decisionId: o.decisionId, ts: o.firstTs, agentId: o.agentId, symbol: o.symbol, action: o.side ?? '',
      confidence: null, factors: {}, weights: {}, reasoning: '', orders: [orderView(o)], entrySeq: o.firstSeq, entryHash: o.firstHash,
      evidenceSeqs: [...o.seqs].sort((a, b) => a - b),
    });
  }
  records.sort((a, b) => a.entrySeq - b.entrySeq);
  return { runId, entries: entries.length, head: v.head, records };
}

// ---------------------------------------------------------------------------------------------
// Formats

export type AuditFormat = 'jsonl' | 'csv';
export const AUDIT_FORMATS: readonly AuditFormat[] = ['jsonl', 'csv'];

/**
 * JSONL: a first line describing the export and the chain it came from, then one line per record
 * (canonical JSON: sorted keys, so the same history always gives the same bytes).
 */
export function auditJsonl(h: AuditHistory): string {
  const header = { kind: 'audit-export', version: 1, runId: h.runId, journalEntries: h.entries, head: h.head, records: h.records.length };
  return [header, ...h.records].map((r) => canonicalJson(r)).join('\n') + '\n';
}

export const AUDIT_CSV_COLUMNS = [
  'kind', 'run_id', 'decision_id', 'time', 'ts', 'agent_id', 'symbol', 'action', 'confidence', 'factors', 'weights', 'reasoning',
  'order_ids', 'order_statuses', 'risk_checks', 'rejections', 'filled', 'avg_price', 'fees', 'entry_seq', 'entry_hash', 'evidence_seqs',
  'journal_entries', 'journal_head_seq', 'journal_head_hash',
] as const;

function csvCell(v: string): string {
  // Reasoning text and factor names come from strategies and agents: never let a spreadsheet run them.
  const safe = /^[=+\-@\t\r]/.test(v) && !/^-?\d/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

const num = (x: number | null): string => (x === null || !Number.isFinite(x) ? '' : String(x));

/** CSV: one row per record, nested values as canonical JSON text, the chain head on every row. */
export function auditCsv(h: AuditHistory): string {
  const lines = [AUDIT_CSV_COLUMNS.join(',')];
  for (const r of h.records) {
    const filled = r.orders.reduce((s, o) => s + o.filled, 0);
    const notional = r.orders.reduce((s, o) => s + (o.avgPrice ?? 0) * o.filled, 0);
    const cells = [
      r.kind, r.runId ?? '', r.decisionId ?? '', new Date(r.ts).toISOString(), String(r.ts), r.agentId, r.symbol, r.action, num(r.confidence),
      canonicalJson(r.factors), canonicalJson(r.weights), r.reasoning,
      r.orders.map((o) => o.id).join(';'),
      r.orders.map((o) => `${o.id}:${o.status}`).join(';'),
      r.orders.map((o) => `${o.id}:${o.checks === null ? '?' : o.checks.join('|')}`).join(';'),
      r.orders.filter((o) => o.rejection).map((o) => `${o.id}:${o.rejection!.limit}: ${o.rejection!.message}`).join(';'),
      num(filled), filled > 0 ? String(notional / filled) : '', num(r.orders.reduce((s, o) => s + o.fees, 0)),
      String(r.entrySeq), r.entryHash, r.evidenceSeqs.join(';'),
      String(h.entries), String(h.head.seq), h.head.hash,
    ];
    lines.push(cells.map(csvCell).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

export function formatAudit(h: AuditHistory, format: AuditFormat): string {
  return format === 'csv' ? auditCsv(h) : auditJsonl(h);
}
