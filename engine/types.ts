/**
 * Market events. Every event carries an integer epoch-millisecond `ts` and a per-source `seq`.
 * A bar is stamped with its OPEN time (ccxt convention) and becomes visible at `ts + timeframeMs`.
 */
export type Side = 'buy' | 'sell';

export interface BarEvent {
  readonly kind: 'bar';
  readonly ts: number;
  readonly seq: number;
  readonly source: number;
  readonly symbol: string;
  readonly timeframeMs: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
}

export interface TradeEvent {
  readonly kind: 'trade';
  readonly ts: number;
  readonly seq: number;
  readonly source: number;
  readonly symbol: string;
  readonly price: number;
  readonly amount: number;
  /** Aggressor side when the exchange reports it. */
  readonly side?: Side;
}

export interface QuoteEvent {
  readonly kind: 'quote';
  readonly ts: number;
  readonly seq: number;
  readonly source: number;
  readonly symbol: string;
  readonly bid: number;
  readonly bidSize: number;
  readonly ask: number;
  readonly askSize: number;
}

export type MarketEvent = BarEvent | TradeEvent | QuoteEvent;

/**
 * The instant an event may be seen by a strategy. For bars that is the close, not the stamp:
 * ordering a merge by the stamp would hand a strategy a 1h bar before the trades inside it.
 */
export function releaseTs(e: MarketEvent): number {
  return e.kind === 'bar' ? e.ts + e.timeframeMs : e.ts;
}

/**
 * Bars of one symbol and timeframe in columns (the fast path). `ts` holds open times in epoch ms;
 * float64 represents every ms timestamp exactly. Arrays may be views on SharedArrayBuffers.
 */
export interface BarColumns {
  readonly symbol: string;
  readonly timeframeMs: number;
  readonly length: number;
  readonly ts: Float64Array;
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly volume: Float64Array;
}

/** Zero-copy views of rows [from, to) — the result still shares the parent's buffer. */
export function sliceBars(c: BarColumns, from: number, to: number): BarColumns {
  return {
    symbol: c.symbol,
    timeframeMs: c.timeframeMs,
    length: Math.max(0, to - from),
    ts: c.ts.subarray(from, to),
    open: c.open.subarray(from, to),
    high: c.high.subarray(from, to),
    low: c.low.subarray(from, to),
    close: c.close.subarray(from, to),
    volume: c.volume.subarray(from, to),
  };
}

/** A reused, read-only view of the current bar. Never keep a reference to it past the callback. */
export interface BarView {
  readonly symbol: string;
  readonly ts: number;
  readonly closeTs: number;
  readonly timeframeMs: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
  /** Index of this bar within its symbol's series (0-based). */
  readonly index: number;
}

/** Exchange precision and limits, in ccxt's vocabulary. Steps of 0 mean "no rounding". */
export interface MarketSpec {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly tickSize: number;
  readonly amountStep: number;
  readonly minAmount: number;
  readonly minNotional: number;
}

export function defaultMarket(symbol: string): MarketSpec {
  const [base = symbol, quote = 'USD'] = symbol.split('/');
  return { symbol, base, quote, tickSize: 0, amountStep: 0, minAmount: 0, minNotional: 0 };
}
