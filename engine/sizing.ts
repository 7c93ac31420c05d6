import type { MarketSpec } from './types.ts';
import { checkMarketLimits, roundAmount } from './market.ts';
import { varianceOf } from './overfitting.ts';

/**
 * Position sizing rules a strategy or agent can use instead of a raw quantity. Each returns a
 * base-currency quantity rounded DOWN to the market's `amountStep`, or 0 when the result is below
 * `minAmount`/`minNotional` (an order that small would be refused by the exchange anyway).
 * Bad inputs (non-finite, negative equity or price) size to 0 rather than throwing: a sizing
 * rule is called in the hot path and "don't trade" is the safe answer.
 *
 *   fixedFractionalQty: risk `riskFraction` of equity between entry and stop.
 *   volTargetQty:       notional so the position's annualised vol equals the target.
 *   kellyFraction:      f* = p − (1 − p) / b, times `fraction`, clamped to [0, cap].
 *   kellyQty:           kellyFraction × equity, in base units at `price`.
 */

/** Round a raw quantity to the market; 0 when it cannot be traded. */
export function toMarketQty(qty: number, price: number, market: MarketSpec): number {
  if (!(qty > 0) || !Number.isFinite(qty) || !(price > 0)) return 0;
  const q = roundAmount(qty, market.amountStep);
  return checkMarketLimits(market, q, price) === null ? q : 0;
}

export interface FixedFractionalInput {
  readonly equity: number;
  /** Share of equity lost if the stop is hit (0.01 = 1%). */
  readonly riskFraction: number;
  readonly entryPrice: number;
  readonly stopPrice: number;
  readonly market: MarketSpec;
}

export function fixedFractionalQty(i: FixedFractionalInput): number {
  const dist = Math.abs(i.entryPrice - i.stopPrice);
  if (!(i.equity > 0) || !(i.riskFraction > 0) || !(dist > 0)) return 0;
  return toMarketQty((i.equity * i.riskFraction) / dist, i.entryPrice, i.market);
}

export type VolatilityInput =
  /** Average true range in price units, per bar of a timeframe with `periodsPerYear` bars. */
  | { readonly kind: 'atr'; readonly atr: number; readonly periodsPerYear: number }
  /** Annualised realised volatility (e.g. from `realisedVol`). */
  | { readonly kind: 'realised'; readonly annualVol: number };

export interface VolTargetInput {
  readonly equity: number;
  /** Target annualised volatility of the position as a share of equity (0.2 = 20%). */
  readonly targetAnnualVol: number;
  readonly price: number;
  readonly vol: VolatilityInput;
  /** Cap on notional / equity (default 1: no leverage). */
  readonly maxLeverage?: number;
  readonly market: MarketSpec;
}

/** Annualised volatility of the asset implied by the input. ATR/price is used as a per-bar σ proxy. */
export function annualVolOf(v: VolatilityInput, price: number): number {
  return v.kind === 'realised' ? v.annualVol : (v.atr / price) * Math.sqrt(v.periodsPerYear);
}

export function volTargetQty(i: VolTargetInput): number {
  if (!(i.equity > 0) || !(i.price > 0) || !(i.targetAnnualVol > 0)) return 0;
  const vol = annualVolOf(i.vol, i.price);
  if (!(vol > 0) || !Number.isFinite(vol)) return 0;
  const lev = Math.min(i.targetAnnualVol / vol, i.maxLeverage ?? 1);
  return toMarketQty((i.equity * lev) / i.price, i.price, i.market);
}

/** Sample standard deviation of per-period simple returns × √periodsPerYear (0 with fewer than two). */
export function realisedVol(returns: ArrayLike<number>, periodsPerYear: number): number {
  return Math.sqrt(varianceOf(returns) * periodsPerYear);
}

export interface KellyInput {
  /** Measured share of winning trades, 0..1. */
  readonly winRate: number;
  /** Average win / average loss (both as positive amounts). */
  readonly payoffRatio: number;
  /** Fractional Kelly multiplier (0.5 = half Kelly); default 1. */
  readonly fraction?: number;
  /** Upper bound on the returned fraction of equity; default 0.25. */
  readonly cap?: number;
}

/** Share of equity to stake: never negative (no edge → 0), never above the cap. */
export function kellyFraction(i: KellyInput): number {
  const p = i.winRate, b = i.payoffRatio;
  if (!(p >= 0 && p <= 1) || !(b > 0)) return 0;
  const f = (p - (1 - p) / b) * (i.fraction ?? 1);
  return Math.min(Math.max(f, 0), i.cap ?? 0.25);
}

export function kellyQty(i: KellyInput & { readonly equity: number; readonly price: number; readonly market: MarketSpec }): number {
  if (!(i.equity > 0)) return 0;
  return toMarketQty((kellyFraction(i) * i.equity) / i.price, i.price, i.market);
}
