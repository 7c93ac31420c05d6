import type { RiskOrder, RiskView } from '../../engine/risk.ts';

/**
 * A small simulated account for risk tests: positions, resting orders, last prices. It is the
 * independent model the properties compare against; it knows nothing of RiskEngine internals.
 */
export interface SimOrder extends RiskOrder {
  readonly id: number;
  remaining: number;
}

export class SimAccount implements RiskView {
  ts = 0;
  cash: number;
  readonly pos = new Map<string, number>();
  readonly last = new Map<string, number>();
  readonly lastTs = new Map<string, number>();
  readonly resting: SimOrder[] = [];
  private nextId = 1;

  constructor(cash = 100_000) {
    this.cash = cash;
  }

  get equity(): number {
    let e = this.cash;
    for (const [s, q] of this.pos) e += q * (this.last.get(s) ?? 0);
    return e;
  }
  positionQty(symbol: string): number {
    return this.pos.get(symbol) ?? 0;
  }
  openBuyQty(symbol: string): number {
    return this.resting.reduce((a, o) => a + (o.symbol === symbol && o.side === 'buy' ? o.remaining : 0), 0);
  }
  openSellQty(symbol: string): number {
    return this.resting.reduce((a, o) => a + (o.symbol === symbol && o.side === 'sell' ? o.remaining : 0), 0);
  }
  openOrderCount(agentId: string | null, symbol: string | null): number {
    return this.resting.filter((o) => (agentId === null || o.agentId === agentId) && (symbol === null || o.symbol === symbol)).length;
  }
  lastPrice(symbol: string): number {
    return this.last.get(symbol) ?? Number.NaN;
  }
  lastPriceTs(symbol: string): number {
    return this.lastTs.get(symbol) ?? Number.NaN;
  }

  tick(symbol: string, price: number, ts = this.ts): void {
    this.ts = ts;
    this.last.set(symbol, price);
    this.lastTs.set(symbol, ts);
  }

  /** Like a broker: a reduce-only fill is capped at what would bring the position to zero. */
  fill(symbol: string, side: 'buy' | 'sell', amount: number, price: number, reduceOnly = false): void {
    const pos = this.positionQty(symbol);
    if (reduceOnly) amount = Math.min(amount, Math.max(0, side === 'sell' ? pos : -pos));
    const signed = side === 'buy' ? amount : -amount;
    this.pos.set(symbol, this.positionQty(symbol) + signed);
    this.cash -= signed * price;
  }

  rest(o: RiskOrder): SimOrder {
    const r: SimOrder = { ...o, id: this.nextId++, remaining: o.amount };
    this.resting.push(r);
    return r;
  }

  /** Fill the resting order at index i completely at its limit price. */
  fillResting(i: number): SimOrder {
    const [o] = this.resting.splice(i, 1);
    this.fill(o!.symbol, o!.side, o!.remaining, o!.price ?? this.lastPrice(o!.symbol));
    return o!;
  }
}

export function order(p: Partial<RiskOrder> & Pick<RiskOrder, 'side' | 'amount'>): RiskOrder {
  return { agentId: 'a1', symbol: 'BTC/USDT', type: 'market', ...p };
}
