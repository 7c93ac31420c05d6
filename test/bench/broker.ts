/**
 * Benchmark 2 of issue 2: one million market orders through the simulated broker and the portfolio
 * (submit → fill at the next bar's open → lots, cash, round trips). Target < 500 ms.
 *
 *   npx tsx test/bench/broker.ts
 */
import { SimulatedBroker, defaultBrokerConfig } from '../../engine/broker.ts';
import { Portfolio } from '../../engine/portfolio.ts';
import { createRng } from '../../engine/rng.ts';
import { defaultMarket } from '../../engine/types.ts';

const emit = (o: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(o) + '\n');
const best = (runs: number, f: () => void, warm = 2): number => {
  for (let r = 0; r < warm; r++) f();
  let b = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    f();
    b = Math.min(b, performance.now() - t0);
  }
  return b / 1000;
};

{
  const N = 1_000_000;
  const run = (): void => {
    const pf = new Portfolio({ cash: 1e12 });
    const m = defaultMarket('BTC/USDT');
    const broker = new SimulatedBroker(defaultBrokerConfig, pf, () => m, createRng(1), () => {});
    for (let i = 0; i < N; i++) {
      broker.submit({ symbol: 'BTC/USDT', side: i & 1 ? 'sell' : 'buy', type: 'market', amount: 1 }, { id: `o${i}`, agentId: 'bench', decisionId: `d${i}`, now: i * 60_000 });
      const px = 30_000 + (i % 100);
      broker.onBar('BTC/USDT', i * 60_000, px, px + 5, px - 5, px + 1, 1e9);
    }
  };
  // Baseline: the same loop's bookkeeping with no broker (allocating an order-sized object and a fill).
  const base = (): void => {
    let cash = 1e12, qty = 0;
    for (let i = 0; i < N; i++) {
      const o = { id: `o${i}`, side: i & 1 ? 'sell' : 'buy', amount: 1, price: 30_000 + (i % 100) };
      const s = o.side === 'buy' ? 1 : -1;
      cash -= s * o.amount * o.price + o.amount * o.price * 0.001;
      qty += s * o.amount;
    }
    if (cash === qty) process.stdout.write('');
  };
  const s = best(3, run);
  const b = best(3, base);
  emit({ bench: 'broker.1M-market-orders', value: Math.round(s * 1000), unit: 'ms', target: 500, ordersPerSec: Math.round(N / s), baseline: Math.round(b * 1000), baselineName: 'plain object bookkeeping loop', ratio: +(b / s).toFixed(4) });
}

