import { Journal, type JournalEntry } from '../../engine/journal.ts';
import type { DecisionRecord } from '../../engine/decision.ts';
import type { Fill } from '../../engine/orders.ts';

export const T0 = Date.UTC(2024, 0, 1);

/**
 * A small run, journaled as the engine would: start 10 000 cash; buy 1 BTC @100 (fee 0.1),
 * sell 0.4 @110 (fee 0.044), one limit order left resting, one rejected order, a kill-switch trip.
 */
export function sampleJournal(): Journal {
  const j = new Journal();
  j.append('run_start', {
    runId: 'r1', codeHash: 'c0de', strategy: 'rsi-mean-reversion', params: { period: 14 }, seed: 7,
    datasetHash: 'da7a', cash: 10_000, lotMethod: 'fifo',
  }, T0);
  const decision = (id: string, action: 'buy' | 'sell', orderIds: string[], ts: number): DecisionRecord => ({
    id, ts, agentId: 'a1', symbol: 'BTC/USDT', action, factors: { rsi: action === 'buy' ? 27.4 : 71.2, trendUp: true },
    weights: { rsi: 0.7, trend: 0.3 }, confidence: 62, reasoning: `RSI ${action === 'buy' ? 'oversold' : 'overbought'}`, orderIds,
  });
  const order = (id: string, decisionId: string, side: 'buy' | 'sell', amount: number, price?: number) => ({
    id, agentId: 'a1', decisionId, symbol: 'BTC/USDT', side, type: price === undefined ? ('market' as const) : ('limit' as const),
    amount, ...(price === undefined ? {} : { price }),
  });
  const fill = (orderId: string, side: 'buy' | 'sell', amount: number, price: number, fee: number, ts: number): Fill => ({
    orderId, agentId: 'a1', symbol: 'BTC/USDT', side, amount, price, fee, liquidity: 'taker', ts,
  });
  let t = T0 + 60_000;
  j.append('decision', decision('d1', 'buy', ['o1'], t), t);
  j.append('order_submitted', order('o1', 'd1', 'buy', 1), t);
  j.append('order_accepted', { id: 'o1', checks: ['killSwitch', 'global.maxPositionNotional'] }, t);
  t += 60_000;
  j.append('fill', fill('o1', 'buy', 0.5, 100, 0.05, t), t);
  j.append('fill', fill('o1', 'buy', 0.5, 100, 0.05, t), t);
  t += 60_000;
  j.append('decision', decision('d2', 'sell', ['o2'], t), t);
  j.append('order_submitted', order('o2', 'd2', 'sell', 0.4), t);
  j.append('order_accepted', { id: 'o2', checks: ['killSwitch'] }, t);
  t += 60_000;
  j.append('fill', fill('o2', 'sell', 0.4, 110, 0.044, t), t);
  j.append('decision', decision('d3', 'buy', ['o3'], t), t);
  j.append('order_submitted', order('o3', 'd3', 'buy', 0.2, 95), t);
  j.append('order_accepted', { id: 'o3', checks: ['killSwitch'] }, t);
  j.append('decision', decision('d4', 'buy', ['o4'], t), t);
  // Refused by the risk engine before the broker: no order_submitted, the rejection carries the order.
  j.append('order_rejected', {
    ...order('o4', 'd4', 'buy', 100),
    breach: { limit: 'maxPositionNotional', scope: 'global', limitValue: 5000, attempted: 11_060, current: 660, message: 'too big' },
  }, t);
  t += 60_000;
  j.append('killswitch', {
    scope: 'agent', agentId: 'a1', from: 'ACTIVE', to: 'REDUCING', by: 'alice', reason: 'review', ts: t, auto: false, cancelAll: false, flatten: false,
  }, t);
  j.append('run_end', { finalEquity: 10_011.056, marks: { 'BTC/USDT': 112 } }, t);
  return j;
}

export function clone(entries: readonly JournalEntry[]): JournalEntry[] {
  return JSON.parse(JSON.stringify(entries)) as JournalEntry[];
}
