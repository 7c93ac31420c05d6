import type { Fill } from './orders.ts';
import type { PositionView } from './strategy.ts';
import type { ClosedTrade } from './metrics.ts';

export type { ClosedTrade };

/** Which open lot a closing fill consumes first. */
export type LotMethod = 'fifo' | 'lifo' | 'hifo';

/** An open tax lot. `qty` is signed like the position it belongs to. */
export interface Lot {
  readonly id: string;
  readonly symbol: string;
  qty: number;
  readonly price: number;
  readonly ts: number;
  /** Entry fee still attached to the remaining quantity (quote currency). */
  fee: number;
}

/** A lot (or part of one) closed by a fill: the raw material of tax reports. */
export interface ClosedLot {
  readonly lotId: string;
  readonly symbol: string;
  /** Signed quantity closed (>0 a long lot sold, <0 a short lot bought back). */
  readonly qty: number;
  readonly openTs: number;
  readonly openPrice: number;
  readonly closeTs: number;
  readonly closePrice: number;
  readonly openFee: number;
  readonly closeFee: number;
  /** (close − open) × qty, before fees. */
  readonly pnl: number;
}

export interface PositionSnapshot {
  readonly symbol: string;
  readonly qty: number;
  readonly avgPrice: number;
  readonly realizedPnl: number;
  readonly lastPrice: number;
  readonly lots: readonly { id: string; qty: number; price: number; ts: number; fee: number }[];
}

export interface PortfolioSnapshot {
  readonly cash: number;
  readonly fees: number;
  readonly realizedPnl: number;
  readonly lotMethod: LotMethod;
  readonly positions: readonly PositionSnapshot[];
}

export interface PortfolioOptions {
  readonly cash: number;
  readonly lotMethod?: LotMethod;
  /**
   * Keep a record of every closed lot (tax reports). Off by default: tax reports rebuild lots
   * from the journal's fills with the method they are asked for, and a long backtest would
   * otherwise retain an object per fill for nothing.
   */
  readonly trackClosedLots?: boolean;
}

/** The round trip in progress in one symbol; one per book, reset rather than reallocated. */
class OpenTrade {
  open = false;
  side: 'long' | 'short' = 'long';
  entryTs = 0;
  entryQty = 0;
  entryNotional = 0;
  exitQty = 0;
  exitNotional = 0;
  maxQty = 0;
  fees = 0;
  pnl = 0;
  start(side: 'long' | 'short', ts: number): void {
    this.open = true;
    this.side = side;
    this.entryTs = ts;
    this.entryQty = this.entryNotional = this.exitQty = this.exitNotional = this.maxQty = this.fees = this.pnl = 0;
  }
}

/** An open lot; its id is formatted only when read (most lots are never asked for theirs). */
class OpenLot implements Lot {
  constructor(
    private readonly n: number,
    readonly symbol: string,
    public qty: number,
    readonly price: number,
    readonly ts: number,
    public fee: number,
  ) {}
  get id(): string {
    return `L${this.n}`;
  }
}

class PositionBook {
  qty = 0;
  realizedPnl = 0;
  lastPrice = NaN;
  /** Open lots; for FIFO `head` skips consumed lots without shifting the array. */
  lots: Lot[] = [];
  head = 0;
  readonly trade = new OpenTrade();
  constructor(readonly symbol: string, readonly index: number) {}

  openLots(): Lot[] {
    return this.head === 0 ? this.lots : this.lots.slice(this.head);
  }

  avgPrice(): number {
    if (this.qty === 0) return 0;
    let q = 0, n = 0;
    for (let i = this.head; i < this.lots.length; i++) {
      const l = this.lots[i]!;
      q += l.qty;
      n += l.qty * l.price;
    }
    return q === 0 ? 0 : n / q;
  }
}

/**
 * Cash, signed positions and tax lots per symbol. Cash moves by notional ± fee on every fill, so
 * equity = cash + Σ qty × mark holds by construction (the property tests check it anyway).
 * Realised P&L is per lot, gross of fees; fees are accounted separately and in `ClosedTrade.pnl`.
 */
export class Portfolio {
  cash: number;
  fees = 0;
  readonly startCash: number;
  readonly lotMethod: LotMethod;
  readonly closedLots: ClosedLot[] = [];
  private readonly trackClosedLots: boolean;
  private readonly tradeLog = new TradeLog();
  private tradesCache: ClosedTrade[] | null = null;
  /** Notional traded, for turnover. */
  tradedNotional = 0;
  private readonly books: PositionBook[] = [];
  private readonly bySymbol = new Map<string, PositionBook>();
  private lastBook: PositionBook | undefined = undefined;
  private lotSeq = 0;

  constructor(opts: PortfolioOptions) {
    if (!Number.isFinite(opts.cash)) throw new RangeError('starting cash must be a finite number');
    this.cash = opts.cash;
    this.startCash = opts.cash;
    this.lotMethod = opts.lotMethod ?? 'fifo';
    this.trackClosedLots = opts.trackClosedLots === true;
  }

  /**
   * The book of a symbol, remembering the last one asked for: hot paths ask for the same symbol
   * many times in a row, and comparing an interned string beats hashing it every time.
   */
  private find(symbol: string): PositionBook | undefined {
    const last = this.lastBook;
    if (last !== undefined && last.symbol === symbol) return last;
    const b = this.bySymbol.get(symbol);
    if (b !== undefined) this.lastBook = b;
    return b;
  }

  /** Stable small-integer index for a symbol: the hot loop marks by index, not by name. */
  symbolIndex(symbol: string): number {
    return this.book(symbol).index;
  }

  private book(symbol: string): PositionBook {
    let b = this.find(symbol);
    if (!b) {
      b = new PositionBook(symbol, this.books.length);
      this.books.push(b);
      this.bySymbol.set(symbol, b);
    }
    return b;
  }

  qty(symbol: string): number {
    return this.find(symbol)?.qty ?? 0;
  }

  qtyAt(index: number): number {
    return this.books[index]!.qty;
  }

  mark(symbol: string, price: number): void {
    this.book(symbol).lastPrice = price;
  }

  markAt(index: number, price: number): void {
    this.books[index]!.lastPrice = price;
  }

  lastPrice(symbol: string): number {
    return this.find(symbol)?.lastPrice ?? NaN;
  }

  /** Cash plus every position at its last mark (a position never marked counts at its cost). */
  equity(): number {
    let e = this.cash;
    const books = this.books;
    for (let i = 0; i < books.length; i++) {
      const b = books[i]!;
      if (b.qty !== 0) e += b.qty * (b.lastPrice === b.lastPrice ? b.lastPrice : b.avgPrice());
    }
    return e;
  }

  /**
   * Equity into `out[i]` (no float returned through a call: V8 would box it), and whether any
   * position is open — the equity curve's two figures per point.
   */
  writeEquity(out: Float64Array, i: number): boolean {
    let e = this.cash;
    let open = false;
    const books = this.books;
    for (let k = 0; k < books.length; k++) {
      const b = books[k]!;
      if (b.qty !== 0) {
        open = true;
        e += b.qty * (b.lastPrice === b.lastPrice ? b.lastPrice : b.avgPrice());
      }
    }
    out[i] = e;
    return open;
  }

  /** Σ |qty × mark| over open positions. */
  grossExposure(): number {
    let e = 0;
    const books = this.books;
    for (let i = 0; i < books.length; i++) {
      const b = books[i]!;
      if (b.qty !== 0) e += Math.abs(b.qty * (b.lastPrice === b.lastPrice ? b.lastPrice : b.avgPrice()));
    }
    return e;
  }

  get realizedPnl(): number {
    let r = 0;
    for (const b of this.books) r += b.realizedPnl;
    return r;
  }

  position(symbol: string): PositionView {
    const b = this.find(symbol);
    if (!b) return { symbol, qty: 0, avgPrice: 0, realizedPnl: 0, unrealizedPnl: 0 };
    const avg = b.avgPrice();
    return {
      symbol,
      qty: b.qty,
      avgPrice: avg,
      realizedPnl: b.realizedPnl,
      unrealizedPnl: b.qty === 0 || b.lastPrice !== b.lastPrice ? 0 : (b.lastPrice - avg) * b.qty,
    };
  }

  lots(symbol: string): readonly Lot[] {
    return this.find(symbol)?.openLots() ?? [];
  }

  symbols(): string[] {
    return this.books.map((b) => b.symbol);
  }

  applyFill(fill: Fill): void {
    const { amount, price, fee } = fill;
    if (!(amount > 0) || !Number.isFinite(amount)) throw new RangeError(`fill amount must be positive, got ${amount}`);
    if (!(price > 0) || !Number.isFinite(price)) throw new RangeError(`fill price must be positive, got ${price}`);
    if (!(fee >= 0)) throw new RangeError(`fee must be non-negative, got ${fee}`);
    const b = this.book(fill.symbol);
    const signed = fill.side === 'buy' ? amount : -amount;
    this.cash -= signed * price + fee;
    this.fees += fee;
    this.tradedNotional += amount * price;
    b.lastPrice = b.lastPrice === b.lastPrice ? b.lastPrice : price;

    let remaining = signed;
    let feeLeft = fee;
    // Reduce the opposite-signed position first; whatever is left opens (or flips to) a new lot.
    if (b.qty !== 0 && Math.sign(b.qty) !== Math.sign(signed)) {
      const held = Math.abs(b.qty);
      // Float residue (0.3 − 0.1 − 0.1 is not 0.1) must not open a 1e-17 lot the other way.
      const closing = Math.abs(amount - held) <= 1e-12 * amount ? amount : Math.min(amount, held);
      const closeFee = (fee * closing) / amount;
      this.closeLots(b, closing, price, fill.ts, closeFee);
      const trade = b.trade;
      trade.exitQty += closing;
      trade.exitNotional += closing * price;
      trade.fees += closeFee;
      remaining = signed + (signed > 0 ? -closing : closing);
      feeLeft = fee - closeFee;
      b.qty += signed > 0 ? closing : -closing;
      if (Math.abs(b.qty) < 1e-12 * Math.max(1, closing)) b.qty = 0;
      if (b.qty === 0) this.finishTrade(b, fill.ts);
    }
    if (remaining !== 0) {
      b.lots.push(new OpenLot(++this.lotSeq, fill.symbol, remaining, price, fill.ts, feeLeft));
      b.qty += remaining;
      const t = b.trade;
      if (!t.open) t.start(remaining > 0 ? 'long' : 'short', fill.ts);
      t.entryQty += Math.abs(remaining);
      t.entryNotional += Math.abs(remaining) * price;
      t.fees += feeLeft;
      const absQ = Math.abs(b.qty);
      if (absQ > t.maxQty) t.maxQty = absQ;
    }
  }

  private closeLots(b: PositionBook, qty: number, price: number, ts: number, closeFee: number): void {
    let left = qty;
    const sign = Math.sign(b.qty);
    // The position is a running sum and the lots are summed separately: after thousands of fills
    // the two can differ in the last bits, so running out of lots with a residue left is normal.
    while (left > 0 && b.head < b.lots.length) {
      const idx = this.pickLot(b);
      const lot = b.lots[idx]!;
      const take = Math.min(left, Math.abs(lot.qty));
      const share = take / Math.abs(lot.qty);
      const openFee = lot.fee * share;
      const pnl = (price - lot.price) * take * sign;
      if (this.trackClosedLots) this.closedLots.push({
        lotId: lot.id,
        symbol: b.symbol,
        qty: take * sign,
        openTs: lot.ts,
        openPrice: lot.price,
        closeTs: ts,
        closePrice: price,
        openFee,
        closeFee: (closeFee * take) / qty,
        pnl,
      });
      b.realizedPnl += pnl;
      b.trade.pnl += pnl;
      lot.fee -= openFee;
      const rest = Math.abs(lot.qty) - take;
      // Float residue from repeated partial closes must not leave dust lots behind.
      if (rest <= 1e-12 * Math.max(1, take)) this.removeLot(b, idx);
      else lot.qty = rest * sign;
      left -= take;
      if (left <= 1e-12 * qty) break;
    }
  }

  private pickLot(b: PositionBook): number {
    if (this.lotMethod === 'fifo') return b.head;
    if (this.lotMethod === 'lifo') return b.lots.length - 1;
    // HIFO: the highest-cost lot for a long (largest loss / smallest gain); lowest for a short.
    let best = b.head;
    const long = b.qty > 0;
    for (let i = b.head + 1; i < b.lots.length; i++) {
      const p = b.lots[i]!.price, bp = b.lots[best]!.price;
      if (long ? p > bp : p < bp) best = i;
    }
    return best;
  }

  private removeLot(b: PositionBook, idx: number): void {
    if (idx === b.head) {
      b.head++;
      if (b.head === b.lots.length || b.head > 64) {
        b.lots = b.lots.slice(b.head);
        b.head = 0;
      }
    } else {
      b.lots.splice(idx, 1);
    }
  }

  private finishTrade(b: PositionBook, ts: number): void {
    const t = b.trade;
    t.open = false;
    b.lots = [];
    b.head = 0;
    const entryPrice = t.entryNotional / t.entryQty;
    const net = t.pnl - t.fees;
    this.tradeLog.push(b.index, t.side === 'long', t.entryTs, ts, entryPrice, t.exitNotional / t.exitQty, t.maxQty, net, t.fees);
    this.tradesCache = null;
  }

  /** Round trips so far, oldest first (materialised from the columnar log on demand). */
  get closedTrades(): readonly ClosedTrade[] {
    return (this.tradesCache ??= this.tradeLog.toArray((i) => this.books[i]!.symbol));
  }

  snapshot(): PortfolioSnapshot {
    return {
      cash: this.cash,
      fees: this.fees,
      realizedPnl: this.realizedPnl,
      lotMethod: this.lotMethod,
      positions: this.books
        .filter((b) => b.qty !== 0 || b.realizedPnl !== 0)
        .map((b) => ({
          symbol: b.symbol,
          qty: b.qty,
          avgPrice: b.avgPrice(),
          realizedPnl: b.realizedPnl,
          lastPrice: b.lastPrice,
          lots: b.openLots().map((l) => ({ id: l.id, qty: l.qty, price: l.price, ts: l.ts, fee: l.fee })),
        })),
    };
  }
}

/**
 * Round trips in typed columns, in fixed-size chunks: a long backtest closes hundreds of thousands
 * of trades, and one object per trade kept alive until the end costs more in GC than the engine
 * loop itself; chunks (rather than a doubling array) never copy and touch only the memory used.
 */
const SHIFT = 11;
const CHUNK = 1 << SHIFT;
const FIELDS = 7;

class TradeLog {
  n = 0;
  private readonly syms: Int32Array[] = [];
  private readonly longs: Uint8Array[] = [];
  private readonly fs: Float64Array[] = [];

  push(sym: number, long: boolean, entryTs: number, exitTs: number, entryPrice: number, exitPrice: number, qty: number, pnl: number, fees: number): void {
    const i = this.n++;
    const c = i >> SHIFT;
    const j = i & (CHUNK - 1);
    if (j === 0) {
      this.syms.push(new Int32Array(CHUNK));
      this.longs.push(new Uint8Array(CHUNK));
      this.fs.push(new Float64Array(CHUNK * FIELDS));
    }
    this.syms[c]![j] = sym;
    this.longs[c]![j] = long ? 1 : 0;
    const f = this.fs[c]!, o = j * FIELDS;
    f[o] = entryTs;
    f[o + 1] = exitTs;
    f[o + 2] = entryPrice;
    f[o + 3] = exitPrice;
    f[o + 4] = qty;
    f[o + 5] = pnl;
    f[o + 6] = fees;
  }

  toArray(symbolOf: (i: number) => string): ClosedTrade[] {
    const out: ClosedTrade[] = new Array(this.n);
    for (let i = 0; i < this.n; i++) {
      const c = i >> SHIFT, j = i & (CHUNK - 1);
      const f = this.fs[c]!, o = j * FIELDS;
      const entryPrice = f[o + 2]!, qty = f[o + 4]!, pnl = f[o + 5]!;
      out[i] = {
        symbol: symbolOf(this.syms[c]![j]!),
        side: this.longs[c]![j] ? 'long' : 'short',
        entryTs: f[o]!,
        exitTs: f[o + 1]!,
        entryPrice,
        exitPrice: f[o + 3]!,
        qty,
        pnl,
        fees: f[o + 6]!,
        returnPct: pnl / (entryPrice * qty),
      };
    }
    return out;
  }
}
