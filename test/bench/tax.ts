/**
 * Tax lot matching throughput: fills/s of matchLots (exact BigInt money, decimal quantities) for
 * FIFO, LIFO and HIFO, against the engine's float64 Portfolio applying the same fills with
 * closed-lot tracking, measured in the same process (the baseline: what exactness costs).
 *
 *   npx tsx test/bench/tax.ts [fills=50000]
 *
 * Rates are from CPU time (user + system) of the best of 3, since two shared cores make wall time
 * mostly queueing; wall seconds are printed beside.
 *
 * The history scales in and out of 2 assets (buys of 0.001–0.5, sells of a random part of the
 * holding), so sells split across lots and a few dozen lots stay open, as in a busy backtest.
 */
import { Portfolio } from '../../engine/portfolio.ts';
import { createRng } from '../../engine/rng.ts';
import { matchLots, type TaxFill } from '../../reports/tax.ts';
import { emit } from './support.ts';

const N = Number(process.argv[2] ?? 50_000);
const secs = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = (c0: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};

const rng = createRng(4);
const held: Record<string, number> = { BTC: 0, ETH: 0 };
const fills: TaxFill[] = [];
const T0 = Date.UTC(2020, 0, 1);
for (let k = 0; fills.length < N; k++) {
  const asset = k & 1 ? 'ETH' : 'BTC';
  const milli = held[asset]!;
  const sell = milli > 0 && rng.next() < 0.45;
  const q = sell ? Math.max(1, Math.floor(milli * rng.next())) : 1 + rng.int(500);
  held[asset] = milli + (sell ? -q : q);
  const price = (asset === 'BTC' ? 20_000 : 1_500) + rng.int(100_000) / 100;
  const amount = q / 1000;
  fills.push({ orderId: `o${k}`, symbol: `${asset}/USDT`, side: sell ? 'sell' : 'buy', amount, price, fee: Math.round(amount * price * 10) / 10_000, ts: T0 + k * 600_000 });
}

let baseS = Infinity;
let baseWall = Infinity;
for (let r = 0; r < 3; r++) {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const p = new Portfolio({ cash: 1e12, lotMethod: 'fifo', trackClosedLots: true });
  for (const f of fills) p.applyFill({ orderId: f.orderId, agentId: 'a', symbol: f.symbol, side: f.side, amount: f.amount as number, price: f.price as number, fee: f.fee as number, liquidity: 'taker', ts: f.ts });
  baseS = Math.min(baseS, cpu(c0));
  baseWall = Math.min(baseWall, secs(t0));
}
const baseline = Math.round(N / baseS);
emit({ bench: 'tax.baseline.portfolio-float64', fills: N, value: baseline, unit: 'fills/s', cpuSeconds: +baseS.toFixed(3), wallSeconds: +baseWall.toFixed(3) });

for (const method of ['fifo', 'lifo', 'hifo'] as const) {
  let best = Infinity;
  let wall = Infinity;
  let rows = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    rows = matchLots(fills, { method }).rows.length;
    best = Math.min(best, cpu(c0));
    wall = Math.min(wall, secs(t0));
  }
  const value = Math.round(N / best);
  emit({ bench: `tax.matchLots.${method}`, fills: N, rows, value, unit: 'fills/s', cpuSeconds: +best.toFixed(3), wallSeconds: +wall.toFixed(3), baseline, ratio: +(value / baseline).toFixed(3) });
}
