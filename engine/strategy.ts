import type { z } from 'zod';
import type { BarView, QuoteEvent, TradeEvent } from './types.ts';
import type { Fill, Order, OrderType, TimeInForce } from './orders.ts';
import type { DecisionReason, DecisionRecord } from './decision.ts';
import type { Rng } from './rng.ts';

/** A signed position: qty > 0 long, < 0 short. */
export interface PositionView {
  readonly symbol: string;
  readonly qty: number;
  readonly avgPrice: number;
  readonly realizedPnl: number;
  readonly unrealizedPnl: number;
}

export interface PortfolioView {
  readonly cash: number;
  readonly equity: number;
  position(symbol: string): PositionView;
}

/**
 * How big an order is. Plain numbers are base-currency quantities; the other forms are resolved
 * against the last close and current equity when the order is placed, then rounded to the market.
 */
export type SizeSpec =
  | number
  | { readonly kind: 'all-in' }
  | { readonly kind: 'fraction'; readonly fraction: number }
  | { readonly kind: 'notional'; readonly notional: number };

export interface Sizing {
  /** All available cash (buys) or the whole position (sells). */
  allIn(): SizeSpec;
  /** A fraction of equity, by notional. */
  fraction(f: number): SizeSpec;
  /** A quote-currency notional. */
  notional(x: number): SizeSpec;
  /** A base-currency quantity. */
  qty(q: number): SizeSpec;
}

export interface OrderOptions {
  readonly size: SizeSpec;
  readonly type?: OrderType;
  readonly price?: number;
  readonly stopPrice?: number;
  readonly trailingAmount?: number;
  readonly trailingPercent?: number;
  readonly timeInForce?: TimeInForce;
  readonly reduceOnly?: boolean;
  readonly postOnly?: boolean;
  readonly reason?: DecisionReason;
}

export interface BracketOptions {
  readonly size: SizeSpec;
  /** Entry: market by default, or a limit price. */
  readonly entryPrice?: number;
  readonly takeProfit: number;
  readonly stopLoss: number;
  readonly reason?: DecisionReason;
}

/** Everything a strategy may touch. Nothing here reaches the outside world. */
export interface StrategyContext<P = unknown> {
  readonly params: P;
  /** The replay clock: the close time of the bar (or the time of the event) being handled. */
  readonly now: number;
  readonly rng: Rng;
  readonly symbols: readonly string[];
  readonly agentId: string;
  /** Declare an indicator (in init). It is computed per symbol and read with `value(name)`. */
  indicator(name: string, kind: string, params?: Readonly<Record<string, number>>): void;
  /** Latest value of a declared indicator for the current (or given) symbol; NaN while warming up. */
  value(name: string, output?: string, symbol?: string): number;
  position(symbol: string): PositionView;
  readonly portfolio: PortfolioView;
  /** This strategy's own past decisions, oldest first. */
  readonly decisions: readonly DecisionRecord[];
  openOrders(symbol?: string): readonly Order[];
  readonly sizing: Sizing;
  /** Returns the client order id, or null when the size rounds to nothing. */
  buy(symbol: string, opts: OrderOptions): string | null;
  sell(symbol: string, opts: OrderOptions): string | null;
  /** Flatten a position with a market order (reduce-only). */
  close(symbol: string, reason?: DecisionReason): string | null;
  /** Entry with attached take-profit and stop-loss (an OCO pair that rests once the entry fills). */
  bracket(symbol: string, side: 'buy' | 'sell', opts: BracketOptions): string | null;
  /** Two resting orders where a fill of one cancels the other. */
  oco(symbol: string, a: OrderOptions & { side: 'buy' | 'sell' }, b: OrderOptions & { side: 'buy' | 'sell' }): [string, string] | null;
  cancel(orderId: string, reason?: DecisionReason): boolean;
  /**
   * Journal a decision that places no order (an agent's considered "hold"), so every decision,
   * not only those that trade, is on the record. Returns the decision id.
   */
  hold(symbol: string, reason?: DecisionReason): string;
  cancelAll(symbol?: string): number;
  /** Ask for `onTimer` at replay time `ts` (ignored if not in the future). */
  setTimer(ts: number): void;
}

export interface StrategyDefinition<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly description?: string;
  readonly params: S;
  init?(ctx: StrategyContext<z.output<S>>): void;
  onBar?(ctx: StrategyContext<z.output<S>>, bar: BarView): void;
  onTrade?(ctx: StrategyContext<z.output<S>>, trade: TradeEvent): void;
  onQuote?(ctx: StrategyContext<z.output<S>>, quote: QuoteEvent): void;
  onFill?(ctx: StrategyContext<z.output<S>>, fill: Fill): void;
  onTimer?(ctx: StrategyContext<z.output<S>>, ts: number): void;
}

export type AnyStrategy = StrategyDefinition<z.ZodType>;

/** Identity with types: `export default defineStrategy({...})` in a user's strategy file. */
export function defineStrategy<S extends z.ZodType>(def: StrategyDefinition<S>): StrategyDefinition<S> {
  return def;
}
