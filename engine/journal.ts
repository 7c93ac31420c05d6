import { canonicalJson, sha256Hex } from './hash.ts';
import { Portfolio, type LotMethod, type PortfolioSnapshot } from './portfolio.ts';
import { KillSwitch, type KillSwitchStatus, type KillTransition } from './killswitch.ts';
import type { Breach } from './risk.ts';
import type { DecisionRecord } from './decision.ts';
import type { Fill, OrderRequest } from './orders.ts';

/**
 * The decision audit journal: an append-only, hash-chained sequence of entries
 *   { seq, ts, type, payload, prevHash, hash },  hash = sha256(canonicalJson({seq, ts, type, payload, prevHash}))
 * with seq counting from 1 and the first prevHash = 64 zeros (GENESIS_HASH).
 *
 * - `Journal` (in memory) appends; the stored payload is a deep copy made from its canonical JSON,
 *   so later mutation by the caller cannot change a hashed entry, and an entry read back from a
 *   JSONL file or DuckDB is identical to the one appended (NaN/±Infinity become strings, −0 → 0).
 * - `verify(entries)` says where a changed, removed, inserted or reordered entry is. A chain whose
 *   tail was cut is only detectable against a known head: pass `expectedHead`.
 * - `fold(entries)` rebuilds portfolio (through Portfolio.applyFill), lots, open orders and the
 *   kill-switch state. Prices of the final marks come from `run_end.marks` when present.
 * - `why(entries, orderId | ts)` gathers the decision, the risk checks, the fills of one order.
 * Storage (DuckDB table, fsync'd JSONL file) lives in datasets/journal-store.ts.
 */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * An order as journaled when it is submitted: the request, who sent it and why (the engine
 * journals exactly this shape; the entry's ts is the submit time).
 */
export interface JournalOrder extends OrderRequest {
  readonly id: string;
  readonly agentId: string;
  readonly decisionId: string;
  readonly ocoGroup?: string;
  readonly parentId?: string;
}

/** A rejection names at least the limit and a message; the risk engine adds the numbers (Breach). */
export type Rejection = Pick<Breach, 'limit' | 'message'> & Partial<Breach>;

/**
 * Run metadata. The engine knows strategy, params, seed, cash and lot method; the lab that
 * starts the run adds the run id, code hash and dataset hash.
 */
export interface RunStartPayload {
  readonly runId?: string;
  readonly codeHash?: string;
  readonly datasetHash?: string;
  readonly strategy?: string;
  readonly agentId?: string;
  readonly params: unknown;
  readonly seed: number;
  /** Starting cash. */
  readonly cash: number;
  readonly lotMethod: LotMethod;
  readonly symbols?: readonly string[];
  readonly riskConfig?: unknown;
}

export interface RunEndPayload {
  /** The engine's final portfolio snapshot; its lastPrice per symbol marks the folded positions. */
  readonly final?: PortfolioSnapshot;
  readonly bars?: number;
  readonly finalEquity?: number;
  readonly resultHash?: string;
  /** Last price per symbol, when `final` is not given. */
  readonly marks?: Readonly<Record<string, number>>;
}

export interface JournalPayloads {
  decision: DecisionRecord;
  order_submitted: JournalOrder;
  /** Refused before reaching the broker (risk, market precision) or by the broker. */
  order_rejected: Partial<JournalOrder> & { readonly id: string; readonly breach: Rejection };
  /** `checks`: the risk checks it passed (RiskEngine.appliedChecks), when known. */
  order_accepted: { readonly id: string; readonly checks?: readonly string[] };
  fill: Fill;
  cancel: { readonly id: string; readonly reason?: string };
  killswitch: KillTransition;
  override: KillTransition;
  config_change: { readonly key: string; readonly before?: unknown; readonly after: unknown; readonly by: string; readonly reason?: string };
  run_start: RunStartPayload;
  run_end: RunEndPayload;
}

export type EntryType = keyof JournalPayloads;
export const ENTRY_TYPES: readonly EntryType[] = [
  'decision', 'order_submitted', 'order_rejected', 'order_accepted', 'fill', 'cancel',
  'killswitch', 'override', 'config_change', 'run_start', 'run_end',
];

export type JournalEntry = {
  [T in EntryType]: {
    readonly seq: number;
    readonly ts: number;
    readonly type: T;
    readonly payload: JournalPayloads[T];
    readonly prevHash: string;
    readonly hash: string;
  };
}[EntryType];

export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

export const GENESIS: ChainHead = Object.freeze({ seq: 0, hash: GENESIS_HASH });

/** The exact bytes that are hashed; keys in canonical (sorted) order. */
function hashInput(seq: number, ts: number, type: string, payloadJson: string, prevHash: string): string {
  return `{"payload":${payloadJson},"prevHash":${JSON.stringify(prevHash)},"seq":${canonicalJson(seq)},"ts":${canonicalJson(ts)},"type":${JSON.stringify(type)}}`;
}

export function entryHash(e: { seq: number; ts: number; type: string; payload: unknown; prevHash: string }): string {
  return sha256Hex(hashInput(e.seq, e.ts, e.type, canonicalJson(e.payload), e.prevHash));
}

/** The entry that follows `prev`; pure. */
export function makeEntry<T extends EntryType>(prev: ChainHead, type: T, payload: JournalPayloads[T], ts: number): JournalEntry {
  if (!Number.isFinite(ts)) throw new RangeError(`journal ts must be finite, got ${ts}`);
  const seq = prev.seq + 1;
  const pj = canonicalJson(payload);
  const hash = sha256Hex(hashInput(seq, ts, type, pj, prev.hash));
  return { seq, ts, type, payload: JSON.parse(pj), prevHash: prev.hash, hash } as JournalEntry;
}

export class Journal {
  private readonly list: JournalEntry[] = [];
  private last: ChainHead;

  /** Start a new chain, or continue one from its head (e.g. after reloading). */
  constructor(head: ChainHead = GENESIS) {
    this.last = head;
  }

  append<T extends EntryType>(type: T, payload: JournalPayloads[T], ts: number): JournalEntry {
    const e = makeEntry(this.last, type, payload, ts);
    this.list.push(e);
    this.last = e;
    return e;
  }

  entries(): readonly JournalEntry[] {
    return this.list;
  }

  get head(): ChainHead {
    return { seq: this.last.seq, hash: this.last.hash };
  }
}

export type VerifyProblem = 'hash-mismatch' | 'broken-link' | 'seq-gap' | 'reordered' | 'head-mismatch' | 'malformed';

export type VerifyResult =
  | { readonly ok: true; readonly count: number; readonly head: ChainHead }
  /** `index` is 0-based (the JSONL line is index + 1); `message` says what is wrong, not where. */
  | { readonly ok: false; readonly index: number; readonly seq: number; readonly problem: VerifyProblem; readonly message: string };

export interface VerifyOptions {
  /** The head the chain continues from (default genesis). */
  readonly from?: ChainHead;
  /** A head recorded elsewhere (e.g. in run results): detects a cut tail. */
  readonly expectedHead?: ChainHead;
}

const HEX64 = /^[0-9a-f]{64}$/;

export function verify(entries: readonly JournalEntry[], opts: VerifyOptions = {}): VerifyResult {
  let prev = opts.from ?? GENESIS;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const bad = (problem: VerifyProblem, message: string): VerifyResult => ({
      ok: false, index: i, seq: e?.seq, problem, message: `seq ${e?.seq}: ${message}`,
    });
    if (!e || typeof e !== 'object' || !Number.isInteger(e.seq) || !Number.isFinite(e.ts) || typeof e.type !== 'string' ||
        !HEX64.test(e.hash) || !HEX64.test(e.prevHash) || !ENTRY_TYPES.includes(e.type)) {
      return bad('malformed', 'not a journal entry (seq, ts, type, payload, prevHash, hash)');
    }
    if (entryHash(e) !== e.hash) return bad('hash-mismatch', 'content does not match its hash (the entry was changed)');
    const expected = prev.seq + 1;
    if (e.seq !== expected) {
      if (e.seq < expected) return bad('reordered', `seq ${e.seq} comes after seq ${prev.seq} (reordered or duplicated)`);
      const later = entries.findIndex((x, j) => j > i && x?.seq === expected);
      return later >= 0
        ? bad('reordered', `expected seq ${expected}, which appears later at entry ${later}`)
        : bad('seq-gap', `expected seq ${expected}: entries ${expected}..${e.seq - 1} are missing`);
    }
    if (e.prevHash !== prev.hash) {
      return bad('broken-link', i === 0 && prev === GENESIS
        ? 'the first entry does not start from the genesis hash'
        : `prevHash does not match the hash of seq ${prev.seq} (an entry was inserted or replaced)`);
    }
    prev = e;
  }
  const head = { seq: prev.seq, hash: prev.hash };
  const want = opts.expectedHead;
  if (want && (want.seq !== head.seq || want.hash !== head.hash)) {
    return {
      ok: false, index: entries.length, seq: head.seq, problem: 'head-mismatch',
      message: `the chain ends at seq ${head.seq} but seq ${want.seq} with hash ${want.hash.slice(0, 12)}… was expected (entries cut from the end?)`,
    };
  }
  return { ok: true, count: entries.length, head };
}

/**
 * A kill-switch listener that journals every transition: `new KillSwitch({ onTransition:
 * journalKillSwitch(journal) })`. Trips are `killswitch` entries, loosenings `override` entries.
 */
export function journalKillSwitch(journal: { append(type: 'killswitch' | 'override', payload: KillTransition, ts: number): unknown }): (t: KillTransition) => void {
  const rank = { ACTIVE: 0, REDUCING: 1, HALTED: 2 } as const;
  return (t) => void journal.append(rank[t.to] > rank[t.from] ? 'killswitch' : 'override', t, t.ts);
}

// ---------------------------------------------------------------------------------------------
// Fold

/** An open order in the folded state; `order` is the journaled payload itself (not copied). */
export interface FoldedOrder {
  readonly order: JournalOrder;
  status: 'pending' | 'open';
  filled: number;
}

export interface JournalState {
  readonly run: RunStartPayload | null;
  readonly end: RunEndPayload | null;
  readonly portfolio: Portfolio;
  /** Orders submitted and not yet rejected, cancelled or completely filled, by id. */
  readonly openOrders: ReadonlyMap<string, FoldedOrder>;
  readonly killSwitch: KillSwitchStatus;
  readonly head: ChainHead;
  readonly counts: Readonly<Record<EntryType, number>>;
}

export interface FoldOptions {
  /** Used when the journal has no run_start (e.g. a live journal started elsewhere). */
  readonly cash?: number;
  readonly lotMethod?: LotMethod;
}

/**
 * Rebuild state from entries (trusting them: run `verify` first when they come from storage).
 * The first run_start sets cash and lot method; later run_starts (restarted sessions of the same
 * live account) keep the folded portfolio.
 */
export function fold(entries: readonly JournalEntry[], opts: FoldOptions = {}): JournalState {
  let run: RunStartPayload | null = null;
  let end: RunEndPayload | null = null;
  let portfolio: Portfolio | null = null;
  const ks = new KillSwitch();
  const open = new Map<string, FoldedOrder>();
  const counts = Object.fromEntries(ENTRY_TYPES.map((t) => [t, 0])) as Record<EntryType, number>;
  const pf = (): Portfolio => (portfolio ??= new Portfolio({ cash: opts.cash ?? 0, lotMethod: opts.lotMethod ?? 'fifo' }));
  let head: ChainHead = GENESIS;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    counts[e.type]++;
    switch (e.type) {
      case 'run_start':
        run ??= e.payload;
        if (portfolio === null) {
          portfolio = new Portfolio({ cash: e.payload.cash, lotMethod: e.payload.lotMethod });
          // Books in the engine's order, so the snapshot lists positions as the run did.
          for (const sym of e.payload.symbols ?? []) portfolio.symbolIndex(sym);
        }
        break;
      case 'order_submitted':
        open.set(e.payload.id, { order: e.payload, status: 'pending', filled: 0 });
        break;
      case 'order_accepted': {
        const o = open.get(e.payload.id);
        if (o) o.status = 'open';
        break;
      }
      case 'order_rejected':
      case 'cancel':
        open.delete(e.payload.id);
        break;
      case 'fill': {
        pf().applyFill(e.payload);
        const o = open.get(e.payload.orderId);
        if (o) {
          o.filled += e.payload.amount;
          if (o.filled >= o.order.amount * (1 - 1e-12)) open.delete(e.payload.orderId);
        }
        break;
      }
      case 'killswitch':
      case 'override':
        ks.replay(e.payload);
        break;
      case 'run_end':
        end = e.payload;
        for (const p of e.payload.final?.positions ?? []) if (p.lastPrice === p.lastPrice) pf().mark(p.symbol, p.lastPrice);
        for (const [sym, px] of Object.entries(e.payload.marks ?? {})) pf().mark(sym, px);
        break;
      case 'decision':
      case 'config_change':
        break;
    }
    head = e;
  }
  return { run, end, portfolio: pf(), openOrders: open, killSwitch: ks.status(), head: { seq: head.seq, hash: head.hash }, counts };
}

// ---------------------------------------------------------------------------------------------
// Why

export interface WhyReport {
  readonly orderId: string;
  readonly order: JournalOrder | null;
  readonly decision: DecisionRecord | null;
  /** `checks` is null when the entry did not list them. */
  readonly accepted: { readonly ts: number; readonly checks: readonly string[] | null } | null;
  readonly rejected: { readonly ts: number; readonly breach: Rejection } | null;
  readonly fills: readonly Fill[];
  readonly cancelled: { readonly ts: number; readonly reason?: string } | null;
  /** seq of every entry used, so the answer can be checked against the chain. */
  readonly seqs: readonly number[];
}

/**
 * Everything the journal knows about one order. Given a time instead of an order id, the order is
 * the last one submitted at or before that time.
 */
export function why(entries: readonly JournalEntry[], query: { orderId: string } | { ts: number }): WhyReport | null {
  let orderId: string | null = 'orderId' in query ? query.orderId : null;
  if (orderId === null) {
    const t = (query as { ts: number }).ts;
    for (const e of entries) {
      if (e.ts > t) break;
      if (e.type === 'order_submitted' || e.type === 'order_rejected') orderId = e.payload.id;
    }
    if (orderId === null) return null;
  }
  let order: JournalOrder | null = null;
  let accepted: WhyReport['accepted'] = null;
  let rejected: WhyReport['rejected'] = null;
  let cancelled: WhyReport['cancelled'] = null;
  const fills: Fill[] = [];
  const seqs: number[] = [];
  for (const e of entries) {
    if (e.type === 'order_submitted' && e.payload.id === orderId) order = e.payload;
    else if (e.type === 'order_accepted' && e.payload.id === orderId) accepted = { ts: e.ts, checks: e.payload.checks ?? null };
    else if (e.type === 'order_rejected' && e.payload.id === orderId) {
      rejected = { ts: e.ts, breach: e.payload.breach };
      // Refused before the broker: the rejection itself carries the order.
      if (order === null && e.payload.symbol !== undefined) order = e.payload as JournalOrder;
    } else if (e.type === 'cancel' && e.payload.id === orderId) cancelled = { ts: e.ts, ...(e.payload.reason ? { reason: e.payload.reason } : {}) };
    else if (e.type === 'fill' && e.payload.orderId === orderId) fills.push(e.payload);
    else continue;
    seqs.push(e.seq);
  }
  if (order === null && seqs.length === 0) return null;
  let decision: DecisionRecord | null = null;
  if (order) {
    for (const e of entries) {
      if (e.type === 'decision' && (e.payload.id === order.decisionId || e.payload.orderIds.includes(orderId))) {
        decision = e.payload;
        seqs.push(e.seq);
      }
    }
  }
  seqs.sort((a, b) => a - b);
  return { orderId, order, decision, accepted, rejected, fills, cancelled, seqs };
}
