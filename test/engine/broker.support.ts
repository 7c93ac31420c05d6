import { z } from 'zod';
import { SimulatedBroker, defaultBrokerConfig, type BrokerConfig, type BrokerEvent, type SubmitMeta } from '../../engine/broker.ts';
import { Portfolio } from '../../engine/portfolio.ts';
import { createRng } from '../../engine/rng.ts';
import { defaultMarket, type BarColumns, type MarketSpec } from '../../engine/types.ts';
import type { Fill, Order, OrderRequest } from '../../engine/orders.ts';
import { defineStrategy, type AnyStrategy, type StrategyContext } from '../../engine/strategy.ts';
import type { BarView } from '../../engine/types.ts';

/** One-minute bars starting at t = 0: bar i spans [i·TF, (i+1)·TF) and is decided at (i+1)·TF. */
export const TF = 60_000;
export const SYM = 'BTC/USDT';

/** Fee-free, slippage-free broker config: each test turns on only what it checks. */
export const plain: BrokerConfig = { ...defaultBrokerConfig, makerFeeBps: 0, takerFeeBps: 0, slippage: { kind: 'none' } };

export interface Rig {
  readonly broker: SimulatedBroker;
  readonly portfolio: Portfolio;
  readonly events: BrokerEvent[];
  fills(): Fill[];
  cancels(): { id: string; reason: string; ts: number }[];
  submit(req: Omit<OrderRequest, 'symbol'> & { symbol?: string }, now: number, extra?: Partial<SubmitMeta>): Order;
  /** Bar i of SYM (open time i·TF). */
  bar(i: number, o: number, h: number, l: number, c: number, v?: number): void;
  /** Open a position directly in the portfolio (a fill outside the broker). */
  hold(qty: number, price: number): void;
}

export function rig(config: Partial<BrokerConfig> = {}, opts: { cash?: number; seed?: number; market?: MarketSpec } = {}): Rig {
  const portfolio = new Portfolio({ cash: opts.cash ?? 1_000_000 });
  const events: BrokerEvent[] = [];
  const market = opts.market;
  const broker = new SimulatedBroker(
    { ...plain, ...config },
    portfolio,
    (s) => (market && market.symbol === s ? market : defaultMarket(s)),
    createRng(opts.seed ?? 1),
    (e) => events.push(e),
  );
  let n = 0;
  return {
    broker,
    portfolio,
    events,
    fills: () => events.flatMap((e) => (e.kind === 'filled' ? [e.fill] : [])),
    cancels: () => events.flatMap((e) => (e.kind === 'cancelled' ? [{ id: e.order.id, reason: e.reason, ts: e.ts }] : [])),
    submit(req, now, extra = {}) {
      const id = extra.id ?? `o${++n}`;
      return broker.submit({ symbol: SYM, ...req } as OrderRequest, { id, agentId: 'a', decisionId: `d-${id}`, now, ...extra });
    },
    bar(i, o, h, l, c, v = 1e12) {
      broker.onBar(SYM, i * TF, o, h, l, c, v);
    },
    hold(qty, price) {
      portfolio.applyFill({ orderId: 'setup', agentId: 'a', symbol: SYM, side: qty > 0 ? 'buy' : 'sell', amount: Math.abs(qty), price, fee: 0, liquidity: 'taker', ts: -1 });
    },
  };
}

/** Hand-made bars: rows of [open, high, low, close] or [open, high, low, close, volume]. */
export function bars(rows: readonly (readonly number[])[], symbol = SYM, tf = TF, start = 0): BarColumns {
  const n = rows.length;
  const col = (k: number, dflt: number): Float64Array => Float64Array.from(rows, (r) => r[k] ?? dflt);
  return {
    symbol,
    timeframeMs: tf,
    length: n,
    ts: Float64Array.from({ length: n }, (_, i) => start + i * tf),
    open: col(0, NaN),
    high: col(1, NaN),
    low: col(2, NaN),
    close: col(3, NaN),
    volume: col(4, 1e12),
  };
}

/**
 * A tiny strategy from a per-bar script: `script[i]` runs at bar i's close (the decision time).
 * Everything it sees is recorded for assertions.
 */
export function scripted(script: Record<number, (ctx: StrategyContext<unknown>, bar: BarView) => void>, onFill?: (f: Fill) => void): AnyStrategy {
  return defineStrategy({
    name: 'scripted',
    params: z.object({}),
    onBar(ctx, bar) {
      script[bar.index]?.(ctx as StrategyContext<unknown>, bar);
    },
    ...(onFill ? { onFill: (_ctx: unknown, f: Fill) => onFill(f) } : {}),
  }) as unknown as AnyStrategy;
}
