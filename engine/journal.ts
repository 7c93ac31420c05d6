import { canonicalJson, sha256Hex } from './hash.ts';
import { Portfolio, type LotMethod } from './portfolio.ts';
import { KillSwitch, type KillSwitchStatus, type KillTransition } from './killswitch.ts';
import type { Breach } from './risk.ts';
import type { DecisionRecord } from './decision.ts';
import type { Fill, OrderType, TimeInForce } from './orders.ts';
import type { Side } from './types.ts';

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

/** An order as journaled when it is submitted (the engine's Order has more mutable fields). */
export interface JournalOrder {
  readonly id: string;
  readonly agentId: string;
  readonly decisionId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly amount: number;
  readonly price?: number;
  readonly stopPrice?: number;
  readonly trailingAmount?: number;
  readonly trailingPercent?: number;
  readonly timeInForce?: TimeInForce;
  readonly reduceOnly?: boolean;
  readonly postOnly?: boolean;
  readonly createdTs: number;
  readonly ocoGroup?: string;
  readonly parentId?: string;
}

export interface RunStartPayload {
  readonly runId: string;
  /** Hash of the strategy/engine code that ran. */
  readonly codeHash: string;
  readonly strategy?: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly seed: number;
  readonly datasetHash: string;
  readonly startCash: number;
  readonly lotMethod: LotMethod;
  readonly riskConfig?: unknown;
}

export interface RunEndPayload {
  readonly finalEquity: number;
  readonly resultHash?: string;
  /** Last price per symbol, so a fold marks positions as the run did. */
  readonly marks?: Readonly<Record<string, number>>;
}

export interface JournalPayloads {
  decision: DecisionRecord;
  order_submitted: { readonly order: JournalOrder };
  order_rejected: { readonly orderId: string; readonly breach: Breach };
  order_accepted: { readonly orderId: string; /** The checks it passed (RiskEngine.appliedChecks). */ readonly checks: readonly string[] };
  fill: Fill;
  cancel: { readonly orderId: string; readonly reason?: string };
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
  readonly startCash?: number;
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
  const pf = (): Portfolio => (portfolio ??= new Portfolio({ cash: opts.startCash ?? 0, lotMethod: opts.lotMethod ?? 'fifo' }));
  let head: ChainHead = GENESIS;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    counts[e.type]++;
    switch (e.type) {
      case 'run_start':
        run ??= e.payload;
        portfolio ??= new Portfolio({ cash: e.payload.startCash, lotMethod: e.payload.lotMethod });
        break;
      case 'order_submitted':
        open.set(e.payload.order.id, { order: e.payload.order, status: 'pending', filled: 0 });
        break;
      case 'order_accepted': {
        const o = open.get(e.payload.orderId);
        if (o) o.status = 'open';
        break;
      }
      case 'order_rejected':
      case 'cancel':
        open.delete(e.payload.orderId);
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
  readonly accepted: { readonly ts: number; readonly checks: readonly string[] } | null;
  readonly rejected: { readonly ts: number; readonly breach: Breach } | null;
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
      if (e.type === 'order_submitted') orderId = e.payload.order.id;
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
    if (e.type === 'order_submitted' && e.payload.order.id === orderId) order = e.payload.order;
    else if (e.type === 'order_accepted' && e.payload.orderId === orderId) accepted = { ts: e.ts, checks: e.payload.checks };
    else if (e.type === 'order_rejected' && e.payload.orderId === orderId) rejected = { ts: e.ts, breach: e.payload.breach };
    else if (e.type === 'cancel' && e.payload.orderId === orderId) cancelled = { ts: e.ts, ...(e.payload.reason ? { reason: e.payload.reason } : {}) };
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
