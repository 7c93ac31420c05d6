import type { DecisionAction, DecisionOutcome, DecisionRecord, FactorValue } from './decision.ts';
import type { Fill, Order, OrderRequest, OrderStatus } from './orders.ts';
import { BrokerOrder } from './broker.ts';

/**
 * The run's decision and fill logs, kept in typed columns. A backtest places thousands of orders
 * and every record lives to the end of the run: as objects they survive each young-generation GC
 * and are copied until promoted, which cost more than the rest of the engine put together. Here a
 * record is a few numbers in a column plus pointers to what the strategy itself allocated (its
 * factors, weights and reasoning); objects are built only when something reads them.
 */

/** A copy of `a` in a new array of the same kind and length `n` (the rest zeroed). */
export function grow<T extends Float64Array | Uint8Array | Uint16Array | Uint32Array>(a: T, n: number): T {
  const b = new (a.constructor as new (length: number) => T)(n);
  b.set(a);
  return b;
}

/**
 * The few distinct strings a column repeats (symbols, agent ids), each stored once: a record keeps
 * a small integer instead of adding a pointer to a growing array per row.
 */
class StringCodes {
  private readonly list: string[] = [];
  private readonly index = new Map<string, number>();
  private last = '';
  private lastCode = -1;
  code(s: string): number {
    if (s === this.last) return this.lastCode;
    let c = this.index.get(s);
    if (c === undefined) {
      c = this.list.length;
      this.list.push(s);
      this.index.set(s, c);
    }
    this.last = s;
    return (this.lastCode = c);
  }
  at(c: number): string {
    return this.list[c]!;
  }
}

const ACTIONS: readonly DecisionAction[] = ['buy', 'sell', 'close', 'cancel', 'hold'];
const ACTION_CODE: Readonly<Record<DecisionAction, number>> = { buy: 0, sell: 1, close: 2, cancel: 3, hold: 4 };

/** Outcome status codes; 0 = none yet. */
const FILLED = 1, PARTIAL = 2, REJECTED = 3, CANCELLED = 4;

/** An order id as the engine spells it: `<agent>-<seq>`. */
export const orderIdOf = (agentId: string, seq: number): string => `${agentId}-${seq}`;
/** A decision id: `<agent>-D<n>`, the n-th decision (1-based). */
const decisionIdOf = (agentId: string, n: number): string => `${agentId}-D${n}`;

export class DecisionLog {
  length = 0;
  private ts: Float64Array;
  private confidence: Float64Array;
  private action: Uint8Array;
  private status: Uint8Array;
  private outPrice: Float64Array;
  private outAmount: Float64Array;
  private outTs: Float64Array;
  /** The decision's orders, when they are consecutive client ids of one agent (almost always). */
  private firstSeq: Float64Array;
  private seqCount: Uint16Array;
  private symbol: Uint32Array;
  private readonly symbols = new StringCodes();
  private readonly factors: Readonly<Record<string, FactorValue>>[] = [];
  private readonly weights: Readonly<Record<string, number>>[] = [];
  private readonly reasoning: string[] = [];
  /** Sparse: the agent of a decision's orders when it is not the decision's own (kill-switch flattening). */
  private readonly orderAgent = new Map<number, string>();
  /** Sparse: order ids that do not fit the consecutive pattern, the whole list. */
  private readonly irregular = new Map<number, string[]>();
  private readonly details = new Map<number, unknown>();
  private readonly rejections = new Map<number, { limit: string; message: string }>();
  /** Records built so far (always a prefix: 0..materialized.length-1); kept in sync once built. */
  private readonly materialized: DecisionRecord[] = [];

  constructor(readonly agentId: string, capacity = 256) {
    this.ts = new Float64Array(capacity);
    this.confidence = new Float64Array(capacity);
    this.action = new Uint8Array(capacity);
    this.status = new Uint8Array(capacity);
    this.outPrice = new Float64Array(capacity);
    this.outAmount = new Float64Array(capacity);
    this.outTs = new Float64Array(capacity);
    this.firstSeq = new Float64Array(capacity);
    this.seqCount = new Uint16Array(capacity);
    this.symbol = new Uint32Array(capacity);
  }

  /** Appends a decision; returns its index. */
  add(ts: number, symbol: string, action: DecisionAction, factors: Readonly<Record<string, FactorValue>>, weights: Readonly<Record<string, number>>, confidence: number, reasoning: string, detail: unknown): number {
    const i = this.length;
    if (i === this.ts.length) this.growTo(i * 2);
    this.ts[i] = ts;
    this.confidence[i] = confidence;
    this.action[i] = ACTION_CODE[action];
    this.symbol[i] = this.symbols.code(symbol);
    this.factors.push(factors);
    this.weights.push(weights);
    this.reasoning.push(reasoning);
    if (detail !== undefined) this.details.set(i, detail);
    this.length = i + 1;
    return i;
  }

  id(i: number): string {
    return decisionIdOf(this.agentId, i + 1);
  }

  /** Records that decision `i` sent order `<agentId>-<seq>`. */
  addOrder(i: number, agentId: string, seq: number): void {
    const n = this.seqCount[i]!;
    const list = this.irregular.get(i);
    if (list !== undefined) list.push(orderIdOf(agentId, seq));
    else if (n === 0) {
      if (agentId !== this.agentId) this.orderAgent.set(i, agentId);
      this.firstSeq[i] = seq;
      this.seqCount[i] = 1;
    } else if (agentId === (this.orderAgent.get(i) ?? this.agentId) && seq === this.firstSeq[i]! + n && n < 0xffff) this.seqCount[i] = n + 1;
    else this.irregular.set(i, [...this.orderIdsAt(i), orderIdOf(agentId, seq)]);
    const d = this.materialized[i];
    if (d !== undefined) (d.orderIds as string[]).push(orderIdOf(agentId, seq));
  }

  setFilled(i: number, partial: boolean, price: number, amount: number, ts: number): void {
    this.status[i] = partial ? PARTIAL : FILLED;
    this.outPrice[i] = price;
    this.outAmount[i] = amount;
    this.outTs[i] = ts;
    const d = this.materialized[i];
    if (d !== undefined) d.outcome = { status: partial ? 'partially_filled' : 'filled', price, amount, ts };
  }

  setRejected(i: number, limit: string, message: string): void {
    this.status[i] = REJECTED;
    this.rejections.set(i, { limit, message });
    const d = this.materialized[i];
    if (d !== undefined) d.outcome = { status: 'rejected', limit, message };
  }

  /** A cancel is the outcome only of a decision that has none yet. */
  setCancelledIfOpen(i: number, ts: number): void {
    if (this.status[i] !== 0) return;
    this.status[i] = CANCELLED;
    this.outTs[i] = ts;
    const d = this.materialized[i];
    if (d !== undefined) d.outcome = { status: 'cancelled', ts };
  }

  /** Every decision as a record; the same objects (updated in place) on every call. */
  records(): readonly DecisionRecord[] {
    const m = this.materialized;
    for (let i = m.length; i < this.length; i++) m.push(this.build(i));
    return m;
  }

  /** Decision `i` as a record, building it (and every earlier one) if needed. */
  record(i: number): DecisionRecord {
    return this.materialized[i] ?? this.records()[i]!;
  }

  private orderIdsAt(i: number): string[] {
    const list = this.irregular.get(i);
    if (list !== undefined) return list.slice();
    const n = this.seqCount[i]!;
    const agent = this.orderAgent.get(i) ?? this.agentId;
    const out: string[] = [];
    for (let k = 0; k < n; k++) out.push(orderIdOf(agent, this.firstSeq[i]! + k));
    return out;
  }

  /** The record exactly as the engine used to build it: same keys, same order (the hash is over its JSON). */
  private build(i: number): DecisionRecord {
    const detail = this.details.get(i);
    const d: DecisionRecord = {
      id: this.id(i),
      ts: this.ts[i]!,
      agentId: this.agentId,
      symbol: this.symbols.at(this.symbol[i]!),
      action: ACTIONS[this.action[i]!]!,
      factors: this.factors[i]!,
      weights: this.weights[i]!,
      confidence: this.confidence[i]!,
      reasoning: this.reasoning[i]!,
      orderIds: this.orderIdsAt(i),
      ...(detail !== undefined ? { detail } : {}),
    };
    const outcome = this.outcomeAt(i);
    if (outcome !== undefined) d.outcome = outcome;
    return d;
  }

  private outcomeAt(i: number): DecisionOutcome | undefined {
    switch (this.status[i]) {
      case FILLED:
      case PARTIAL:
        return { status: this.status[i] === FILLED ? 'filled' : 'partially_filled', price: this.outPrice[i]!, amount: this.outAmount[i]!, ts: this.outTs[i]! };
      case REJECTED: {
        const r = this.rejections.get(i)!;
        return { status: 'rejected', limit: r.limit, message: r.message };
      }
      case CANCELLED:
        return { status: 'cancelled', ts: this.outTs[i]! };
      default:
        return undefined;
    }
  }

  private growTo(n: number): void {
    this.ts = grow(this.ts, n);
    this.confidence = grow(this.confidence, n);
    this.outPrice = grow(this.outPrice, n);
    this.outAmount = grow(this.outAmount, n);
    this.outTs = grow(this.outTs, n);
    this.firstSeq = grow(this.firstSeq, n);
    this.action = grow(this.action, n);
    this.status = grow(this.status, n);
    this.seqCount = grow(this.seqCount, n);
    this.symbol = grow(this.symbol, n);
  }
}

const SIDES = ['buy', 'sell'] as const;
const LIQUIDITY = ['maker', 'taker'] as const;

/** Every fill of the run, by column; `Fill` objects are built on read. */
export class FillLog {
  length = 0;
  private ts: Float64Array;
  private amount: Float64Array;
  private price: Float64Array;
  private fee: Float64Array;
  /** Bit 0: sell; bit 1: taker. */
  private flags: Uint8Array;
  /**
   * The filled order's index in the order log, which has the fill's order id, agent and symbol (a
   * string per fill would live to the run's end).
   */
  private order: Uint32Array;
  private materialized: Fill[] = [];

  constructor(private readonly orders: OrderLog, capacity = 256) {
    this.order = new Uint32Array(capacity);
    this.ts = new Float64Array(capacity);
    this.amount = new Float64Array(capacity);
    this.price = new Float64Array(capacity);
    this.fee = new Float64Array(capacity);
    this.flags = new Uint8Array(capacity);
  }

  /** A fill of the order at `orderIndex` in the order log (the broker fills an order in its own symbol, for its own agent). */
  add(f: Fill, orderIndex: number): void {
    const i = this.length;
    if (i === this.ts.length) {
      const n = i * 2;
      this.order = grow(this.order, n);
      this.ts = grow(this.ts, n);
      this.amount = grow(this.amount, n);
      this.price = grow(this.price, n);
      this.fee = grow(this.fee, n);
      this.flags = grow(this.flags, n);
    }
    this.ts[i] = f.ts;
    this.amount[i] = f.amount;
    this.price[i] = f.price;
    this.fee[i] = f.fee;
    this.flags[i] = (f.side === 'sell' ? 1 : 0) | (f.liquidity === 'taker' ? 2 : 0);
    this.order[i] = orderIndex;
    this.length = i + 1;
  }

  /** The fills as objects, with the broker's key order; built once, then the same array. */
  records(): readonly Fill[] {
    const m = this.materialized;
    for (let i = m.length; i < this.length; i++) {
      const g = this.flags[i]!;
      const o = this.order[i]!;
      m.push({ orderId: this.orders.idAt(o), agentId: this.orders.agentAt(o), symbol: this.orders.symbolAt(o), side: SIDES[g & 1]!, amount: this.amount[i]!, price: this.price[i]!, fee: this.fee[i]!, liquidity: LIQUIDITY[g >> 1]!, ts: this.ts[i]! });
    }
    return m;
  }
}

const TYPES: readonly Order['type'][] = ['market', 'limit', 'stop', 'stop_limit', 'trailing_stop'];
const TIFS: readonly NonNullable<Order['timeInForce']>[] = ['GTC', 'IOC', 'FOK'];
const STATUSES: readonly OrderStatus[] = ['pending', 'open', 'filled', 'cancelled', 'rejected', 'expired'];
const code = <T>(list: readonly T[], v: T): number => {
  const i = list.indexOf(v);
  if (i < 0) throw new Error(`run log: unknown code ${String(v)}`);
  return i;
};
/** Order fields that may be undefined each have a presence bit, in this order: price, stopPrice, trailingAmount, trailingPercent, trailTrigger, trailAnchor. */
const NUMERIC = ['amount', 'price', 'stopPrice', 'trailingAmount', 'trailingPercent', 'createdTs', 'activeTs', 'filled', 'avgPrice', 'fees', 'trailTrigger', 'trailAnchor'] as const;
type NumericField = (typeof NUMERIC)[number];
const FLAG_SELL = 1, FLAG_REDUCE = 2, FLAG_POST = 4, FLAG_TRIGGERED = 8, FLAG_ARMED = 16, FLAG_PARENT = 32;

/**
 * Every order of the run in submission order. An order is an object while it can still change;
 * once it is finished (filled, cancelled, rejected, expired) and the clock has moved on, it is
 * folded into columns and the object is let go. `records()` rebuilds equal broker orders.
 */
export class OrderLog {
  length = 0;
  private num: Record<NumericField, Float64Array>;
  private present: Uint8Array;
  private flags: Uint8Array;
  private codes: Uint8Array;
  private archived: Uint8Array;
  private symbol: Uint32Array;
  private agent: Uint32Array;
  /** The engine's sequence number (the order id is `<agent>-<seq>`) and the index of the decision behind the order. */
  private seq: Float64Array;
  private decision: Float64Array;
  private readonly symbols = new StringCodes();
  private readonly agents = new StringCodes();
  /** Live orders by position; emptied as they are archived. */
  private readonly live: (BrokerOrder | undefined)[] = [];
  private readonly liveIdx: number[] = [];
  private readonly ocoGroup = new Map<number, string>();
  private readonly parentId = new Map<number, string>();
  /** Set when an order may have finished since the last sweep. */
  dirty = false;

  /** `decisions` spells a decision's id from its index (the ids are rebuilt on read, not kept per order). */
  constructor(private readonly decisions: DecisionLog, capacity = 256) {
    this.seq = new Float64Array(capacity);
    this.decision = new Float64Array(capacity);
    this.num = {} as Record<NumericField, Float64Array>;
    for (const f of NUMERIC) this.num[f] = new Float64Array(capacity);
    this.present = new Uint8Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.codes = new Uint8Array(capacity * 3);
    this.archived = new Uint8Array(capacity);
    this.symbol = new Uint32Array(capacity);
    this.agent = new Uint32Array(capacity);
  }

  /**
   * The next order's place, taken before it reaches the broker (which may fill it at once): its
   * index is the order's `ref`, by which its events and fills find it.
   */
  reserve(seq: number, decision: number, agentId: string, symbol: string): number {
    const i = this.length;
    if (i === this.present.length) this.growTo(i * 2);
    this.seq[i] = seq;
    this.decision[i] = decision;
    this.agent[i] = this.agents.code(agentId);
    this.symbol[i] = this.symbols.code(symbol);
    this.live.push(undefined);
    this.length = i + 1;
    return i;
  }

  /** The broker's order for a reserved place. */
  attach(i: number, o: BrokerOrder): void {
    this.live[i] = o;
    this.liveIdx.push(i);
  }

  decisionOf(i: number): number {
    return this.decision[i]!;
  }

  /** The id of the order at `i`, as the engine spelled it when placing it. */
  idAt(i: number): string {
    return orderIdOf(this.agentAt(i), this.seq[i]!);
  }

  agentAt(i: number): string {
    return this.agents.at(this.agent[i]!);
  }

  symbolAt(i: number): string {
    return this.symbols.at(this.symbol[i]!);
  }

  /** Folds finished orders into the columns; call only between events (nothing mid-flight). */
  sweep(): void {
    this.dirty = false;
    const idx = this.liveIdx;
    let w = 0;
    for (let r = 0; r < idx.length; r++) {
      const i = idx[r]!;
      const o = this.live[i]!;
      const s = o.status;
      if (s === 'pending' || s === 'open') idx[w++] = i;
      else {
        this.archive(i, o);
        this.live[i] = undefined;
      }
    }
    while (idx.length > w) idx.pop(); // in place: a new array per sweep was garbage per order
  }

  /** Field by field, not by a loop over names: a keyed read of a computed name is megamorphic and boxes every number. */
  private archive(i: number, o: BrokerOrder): void {
    const num = this.num;
    const price = o.price, stopPrice = o.stopPrice, trailingAmount = o.trailingAmount, trailingPercent = o.trailingPercent, trailTrigger = o.trailTrigger, trailAnchor = o.trailAnchor;
    let present = 0;
    if (price !== undefined) (present |= 1), (num.price[i] = price);
    if (stopPrice !== undefined) (present |= 2), (num.stopPrice[i] = stopPrice);
    if (trailingAmount !== undefined) (present |= 4), (num.trailingAmount[i] = trailingAmount);
    if (trailingPercent !== undefined) (present |= 8), (num.trailingPercent[i] = trailingPercent);
    if (trailTrigger !== undefined) (present |= 16), (num.trailTrigger[i] = trailTrigger);
    if (trailAnchor !== undefined) (present |= 32), (num.trailAnchor[i] = trailAnchor);
    num.amount[i] = o.amount;
    num.createdTs[i] = o.createdTs;
    num.activeTs[i] = o.activeTs;
    num.filled[i] = o.filled;
    num.avgPrice[i] = o.avgPrice;
    num.fees[i] = o.fees;
    this.present[i] = present;
    this.flags[i] = (o.side === 'sell' ? FLAG_SELL : 0) | (o.reduceOnly ? FLAG_REDUCE : 0) | (o.postOnly ? FLAG_POST : 0) | (o.triggered ? FLAG_TRIGGERED : 0) | (o.armed ? FLAG_ARMED : 0) | (o.isParent ? FLAG_PARENT : 0);
    this.codes[i * 3] = code(TYPES, o.type);
    this.codes[i * 3 + 1] = code(TIFS, o.timeInForce);
    this.codes[i * 3 + 2] = code(STATUSES, o.status);
    if (o.ocoGroup !== undefined) this.ocoGroup.set(i, o.ocoGroup);
    if (o.parentId !== undefined) this.parentId.set(i, o.parentId);
    this.archived[i] = 1;
  }

  /** All orders, finished ones rebuilt from the columns (same class, same fields, same values). */
  records(): Order[] {
    const out: Order[] = [];
    for (let i = 0; i < this.length; i++) {
      const o = this.archived[i] === 1 ? this.restore(i) : this.live[i];
      if (o !== undefined) out.push(o); // a place reserved for an order the broker never returned (the run threw)
    }
    return out;
  }

  private restore(i: number): BrokerOrder {
    const num = this.num;
    const p = this.present[i]!;
    const g = this.flags[i]!;
    const opt = (k: number, f: NumericField): number | undefined => (p & (1 << k) ? num[f][i]! : undefined);
    const ocoGroup = this.ocoGroup.get(i);
    const parentId = this.parentId.get(i);
    const req: OrderRequest = {
      symbol: this.symbolAt(i),
      side: g & FLAG_SELL ? 'sell' : 'buy',
      type: TYPES[this.codes[i * 3]!]!,
      amount: num.amount[i]!,
      price: opt(0, 'price'),
      stopPrice: opt(1, 'stopPrice'),
      trailingAmount: opt(2, 'trailingAmount'),
      trailingPercent: opt(3, 'trailingPercent'),
      timeInForce: TIFS[this.codes[i * 3 + 1]!]!,
      reduceOnly: (g & FLAG_REDUCE) !== 0,
      postOnly: (g & FLAG_POST) !== 0,
    };
    const createdTs = num.createdTs[i]!;
    const o = new BrokerOrder(req, { id: this.idAt(i), agentId: this.agentAt(i), decisionId: this.decisions.id(this.decision[i]!), now: createdTs, ocoGroup, parentId, ref: i }, 0);
    // Every field exists from construction (one hidden class); the state is written over it.
    const w = o as { -readonly [K in keyof BrokerOrder]: BrokerOrder[K] };
    w.activeTs = num.activeTs[i]!;
    w.status = STATUSES[this.codes[i * 3 + 2]!]!;
    w.filled = num.filled[i]!;
    w.avgPrice = num.avgPrice[i]!;
    w.fees = num.fees[i]!;
    w.trailTrigger = opt(4, 'trailTrigger');
    w.trailAnchor = opt(5, 'trailAnchor');
    w.triggered = (g & FLAG_TRIGGERED) !== 0;
    w.armed = (g & FLAG_ARMED) !== 0;
    w.isParent = (g & FLAG_PARENT) !== 0;
    return o;
  }

  private growTo(n: number): void {
    for (const f of NUMERIC) this.num[f] = grow(this.num[f], n);
    this.present = grow(this.present, n);
    this.flags = grow(this.flags, n);
    this.codes = grow(this.codes, n * 3);
    this.archived = grow(this.archived, n);
    this.symbol = grow(this.symbol, n);
    this.agent = grow(this.agent, n);
    this.seq = grow(this.seq, n);
    this.decision = grow(this.decision, n);
  }
}
