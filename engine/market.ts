import type { MarketSpec } from './types.ts';

/**
 * Deterministic rounding to exchange precision. Quantities round DOWN to the lot step (never buy
 * more than asked or afforded); prices round to the NEAREST tick. The result is re-parsed from a
 * fixed-decimal string so that, e.g., 3 × 0.1 becomes 0.3 and not 0.30000000000000004 on every machine.
 */
export function decimalsOf(step: number): number {
  if (step <= 0) return 0;
  const s = step.toString();
  const e = s.indexOf('e-');
  if (e >= 0) return Number(s.slice(e + 2)) + (s.indexOf('.') >= 0 ? e - s.indexOf('.') - 1 : 0);
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
}

export function roundAmount(amount: number, step: number): number {
  if (!(step > 0)) return amount;
  // The epsilon absorbs representation error (0.3 / 0.1 = 2.9999999999999996) without rounding up real remainders.
  const k = Math.floor(amount / step + 1e-9);
  return Number((k * step).toFixed(decimalsOf(step)));
}

export function roundPrice(price: number, tick: number): number {
  if (!(tick > 0)) return price;
  const k = Math.round(price / tick);
  return Number((k * tick).toFixed(decimalsOf(tick)));
}

/** Why an amount/price cannot be traded on this market, or null when it can. */
export function checkMarketLimits(market: MarketSpec, amount: number, price: number): string | null {
  if (!(amount > 0)) return `amount ${amount} rounds to zero at lot step ${market.amountStep}`;
  if (market.minAmount > 0 && amount < market.minAmount) return `amount ${amount} below the minimum ${market.minAmount}`;
  if (market.minNotional > 0 && amount * price < market.minNotional) {
    return `notional ${(amount * price).toFixed(8)} below the minimum ${market.minNotional}`;
  }
  return null;
}
