/**
 * Risk engine cost (issue 3): checks/s with the seed's limits plus price band, data age, open
 * orders and a kill switch, over 1 M orders; against a baseline loop in the same process that
 * does the same view reads and one notional comparison (what "no risk engine" would still cost).
 * Then the kill switch: time from `trip()` to the next order being refused, 10 000 times.
 *
 *   npx tsx test/bench/risk.ts [orders=1000000]
 *
 * One JSON line per figure.
 */
import { KillSwitch } from '../../engine/killswitch.ts';
import { RiskEngine, type RiskOrder, type RiskView } from '../../engine/risk.ts';
import { createRng } from '../../engine/rng.ts';
import { emit } from './support.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const SYMBOLS = ['BTC/USDT', 'ETH/USDT'];
const T0 = Date.UTC(2024, 0, 1);

// A view the way an engine would implement it: fields and small maps, nothing allocated per call.
const pos = new Map<string, number>([['BTC/USDT', 0.01], ['ETH/USDT', -0.2]]);
const last = new Map<string, number>([['BTC/USDT', 40_000], ['ETH/USDT', 2_000]]);
const view: RiskView & { ts: number } = {
  ts: T0,
  equity: 100_000,
  positionQty: (s) => pos.get(s) ?? 0,
  openBuyQty: () => 0,
  openSellQty: () => 0,
  openOrderCount: () => 3,
  lastPrice: (s) => last.get(s) ?? Number.NaN,
  lastPriceTs: () => view.ts - 1_000,
};

const rng = createRng(3);
const orders: RiskOrder[] = Array.from({ length: 4096 }, () => {
  const symbol = SYMBOLS[rng.int(2)]!;
  const limit = rng.next() < 0.3;
  const px = last.get(symbol)!;
  return {
    agentId: rng.next() < 0.5 ? 'a1' : 'a2', symbol, side: rng.next() < 0.5 ? 'buy' : 'sell',
    type: limit ? 'limit' : 'market', amount: (rng.next() * 6000) / px, ...(limit ? { price: px * (1 + (rng.next() - 0.5) * 0.04) } : {}),
  };
});

const config = {
  maxPositionNotional: '5000 USD', maxDailyLoss: -10_000, maxDrawdown: '-20%', maxTradesPerHour: 10,
  allowedSymbols: ['BTC/USDT', 'ETH/USDT'], priceBandPct: 5, maxDataAgeMs: '5m', maxOpenOrders: 50,
  agents: { a2: { maxOrderNotional: 2000 } },
};

let spacingMs = 0;
function run(check: (o: RiskOrder) => boolean): { seconds: number; accepted: number } {
  let accepted = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    view.ts = T0 + i * spacingMs;
    if (check(orders[i & 4095]!)) accepted++;
  }
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, accepted };
}

function best(fn: () => { seconds: number; accepted: number }, rounds = 5): { seconds: number; accepted: number } {
  fn();
  let b = fn();
  for (let r = 1; r < rounds; r++) {
    const x = fn();
    if (x.seconds < b.seconds) b = x;
  }
  return b;
}

function measure(label: string, spacing: number): void {
spacingMs = spacing;
const baseline = best(() =>
  run((o) => {
    const p = view.positionQty(o.symbol) + (o.side === 'buy' ? o.amount : -o.amount);
    return Math.abs(p) * view.lastPrice(o.symbol) <= 5000 && view.lastPriceTs(o.symbol) >= 0;
  }),
);

const risk = new RiskEngine(RiskEngine.from(config).config, { killSwitch: new KillSwitch() });
risk.onMark(T0, 100_000);
// Count accepted orders toward the hourly limit, as the engine would, so that path is exercised.
const full = best(() =>
  run((o) => {
    const ok = risk.check(o, view).ok;
    if (ok) risk.onOrderAccepted(o, view.ts);
    return ok;
  }),
);

emit({
  bench: `risk.check.${label}`, orders: N, spacingMs: spacing, value: Math.round(N / full.seconds), unit: 'checks/s', nsPerCheck: +((full.seconds / N) * 1e9).toFixed(1),
  msPer1MOrders: +((full.seconds / N) * 1e9).toFixed(1), accepted: full.accepted,
  baseline: Math.round(N / baseline.seconds), baselineName: 'view reads + one notional comparison', ratio: +(baseline.seconds / full.seconds).toFixed(3),
});
}

// Orders 6 min apart: the hourly limit (10) is never hit, most orders pass, oversized ones are refused.
measure('mostly-accepted', 360_000);
// Orders 10 ms apart: after 10 per hour every order is refused, a message built for each (a reckless strategy).
measure('mostly-rejected', 10);

// Kill switch: trip, then the very next order. Latency = trip() + that check, per repetition.
const ks = new KillSwitch();
const r2 = new RiskEngine(RiskEngine.from({ maxPositionNotional: 1e9 }).config, { killSwitch: ks });
const o: RiskOrder = { agentId: 'a1', symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: 0.01 };
const REPS = 10_000;
const lat = new Float64Array(REPS);
let refusedNext = 0;
for (let i = 0; i < REPS; i++) {
  if (!r2.check(o, view).ok) throw new Error('should accept while ACTIVE');
  const t0 = process.hrtime.bigint();
  ks.trip({ scope: 'global' }, 'HALTED', { by: 'bench', reason: 'latency', ts: T0 + i });
  const refused = !r2.check(o, view).ok;
  lat[i] = Number(process.hrtime.bigint() - t0);
  if (refused) refusedNext++;
  ks.override({ scope: 'global' }, { by: 'bench', reason: 'reset', ts: T0 + i });
}
lat.sort();
emit({
  bench: 'killswitch.trip-to-refusal', value: +(lat[REPS >> 1]! / 1e3).toFixed(2), unit: 'µs (median)', p99: +(lat[Math.floor(REPS * 0.99)]! / 1e3).toFixed(2),
  max: +(lat[REPS - 1]! / 1e3).toFixed(2), refusedOnNextOrder: `${refusedNext}/${REPS}`, target: '< 10 ms',
  baseline: 10_000, baselineName: 'target µs', ratio: +(10_000 / (lat[REPS >> 1]! / 1e3)).toFixed(0),
});
