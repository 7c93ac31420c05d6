import type { DecisionAction, DecisionOutcome, DecisionRecord, FactorValue } from './decision.ts';
import type { Fill } from './orders.ts';

/**
 * The run's decision and fill logs, kept in typed columns. A backtest places thousands of orders
 * and every record lives to the end of the run: as objects they survive each young-generation GC
 * and are copied until promoted, which cost more than the rest of the engine put together. Here a
 * record is a few numbers in a column plus pointers to what the strategy itself allocated (its
 * factors, weights and reasoning); objects are built only when something reads them.
 */

const grow = (a: Float64Array, n: number): Float64Array => {
  const b = new Float64Array(n);
  b.set(a);
  return b;
};

const ACTIONS: readonly DecisionAction[] = ['buy', 'sell', 'close', 'cancel', 'hold'];
const ACTION_CODE: Readonly<Record<DecisionAction, number>> = { buy: 0, sell: 1, close: 2, cancel: 3, hold: 4 };

/** Outcome status codes; 0 = none yet. */
const FILLED = 1, PARTIAL = 2, REJECTED = 3, CANCELLED = 4, EXPIRED = 5;

/** An order id as the engine spells it: `<agent>-<seq>`. */
export const orderIdOf = (agentId: string, seq: number): string => `${agentId}-${seq}`;
/** A decision id: `<agent>-D<n>`, the n-th decision (1-based). */
export const decisionIdOf = (agentId: string, n: number): string => `${agentId}-D${n}`;

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
  private readonly symbols: string[] = [];
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
  }

  /** Appends a decision; returns its index. */
  add(ts: number, symbol: string, action: DecisionAction, factors: Readonly<Record<string, FactorValue>>, weights: Readonly<Record<string, number>>, confidence: number, reasoning: string, detail: unknown): number {
    const i = this.length;
    if (i === this.ts.length) this.growTo(i * 2);
    this.ts[i] = ts;
    this.confidence[i] = confidence;
    this.action[i] = ACTION_CODE[action];
    this.symbols.push(symbol);
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
      symbol: this.symbols[i]!,
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
      case EXPIRED:
        return { status: 'expired', ts: this.outTs[i]! };
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
    const a = new Uint8Array(n);
    a.set(this.action);
    this.action = a;
    const s = new Uint8Array(n);
    s.set(this.status);
    this.status = s;
    const c = new Uint16Array(n);
    c.set(this.seqCount);
    this.seqCount = c;
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
  private readonly orderIds: string[] = [];
  private readonly agentIds: string[] = [];
  private readonly symbols: string[] = [];
  private materialized: Fill[] = [];

  constructor(capacity = 256) {
    this.ts = new Float64Array(capacity);
    this.amount = new Float64Array(capacity);
    this.price = new Float64Array(capacity);
    this.fee = new Float64Array(capacity);
    this.flags = new Uint8Array(capacity);
  }

  add(f: Fill): void {
    const i = this.length;
    if (i === this.ts.length) {
      const n = i * 2;
      this.ts = grow(this.ts, n);
      this.amount = grow(this.amount, n);
      this.price = grow(this.price, n);
      this.fee = grow(this.fee, n);
      const g = new Uint8Array(n);
      g.set(this.flags);
      this.flags = g;
    }
    this.ts[i] = f.ts;
    this.amount[i] = f.amount;
    this.price[i] = f.price;
    this.fee[i] = f.fee;
    this.flags[i] = (f.side === 'sell' ? 1 : 0) | (f.liquidity === 'taker' ? 2 : 0);
    this.orderIds.push(f.orderId);
    this.agentIds.push(f.agentId);
    this.symbols.push(f.symbol);
    this.length = i + 1;
  }

  /** The fills as objects, with the broker's key order; built once, then the same array. */
  records(): readonly Fill[] {
    const m = this.materialized;
    for (let i = m.length; i < this.length; i++) {
      const g = this.flags[i]!;
      m.push({ orderId: this.orderIds[i]!, agentId: this.agentIds[i]!, symbol: this.symbols[i]!, side: SIDES[g & 1]!, amount: this.amount[i]!, price: this.price[i]!, fee: this.fee[i]!, liquidity: LIQUIDITY[g >> 1]!, ts: this.ts[i]! });
    }
    return m;
  }
}
