import type { TaxFill } from '../../reports/tax.ts';

/** Noon UTC of a calendar date: far from midnight, so no time zone can move the date. */
export const day = (iso: string): number => Date.parse(`${iso}T12:00:00Z`);

export const buy = (orderId: string, date: string, amount: number | string, price: number | string, fee: number | string, symbol = 'BTC/USD'): TaxFill =>
  ({ orderId, symbol, side: 'buy', amount, price, fee, ts: day(date) });
export const sell = (orderId: string, date: string, amount: number | string, price: number | string, fee: number | string, symbol = 'BTC/USD'): TaxFill =>
  ({ orderId, symbol, side: 'sell', amount, price, fee, ts: day(date) });

/** "1234.56" → 123456n (the report's money text, read back without floats). */
export const cents = (s: string): bigint => {
  const m = /^(-)?(\d+)\.(\d\d)$/.exec(s);
  if (!m) throw new Error(`not money: ${s}`);
  return (m[1] ? -1n : 1n) * BigInt(m[2]! + m[3]!);
};
