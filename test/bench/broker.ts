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
import { RiskEngine, riskGate } from '../../engine/risk.ts';
import type { EngineView } from '../../engine/backtest.ts';
import { emit, best } from './support.ts';

{
  const N = 1_000_000;
  const run = (): void => {
    const pf = new Portfolio({ cash: 1e12 });
    const m = defaultMarket('BTC/USDT');
    const broker = new SimulatedBroker(defaultBrokerConfig, pf, () => m, createRng(1), () => {});
    // As in a backtest: the bar's path fills what rests (the previous bar's order at this open),
    // then the strategy's order for the next bar is submitted.
    for (let i = 0; i < N; i++) {
      const px = 30_000 + (i % 100);
      broker.onBar('BTC/USDT', i * 60_000, px, px + 5, px - 5, px + 1, 1e9);
      broker.submit({ symbol: 'BTC/USDT', side: i & 1 ? 'sell' : 'buy', type: 'market', amount: 1 }, { id: `o${i}`, agentId: 'bench', decisionId: `d${i}`, now: i * 60_000 });
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
  const s = best(3, run, 2);
  const b = best(3, base, 2);
  emit({ bench: 'broker.1M-market-orders', value: Math.round(s * 1000), unit: 'ms', target: 500, ordersPerSec: Math.round(N / s), baseline: Math.round(b * 1000), baselineName: 'plain object bookkeeping loop', ratio: +(b / s).toFixed(4) });
}


// The same million orders, each first passing the risk engine (issue 3's figure: the 1 M-order
// benchmark must stay under 500 ms with it on). Limits are set so every order is checked against
// position, order-notional, trades-per-hour, daily-loss, drawdown, symbol and price-band rules and
// passes; the gate is the engine's own adapter (riskGate) over an EngineView of the live portfolio
// and broker, and marks reach it every bar as in a backtest.
{
  const N = 1_000_000;
  const limits = {
    maxPositionQty: 10,
    maxPositionNotional: 1e9,
    maxOrderNotional: 1e9,
    maxDailyLoss: -1e12,
    maxDrawdown: '99%',
    maxTradesPerHour: 100, // one order a minute: 60 an hour, so it counts every order and never refuses
    allowedSymbols: ['BTC/USDT'],
    priceBandPct: 50,
    maxOpenOrders: 100,
  };
  /** The engine's view of its own state, as the backtest engine implements it (no closures). */
  class View implements EngineView {
    ts = 0;
    constructor(private readonly pf: Portfolio, private readonly broker: SimulatedBroker) {}
    get cash(): number {
      return this.pf.cash;
    }
    equity(): number {
      return this.pf.equity();
    }
    qty(s: string): number {
      return this.pf.qty(s);
    }
    avgPrice(s: string): number {
      return this.pf.position(s).avgPrice;
    }
    lastPrice(s: string): number {
      return this.pf.lastPrice(s);
    }
    lastDataTs(): number {
      return this.ts;
    }
    openOrderCount(): number {
      return this.broker.hasOpenOrders ? 1 : 0;
    }
    openQty(s: string, side: 'buy' | 'sell'): number {
      return this.broker.openQty(s, side);
    }
  }
  const run = (): void => {
    const gate = riskGate(RiskEngine.from(limits));
    const pf = new Portfolio({ cash: 1e12 });
    const m = defaultMarket('BTC/USDT');
    const broker = new SimulatedBroker(defaultBrokerConfig, pf, () => m, createRng(1), () => {});
    const view = new View(pf, broker);
    let rejected = 0;
    for (let i = 0; i < N; i++) {
      const ts = i * 60_000;
      view.ts = ts;
      const px = 30_000 + (i % 100);
      broker.onBar('BTC/USDT', ts, px, px + 5, px - 5, px + 1, 1e9);
      pf.mark('BTC/USDT', px + 1); // the engine marks at the close before the strategy decides
      gate.onMark!(ts, view);
      const req = { symbol: 'BTC/USDT', side: i & 1 ? ('sell' as const) : ('buy' as const), type: 'market' as const, amount: 1 };
      // The fields the engine's gate call passes (engine/backtest.ts place()).
      if (gate.check({ agentId: 'bench', refPrice: px, symbol: req.symbol, side: req.side, type: req.type, amount: req.amount, price: undefined, stopPrice: undefined, reduceOnly: false }, view).ok) {
        broker.submit(req, { id: `o${i}`, agentId: 'bench', decisionId: `d${i}`, now: ts });
      } else rejected++;
    }
    if (rejected !== 0) throw new Error(`${rejected} orders were rejected: the bench must measure accepted orders`);
  };
  const s = best(3, run, 2);
  emit({ bench: 'broker.1M-market-orders.with-risk-engine', value: Math.round(s * 1000), unit: 'ms', target: 500, ordersPerSec: Math.round(N / s) });
}
