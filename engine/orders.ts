import type { Side } from './types.ts';

export type OrderType = 'market' | 'limit' | 'stop' | 'stop_limit' | 'trailing_stop';
export type TimeInForce = 'GTC' | 'IOC' | 'FOK';

/** What a strategy asks for. Amounts are in base units and always positive; `side` gives direction. */
export interface OrderRequest {
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly amount: number;
  /** Limit price (limit, stop_limit). */
  readonly price?: number;
  /** Trigger price (stop, stop_limit). For trailing stops: the initial trigger, optional. */
  readonly stopPrice?: number;
  /** Trailing distance, by absolute amount or by percent (0–100) of the best price seen. */
  readonly trailingAmount?: number;
  readonly trailingPercent?: number;
  readonly timeInForce?: TimeInForce;
  readonly reduceOnly?: boolean;
  readonly postOnly?: boolean;
}

export type OrderStatus = 'pending' | 'open' | 'filled' | 'cancelled' | 'rejected' | 'expired';

/** An order as the broker tracks it. `id` is a deterministic client id. */
export interface Order extends OrderRequest {
  readonly id: string;
  readonly agentId: string;
  readonly decisionId: string;
  /** Decision time (the replay clock when submitted). */
  readonly createdTs: number;
  /** Earliest time the order can reach the book (createdTs + latency). */
  readonly activeTs: number;
  status: OrderStatus;
  filled: number;
  avgPrice: number;
  fees: number;
  /** Current trigger of a trailing stop (moves with the best price). */
  trailTrigger?: number;
  /** Best price seen while a trailing stop rests (high for sells, low for buys). */
  trailAnchor?: number;
  /** Orders in the same OCO group cancel each other when one fills (even partly). */
  ocoGroup?: string;
  /** Bracket children wait for their parent's fill before they rest on the book. */
  parentId?: string;
  /** True once a stop/stop-limit has triggered (stop-limit then rests as a limit). */
  triggered?: boolean;
}

export interface Fill {
  readonly orderId: string;
  readonly agentId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly amount: number;
  readonly price: number;
  /** Fee in quote currency, never negative. */
  readonly fee: number;
  readonly liquidity: 'maker' | 'taker';
  readonly ts: number;
}

export const isBuy = (side: Side): boolean => side === 'buy';
export const signOf = (side: Side): 1 | -1 => (side === 'buy' ? 1 : -1);
