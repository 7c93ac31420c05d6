import type { Fill, Order, OrderRequest } from './orders.ts';
import type { MarketSpec, Side } from './types.ts';
import type { Portfolio } from './portfolio.ts';
import type { Rng } from './rng.ts';
import { roundAmount, roundPrice } from './market.ts';

/**
 * The simulated broker: resting orders meet bars (or trades and quotes) and become fills.
 *
 * Fill rules (all documented in docs/fills.md):
 * - Market orders fill at the open of the first bar that starts at or after the order reaches the
 *   book (`activeTs = decision time + latency`); decided on bar t's close that is bar t+1's open.
 *   `fillTiming: 'close'` instead fills market orders at the deciding bar's close (explicit opt-in).
 * - Inside a bar the price path is O → first extreme → second extreme → C. With a position open
 *   after the open's fills, the first extreme is the one adverse to it (long: low first, short: high
 *   first), so when a bar touches both the stop and the target the stop fills first. Flat, the
 *   extreme nearer the open is visited first.
 * - A stop whose trigger the open already gapped through fills at the open, not the stop price.
 *   A limit that was resting before the bar fills at its limit price (maker); one that arrives
 *   marketable fills at the open (taker). Limits fill on touch.
 * - Each bar's fills in a symbol share a cap of `maxVolumeShare` × bar volume: the rest stays
 *   open (GTC), is cancelled (IOC), or the whole order is cancelled (FOK).
 * - Taker fills pay slippage (fixed bps, or volume-share impact plus seeded adverse noise) and the
 *   taker fee, a limit's taker fill never beyond its limit; maker fills pay the maker fee and no slippage.
 * - Bracket children rest only once the entry has filled (from that point of the path on); IOC/FOK
 *   limits that cannot fill on arrival are cancelled there.
 * - Spot accounts (`cashOnly`) cap buys at what cash affords after fees; reduce-only orders are
 *   clipped to the position they reduce.
 */

export type SlippageModel =
  | { readonly kind: 'none' }
  | { readonly kind: 'fixed'; readonly bps: number }
  /** bps = impactBps × min(1, fill qty / bar volume) + |N(0,1)| × noiseBps, always against the trader. */
  | { readonly kind: 'volume-share'; readonly impactBps: number; readonly noiseBps: number };

export interface BrokerConfig {
  readonly makerFeeBps: number;
  readonly takerFeeBps: number;
  readonly slippage: SlippageModel;
  readonly latencyMs: number;
  readonly fillTiming: 'next-open' | 'close';
  /** Share of a bar's volume that fills may take, (0, 1]; Infinity for no cap. */
  readonly maxVolumeShare: number;
  /** Spot semantics: a buy never spends more cash than there is. */
  readonly cashOnly: boolean;
}

export const defaultBrokerConfig: BrokerConfig = {
  makerFeeBps: 10,
  takerFeeBps: 10,
  slippage: { kind: 'none' },
  latencyMs: 0,
  fillTiming: 'next-open',
  maxVolumeShare: Infinity,
  cashOnly: true,
};

export type BrokerEvent =
  | { readonly kind: 'accepted'; readonly order: BrokerOrder; readonly ts: number }
  | { readonly kind: 'rejected'; readonly order: BrokerOrder; readonly ts: number; readonly reason: string }
  | { readonly kind: 'filled'; readonly order: BrokerOrder; readonly fill: Fill; readonly ts: number }
  | { readonly kind: 'cancelled'; readonly order: BrokerOrder; readonly ts: number; readonly reason: string };

export type BrokerListener = (e: BrokerEvent) => void;

export interface SubmitMeta {
  readonly id: string;
  readonly agentId: string;
  readonly decisionId: string;
  readonly now: number;
  readonly ocoGroup?: string;
  readonly parentId?: string;
  /** This order will get bracket children: the broker keeps it findable after it finishes. */
  readonly hasChildren?: boolean;
  /** The sender's own number for the order, handed back on it (the engine's: the order's index in its order log). */
  readonly ref?: number;
}

/**
 * Orders are class instances with every field present from construction: one hidden class for all
 * orders keeps the broker's loops monomorphic (spread-built objects degrade to dictionary mode).
 */
export class BrokerOrder implements Order {
  readonly symbol: string;
  readonly side: Side;
  readonly type: Order['type'];
  amount: number;
  readonly price: number | undefined;
  readonly stopPrice: number | undefined;
  readonly trailingAmount: number | undefined;
  readonly trailingPercent: number | undefined;
  readonly timeInForce: Order['timeInForce'];
  readonly reduceOnly: boolean;
  readonly postOnly: boolean;
  readonly id: string;
  readonly agentId: string;
  readonly decisionId: string;
  readonly createdTs: number;
  readonly activeTs: number;
  status: Order['status'] = 'pending';
  filled = 0;
  avgPrice = 0;
  fees = 0;
  trailTrigger: number | undefined = undefined;
  trailAnchor: number | undefined = undefined;
  readonly ocoGroup: string | undefined;
  readonly parentId: string | undefined;
  /** `SubmitMeta.ref`, or -1. */
  readonly ref: number;
  triggered = false;
  /** A bracket child is armed by its parent's first fill; until then it waits off the book. */
  armed = false;
  /** Has bracket children (a flag, so a fill needs no set lookup by id to know). */
  isParent = false;
  constructor(req: OrderRequest, meta: SubmitMeta, latencyMs: number) {
    this.symbol = req.symbol;
    this.side = req.side;
    this.type = req.type;
    this.amount = req.amount;
    this.price = req.price;
    this.stopPrice = req.stopPrice;
    this.trailingAmount = req.trailingAmount;
    this.trailingPercent = req.trailingPercent;
    this.timeInForce = req.timeInForce ?? 'GTC';
    this.reduceOnly = req.reduceOnly === true;
    this.postOnly = req.postOnly === true;
    this.id = meta.id;
    this.agentId = meta.agentId;
    this.decisionId = meta.decisionId;
    this.createdTs = meta.now;
    this.activeTs = meta.now + latencyMs;
    this.ocoGroup = meta.ocoGroup;
    this.parentId = meta.parentId;
    this.ref = meta.ref ?? -1;
  }
}

/** Per-symbol resting orders and the last price seen. The engine holds one per symbol. */
export class SymbolBook {
  orders: BrokerOrder[] = [];
  lastClose = NaN;
  constructor(readonly symbol: string) {}
}

/** Which way price must move to touch an order: a buy limit or sell stop waits for a fall. */
const triggersOnFall = (o: Order): boolean =>
  (o.side === 'buy') === (o.type === 'limit' || (o.type === 'stop_limit' && o.triggered === true));

export class SimulatedBroker {
  private readonly books = new Map<string, SymbolBook>();
  /** The last book looked up (hot paths repeat the same symbol). */
  private lastBook: SymbolBook | undefined = undefined;
  /** Bracket parents by id (children look them up); other orders are found in their book. */
  private readonly parentOrders = new Map<string, BrokerOrder>();
  private openCount = 0;
  /** Volume still available to fills in the bar being processed. */
  private volumeLeft = Infinity;
  private barVolume = Infinity;

  constructor(
    readonly config: BrokerConfig,
    private readonly portfolio: Portfolio,
    private readonly market: (symbol: string) => MarketSpec,
    private readonly rng: Rng,
    private readonly listener: BrokerListener,
  ) {}

  get hasOpenOrders(): boolean {
    return this.openCount > 0;
  }

  openOrders(symbol?: string): Order[] {
    const out: Order[] = [];
    for (const [s, book] of this.books) {
      if (symbol !== undefined && s !== symbol) continue;
      for (const o of book.orders) if (o.status === 'pending' || o.status === 'open') out.push(o);
    }
    return out;
  }

  /** Unfilled quantity of the open orders on one side of a symbol. */
  openQty(symbol: string, side: Side): number {
    const last = this.lastBook;
    const book = last !== undefined && last.symbol === symbol ? last : this.books.get(symbol);
    if (book === undefined) return 0;
    let q = 0;
    for (const o of book.orders) if (o.side === side && (o.status === 'pending' || o.status === 'open')) q += o.amount - o.filled;
    return q;
  }

  /** An open order (or a bracket parent) by client id. Books hold few open orders: a scan is cheap. */
  order(id: string): Order | undefined {
    return this.find(id);
  }

  private find(id: string): BrokerOrder | undefined {
    const p = this.parentOrders.get(id);
    if (p) return p;
    for (const book of this.books.values()) for (const o of book.orders) if (o.id === id) return o;
    return undefined;
  }

  /** The deciding bar's close, for fill-on-close and for pricing size specs. */
  setLastClose(symbol: string, price: number): void {
    this.book(symbol).lastClose = price;
  }

  /** The book of a symbol (created on first use); hot loops keep it instead of looking it up per bar. */
  book(symbol: string): SymbolBook {
    const last = this.lastBook;
    if (last !== undefined && last.symbol === symbol) return last;
    let b = this.books.get(symbol);
    if (!b) this.books.set(symbol, (b = new SymbolBook(symbol)));
    return (this.lastBook = b);
  }

  submit(req: OrderRequest, meta: SubmitMeta): BrokerOrder {
    const order = new BrokerOrder(req, meta, this.config.latencyMs);
    if (meta.hasChildren) {
      order.isParent = true;
      this.parentOrders.set(order.id, order);
    }
    const problem = shapeProblem(order);
    if (problem) {
      order.status = 'rejected';
      this.listener({ kind: 'rejected', order, ts: meta.now, reason: problem });
      return order;
    }
    if (order.parentId !== undefined) {
      const parent = this.parentOrders.get(order.parentId) ?? this.find(order.parentId);
      if (parent !== undefined && !parent.isParent) {
        parent.isParent = true;
        this.parentOrders.set(parent.id, parent);
      }
      // A fill-on-close entry has already filled by the time its children are submitted.
      order.armed = parent !== undefined && parent.filled > 0;
    }
    const book = this.book(order.symbol);
    book.orders.push(order);
    this.openCount++;
    this.listener({ kind: 'accepted', order, ts: meta.now });
    if (this.config.fillTiming === 'close' && order.type === 'market' && !order.parentId && this.config.latencyMs === 0) {
      const px = book.lastClose;
      if (px === px) {
        this.volumeLeft = Infinity;
        this.barVolume = Infinity;
        this.execute(order, px, 'taker', meta.now, true);
      }
    }
    return order;
  }

  cancel(id: string, ts: number, reason: string): boolean {
    const o = this.find(id);
    if (!o || (o.status !== 'pending' && o.status !== 'open')) return false;
    this.finish(o, 'cancelled', ts, reason);
    return true;
  }

  /** Process the bar [ts, ts + timeframe) of `symbol` against its resting orders. */
  onBar(symbol: string, ts: number, open: number, high: number, low: number, close: number, volume: number): void {
    this.onBookBar(this.book(symbol), ts, open, high, low, close, volume);
  }

  onBookBar(book: SymbolBook, ts: number, open: number, high: number, low: number, close: number, volume: number): void {
    const symbol = book.symbol;
    book.lastClose = close;
    if (this.openCount === 0) return;
    const list = book.orders;
    if (list.length === 0) return;
    this.barVolume = volume;
    this.volumeLeft = this.config.maxVolumeShare === Infinity ? Infinity : this.config.maxVolumeShare * volume;

    // The path is chosen after the open's fills: a position entered at the open is one the bar can hurt.
    this.atPoint(list, ts, open, open);
    const qty = this.portfolio.qty(symbol);
    const lowFirst = qty > 0 ? true : qty < 0 ? false : open - low <= high - open;
    const x1 = lowFirst ? low : high;
    const x2 = lowFirst ? high : low;
    this.segment(list, ts, open, x1);
    this.segment(list, ts, x1, x2);
    this.segment(list, ts, x2, close);
    this.expireImmediate(list, ts);
    this.compact(list);
  }

  /** A trade print: a one-point path at its price, capped by its size. */
  onTrade(symbol: string, ts: number, price: number, amount: number): void {
    const book = this.book(symbol);
    book.lastClose = price;
    if (this.openCount === 0) return;
    const list = book.orders;
    if (list.length === 0) return;
    this.barVolume = amount;
    this.volumeLeft = this.config.maxVolumeShare === Infinity ? Infinity : this.config.maxVolumeShare * amount;
    this.atPoint(list, ts, price, price);
    this.expireImmediate(list, ts);
    this.compact(list);
  }

  /** A best bid/ask: buys meet the ask, sells the bid. */
  onQuote(symbol: string, ts: number, bid: number, ask: number): void {
    const book = this.book(symbol);
    book.lastClose = (bid + ask) / 2;
    if (this.openCount === 0) return;
    const list = book.orders;
    if (list.length === 0) return;
    this.barVolume = Infinity;
    this.volumeLeft = Infinity;
    this.atPoint(list, ts, ask, bid);
    this.expireImmediate(list, ts);
    this.compact(list);
  }

  // ---- internals -------------------------------------------------------------------------

  private eligible(o: BrokerOrder, ts: number): boolean {
    if (o.status !== 'pending' && o.status !== 'open') return false;
    if (o.activeTs > ts) return false;
    return o.parentId === undefined || o.armed;
  }

  /**
   * A single price point: the open of a bar (stops already crossed fill here) or a trade/quote.
   * `buyPx`/`sellPx` differ only for quotes.
   */
  private atPoint(list: BrokerOrder[], ts: number, buyPx: number, sellPx: number): void {
    for (let i = 0; i < list.length; i++) {
      const o = list[i]!;
      if (!this.eligible(o, ts)) continue;
      const arriving = o.status === 'pending';
      if (arriving) o.status = 'open';
      const px = o.side === 'buy' ? buyPx : sellPx;
      switch (o.type) {
        case 'market':
          this.execute(o, px, 'taker', ts, true);
          break;
        case 'limit': {
          const marketable = o.side === 'buy' ? px <= o.price! : px >= o.price!;
          if (!marketable) {
            // IOC/FOK never rest: what the arrival price cannot fill is gone (a later touch would make it a maker).
            if (arriving && o.timeInForce !== 'GTC') this.finish(o, 'cancelled', ts, `${o.timeInForce}: not marketable on arrival`);
            break;
          }
          if (arriving) {
            if (o.postOnly) {
              this.finish(o, 'cancelled', ts, 'post-only order would take liquidity');
              break;
            }
            this.execute(o, px, 'taker', ts, true);
          } else {
            // Resting before the price jumped through it (a bar's gap, a trade or quote through it):
            // the move passed its price on the way, so it trades there, not at the better point.
            this.execute(o, o.price!, 'maker', ts, false);
          }
          break;
        }
        case 'stop':
        case 'stop_limit':
        case 'trailing_stop': {
          if (o.type === 'trailing_stop') this.initTrail(o, px);
          const trigger = this.triggerOf(o);
          const crossed = o.side === 'buy' ? px >= trigger : px <= trigger;
          if (o.type === 'stop_limit' && o.triggered) {
            const ok = o.side === 'buy' ? px <= o.price! : px >= o.price!;
            if (ok) this.execute(o, arriving ? px : o.price!, arriving ? 'taker' : 'maker', ts, false);
          } else if (crossed) {
            this.trigger(o, px, ts);
          } else if (o.type === 'trailing_stop') {
            this.moveTrail(o, px);
          }
          break;
        }
      }
    }
  }

  /** A monotone move from `a` to `b`: orders touched along it fill in the order they are reached. */
  private segment(list: BrokerOrder[], ts: number, a: number, b: number): void {
    if (a === b) return;
    const falling = b < a;
    const lo = falling ? b : a;
    const hi = falling ? a : b;
    // Collect touches; a segment rarely holds more than a couple of orders.
    let touched: { o: BrokerOrder; level: number }[] | null = null;
    for (let i = 0; i < list.length; i++) {
      const o = list[i]!;
      if (!this.eligible(o, ts)) continue;
      if (o.type === 'market') continue;
      if (o.type === 'trailing_stop') {
        this.initTrail(o, a);
        const adverse = o.side === 'sell' ? falling : !falling;
        if (!adverse) {
          this.moveTrail(o, b);
          continue;
        }
      }
      const onFall = triggersOnFall(o);
      if (onFall !== falling) continue;
      const level = o.type === 'limit' || (o.type === 'stop_limit' && o.triggered) ? o.price! : this.triggerOf(o);
      if (level < lo || level > hi) continue;
      (touched ??= []).push({ o, level });
    }
    if (!touched) return;
    touched.sort((x, y) => (falling ? y.level - x.level : x.level - y.level));
    for (const { o, level } of touched) {
      if (o.status !== 'open' && o.status !== 'pending') continue; // cancelled by an OCO sibling
      o.status = 'open';
      const firstFill = o.filled === 0;
      if (o.type === 'limit' || (o.type === 'stop_limit' && o.triggered)) this.execute(o, level, 'maker', ts, false);
      else this.trigger(o, level, ts);
      // A bracket entry filled here arms its children for the rest of this same move (the price
      // going on through the stop must stop it out); the rest of the segment is walked again.
      if (firstFill && o.filled > 0 && o.isParent) {
        this.segment(list, ts, level, b);
        return;
      }
    }
  }

  private trigger(o: BrokerOrder, px: number, ts: number): void {
    if (o.type === 'stop_limit') {
      o.triggered = true;
      const ok = o.side === 'buy' ? px <= o.price! : px >= o.price!;
      if (ok) this.execute(o, px, 'taker', ts, true);
      return;
    }
    this.execute(o, px, 'taker', ts, true);
  }

  private triggerOf(o: Order): number {
    return o.type === 'trailing_stop' ? o.trailTrigger! : o.stopPrice!;
  }

  private initTrail(o: BrokerOrder, px: number): void {
    if (o.trailAnchor !== undefined) return;
    o.trailAnchor = px;
    o.trailTrigger = o.stopPrice ?? this.trailFrom(o, px);
  }

  private trailFrom(o: BrokerOrder, anchor: number): number {
    const d = o.trailingAmount ?? (anchor * (o.trailingPercent ?? 0)) / 100;
    return o.side === 'sell' ? anchor - d : anchor + d;
  }

  private moveTrail(o: BrokerOrder, px: number): void {
    const better = o.side === 'sell' ? px > o.trailAnchor! : px < o.trailAnchor!;
    if (!better) return;
    o.trailAnchor = px;
    const t = this.trailFrom(o, px);
    if (o.side === 'sell' ? t > o.trailTrigger! : t < o.trailTrigger!) o.trailTrigger = t;
  }

  /** Fill as much of `o` as the bar, the cash and reduce-only allow, at `px` (before slippage). */
  private execute(o: BrokerOrder, px: number, liquidity: 'maker' | 'taker', ts: number, slip: boolean): void {
    const market = this.market(o.symbol);
    const remaining = o.amount - o.filled;
    let want = remaining;
    // What stops the remainder: volume waits for the next bar (GTC); cash or position cancel it.
    let capped: 'volume' | 'final' | null = null;
    if (o.reduceOnly) {
      const pos = this.portfolio.qty(o.symbol);
      const reducible = o.side === 'sell' ? Math.max(0, pos) : Math.max(0, -pos);
      if (reducible < want) (want = reducible), (capped = 'final');
    }
    if (want > this.volumeLeft) (want = this.volumeLeft), (capped ??= 'volume');
    let price = px;
    if (slip && liquidity === 'taker') {
      price = this.slipped(o.side, px, want);
      // A marketable limit walks the book only as far as its limit.
      if (o.type === 'limit' || o.type === 'stop_limit') price = o.side === 'buy' ? Math.min(price, o.price!) : Math.max(price, o.price!);
    }
    price = roundPrice(price, market.tickSize);
    const feeRate = (liquidity === 'maker' ? this.config.makerFeeBps : this.config.takerFeeBps) / 10_000;
    if (this.config.cashOnly && o.side === 'buy' && this.portfolio.qty(o.symbol) >= 0) {
      const affordable = Math.max(0, this.portfolio.cash) / (price * (1 + feeRate));
      if (affordable < want) (want = affordable), (capped = 'final');
    }
    want = roundAmount(want, market.amountStep);
    if (o.timeInForce === 'FOK' && want < remaining) {
      this.finish(o, 'cancelled', ts, 'fill-or-kill: not fillable in full');
      return;
    }
    if (!(want > 0)) {
      if (capped === 'final' || o.timeInForce !== 'GTC') this.finish(o, 'cancelled', ts, this.cancelReason(o));
      return;
    }
    const fee = want * price * feeRate;
    const fill: Fill = { orderId: o.id, agentId: o.agentId, symbol: o.symbol, side: o.side, amount: want, price, fee, liquidity, ts };
    this.portfolio.applyFill(fill);
    this.volumeLeft -= want;
    const filledBefore = o.filled;
    o.filled = filledBefore + want;
    o.avgPrice = (o.avgPrice * filledBefore + price * want) / o.filled;
    o.fees += fee;
    const done = o.amount - o.filled <= 1e-12 * o.amount;
    if (done) {
      o.filled = o.amount;
      o.status = 'filled';
      this.openCount--;
    }
    this.listener({ kind: 'filled', order: o, fill, ts });
    this.afterFill(o, ts);
    if (!done && (capped === 'final' || o.timeInForce === 'IOC')) this.finish(o, 'cancelled', ts, this.cancelReason(o));
  }

  private cancelReason(o: Order): string {
    if (o.timeInForce === 'IOC') return 'immediate-or-cancel: remainder cancelled';
    if (o.reduceOnly && this.portfolio.qty(o.symbol) === 0) return 'reduce-only: no position left to reduce';
    if (o.timeInForce === 'FOK') return 'fill-or-kill: not fillable in full';
    return 'insufficient cash for the remainder';
  }

  private afterFill(o: BrokerOrder, ts: number): void {
    // OCO: any fill of one leg cancels the others.
    if (o.ocoGroup !== undefined) {
      const list = this.book(o.symbol).orders;
      for (const s of list) {
        if (s !== o && s.ocoGroup === o.ocoGroup && (s.status === 'open' || s.status === 'pending') && s.parentId === o.parentId) {
          this.finish(s, 'cancelled', ts, `OCO sibling ${o.id} filled`);
        }
      }
    }
    // Bracket children protect what the parent has filled so far.
    if (o.isParent) for (const c of this.children(o.id)) (c.amount = o.filled), (c.armed = true);
  }

  private children(parentId: string): BrokerOrder[] {
    const out: BrokerOrder[] = [];
    for (const book of this.books.values()) for (const o of book.orders) if (o.parentId === parentId && (o.status === 'pending' || o.status === 'open')) out.push(o);
    return out;
  }

  private slipped(side: Side, px: number, qty: number): number {
    const s = this.config.slippage;
    let bps = 0;
    if (s.kind === 'fixed') bps = s.bps;
    else if (s.kind === 'volume-share') {
      // A fill larger than the bar (no volume cap) costs the impact of the whole bar, not more:
      // a linear share above 1 would push a sell's price below zero.
      const share = this.barVolume > 0 && this.barVolume !== Infinity ? Math.min(1, qty / this.barVolume) : 0;
      bps = s.impactBps * share + Math.abs(this.rng.normal()) * s.noiseBps;
    }
    if (bps === 0) return px;
    return side === 'buy' ? px * (1 + bps / 10_000) : px * (1 - bps / 10_000);
  }

  /** IOC/FOK orders live for one evaluation only. */
  private expireImmediate(list: BrokerOrder[], ts: number): void {
    for (const o of list) {
      if (o.status === 'open' && o.timeInForce !== 'GTC' && o.activeTs <= ts) {
        this.finish(o, 'cancelled', ts, `${o.timeInForce}: not filled on arrival`);
      }
    }
  }

  private finish(o: BrokerOrder, status: 'cancelled', ts: number, reason: string): void {
    if (o.status !== 'pending' && o.status !== 'open') return;
    o.status = status;
    this.openCount--;
    this.listener({ kind: 'cancelled', order: o, ts, reason });
    // A bracket's children die with a parent that ends unfilled, however it ends.
    if (o.filled === 0 && o.isParent) for (const c of this.children(o.id)) this.finish(c, 'cancelled', ts, `parent ${o.id} cancelled`);
  }

  private compact(list: BrokerOrder[]): void {
    let w = 0;
    let released = false;
    for (let r = 0; r < list.length; r++) {
      const o = list[r]!;
      // Finished orders leave the book; the engine keeps its own record of them.
      if (o.status === 'pending' || o.status === 'open') list[w++] = o;
      else if (o.parentId !== undefined || o.isParent) released = true;
    }
    while (list.length > w) list.pop(); // pop is inlined; assigning .length is a runtime call
    if (released) this.releaseParents();
  }

  /** A bracket parent is forgotten once it and all its children are finished. */
  private releaseParents(): void {
    for (const [id, p] of this.parentOrders) {
      if ((p.status === 'pending' || p.status === 'open') || this.children(id).length > 0) continue;
      this.parentOrders.delete(id);
    }
  }
}

/** Orders that cannot be evaluated at all; risk and market checks happen before the broker. */
function shapeProblem(o: Order): string | null {
  if (!(o.amount > 0) || !Number.isFinite(o.amount)) return `amount must be a positive number, got ${o.amount}`;
  const needPrice = o.type === 'limit' || o.type === 'stop_limit';
  if (needPrice && !(o.price! > 0)) return `${o.type} order needs a positive price`;
  if ((o.type === 'stop' || o.type === 'stop_limit') && !(o.stopPrice! > 0)) return `${o.type} order needs a positive stopPrice`;
  if (o.type === 'trailing_stop') {
    const a = o.trailingAmount, p = o.trailingPercent;
    if ((a === undefined) === (p === undefined)) return 'trailing stop needs exactly one of trailingAmount or trailingPercent';
    if (a !== undefined && !(a > 0)) return 'trailingAmount must be positive';
    if (p !== undefined && !(p > 0 && p < 100)) return 'trailingPercent must be between 0 and 100';
  }
  if (o.postOnly && o.type !== 'limit') return 'post-only applies to limit orders only';
  if (o.type === 'market' && o.timeInForce === 'GTC' && o.postOnly) return 'a market order cannot be post-only';
  return null;
}
