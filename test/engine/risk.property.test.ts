import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KillSwitch } from '../../engine/killswitch.ts';
import { RiskEngine } from '../../engine/risk.ts';
import { SimAccount } from './risk.support.ts';

/**
 * Properties of issue 3, checked against SimAccount (an independent model of positions and
 * resting orders) rather than against RiskEngine's own arithmetic.
 */
const SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'XRP/USDT'] as const;
const T0 = Date.UTC(2024, 0, 1);
const DAY = 86_400_000;

type Action =
  | { kind: 'order'; symbol: number; side: 'buy' | 'sell'; amount: number; limit: boolean; offset: number }
  | { kind: 'fill'; index: number }
  | { kind: 'price'; symbol: number; move: number; dt: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({
    kind: fc.constant('order' as const),
    symbol: fc.integer({ min: 0, max: 2 }),
    side: fc.constantFrom('buy' as const, 'sell' as const),
    // Size as a share of the notional limit at the current price: values at and near 1 make an
    // off-by-a-little check fail.
    amount: fc.oneof(fc.constantFrom(0.25, 0.5, 0.97, 0.99, 1.02), fc.double({ min: 0.01, max: 2.5, noNaN: true })),
    limit: fc.boolean(),
    offset: fc.oneof(fc.constantFrom(-0.02, 0.02), fc.double({ min: -0.03, max: 0.03, noNaN: true })),
  }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fill' as const), index: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({
    kind: fc.constant('price' as const),
    symbol: fc.integer({ min: 0, max: 2 }),
    move: fc.double({ min: -0.05, max: 0.05, noNaN: true }),
    dt: fc.integer({ min: 0, max: 3 * 3_600_000 }),
  }) },
);

function freshAccount(): SimAccount {
  const a = new SimAccount(1_000_000);
  a.tick('BTC/USDT', 100, T0);
  a.tick('ETH/USDT', 50, T0);
  a.tick('XRP/USDT', 10, T0);
  return a;
}

describe('risk properties', () => {
  it('no accepted order leaves a position (qty or notional) over its limit', () => {
    const MAX_QTY = 3, MAX_NOTIONAL = 200;
    fc.assert(
      fc.property(fc.array(action, { maxLength: 60 }), (actions) => {
        const risk = RiskEngine.from({ maxPositionNotional: MAX_NOTIONAL, symbols: { 'ETH/USDT': { maxPositionQty: MAX_QTY } } });
        const a = freshAccount();
        for (const act of actions) {
          if (act.kind === 'price') {
            const s = SYMBOLS[act.symbol]!;
            a.tick(s, a.lastPrice(s) * (1 + act.move), a.ts + act.dt);
          } else if (act.kind === 'fill') {
            if (a.resting.length) a.fillResting(act.index % a.resting.length);
          } else {
            const symbol = SYMBOLS[act.symbol]!;
            const last = a.lastPrice(symbol);
            const o = { agentId: 'a1', symbol, side: act.side, amount: (act.amount * MAX_NOTIONAL) / last, type: act.limit ? ('limit' as const) : ('market' as const),
              ...(act.limit ? { price: last * (1 + act.offset) } : {}) };
            const before = a.positionQty(symbol);
            if (!risk.check(o, a).ok) continue;
            // Independent worst case: the position if every resting order on this side filled too.
            const pending = o.side === 'buy' ? a.openBuyQty(symbol) : -a.openSellQty(symbol);
            const worst = before + pending + (o.side === 'buy' ? o.amount : -o.amount);
            const grows = Math.abs(worst) > Math.abs(before + pending) || Math.sign(worst) * Math.sign(before + pending) < 0;
            if (grows) {
              expect(Math.abs(worst) * Math.max(last, o.price ?? 0)).toBeLessThanOrEqual(MAX_NOTIONAL * (1 + 1e-12));
              if (symbol === 'ETH/USDT') expect(Math.abs(worst)).toBeLessThanOrEqual(MAX_QTY * (1 + 1e-12));
            }
            if (act.limit) a.rest(o);
            else a.fill(symbol, o.side, o.amount, last);
          }
          // The ETH quantity limit is on quantity, so no price move can break it.
          expect(Math.abs(a.positionQty('ETH/USDT'))).toBeLessThanOrEqual(MAX_QTY * (1 + 1e-12));
        }
      }),
      { numRuns: 300, seed: 20240101 },
    );
  });

  it('after the daily loss limit is hit, no risk-increasing order is accepted until the next UTC day', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({
          dt: fc.integer({ min: 1, max: 2 * 3_600_000 }),
          // Integers: fc.double draws by bit pattern, so most values would sit near zero and never add up to the limit.
          pnl: fc.integer({ min: -7000, max: 6000 }),
          side: fc.constantFrom('buy' as const, 'sell' as const),
          amount: fc.double({ min: 0.1, max: 2, noNaN: true }),
        }), { maxLength: 80 }),
        fc.boolean(),
        (steps, withKillSwitch) => {
          const ks = new KillSwitch();
          const risk = RiskEngine.from({ maxDailyLoss: -10_000 }, withKillSwitch ? { killSwitch: ks } : {});
          const a = freshAccount();
          let dayStart = Number.NaN, day = -1, hitDay = -1;
          for (const s of steps) {
            a.tick('BTC/USDT', 100, a.ts + s.dt);
            a.cash += s.pnl;
            const d = Math.floor(a.ts / DAY);
            if (d !== day) { day = d; dayStart = a.equity; }
            risk.onMark(a.ts, a.equity);
            if (a.equity - dayStart <= -10_000) hitDay = d;
            const o = { agentId: 'a1', symbol: 'BTC/USDT', side: s.side, amount: s.amount, type: 'market' as const };
            const before = a.positionQty('BTC/USDT');
            const after = before + (s.side === 'buy' ? s.amount : -s.amount);
            const increases = !(Math.abs(after) < Math.abs(before) && Math.sign(after) * Math.sign(before) >= 0);
            const ok = risk.check(o, a).ok;
            if (hitDay === d && increases) expect(ok).toBe(false);
            if (ok) a.fill('BTC/USDT', s.side, s.amount, 100);
          }
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });

  const killAction = fc.record({
    side: fc.constantFrom('buy' as const, 'sell' as const),
    amount: fc.double({ min: 0.01, max: 3, noNaN: true }),
    agent: fc.constantFrom('a1', 'a2', 'killswitch'),
    reduceOnly: fc.boolean(),
    symbol: fc.integer({ min: 0, max: 2 }),
  });

  it('in REDUCING no accepted order increases exposure', () => {
    fc.assert(
      fc.property(fc.array(killAction, { maxLength: 60 }), fc.constantFrom('global', 'agent'), (acts, level) => {
        const ks = new KillSwitch();
        const risk = new RiskEngine({}, { killSwitch: ks });
        const a = freshAccount();
        a.fill('BTC/USDT', 'buy', 2, 100);
        a.fill('ETH/USDT', 'sell', 1, 50);
        ks.trip(level === 'global' ? { scope: 'global' } : { scope: 'agent', agentId: 'a1' }, 'REDUCING', { by: 'test', reason: 'property', ts: T0 });
        for (const x of acts) {
          const symbol = SYMBOLS[x.symbol]!;
          const before = a.positionQty(symbol);
          const ok = risk.check({ ...x, symbol, agentId: x.agent, type: 'market' }, a).ok;
          const restricted = level === 'global' || x.agent === 'a1';
          if (ok) a.fill(symbol, x.side, x.amount, a.lastPrice(symbol), x.reduceOnly);
          const after = a.positionQty(symbol);
          if (ok && restricted) {
            expect(Math.abs(after)).toBeLessThanOrEqual(Math.abs(before));
            expect(Math.sign(after) * Math.sign(before)).toBeGreaterThanOrEqual(0);
          }
        }
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('in HALTED no order is accepted (unless it is the flatten the halt asked for)', () => {
    fc.assert(
      fc.property(fc.array(killAction, { maxLength: 40 }), fc.boolean(), (acts, flatten) => {
        const ks = new KillSwitch();
        const risk = new RiskEngine({ maxPositionNotional: 1e9 }, { killSwitch: ks });
        const a = freshAccount();
        a.fill('BTC/USDT', 'buy', 2, 100);
        ks.trip({ scope: 'global' }, 'HALTED', { by: 'ops', reason: 'property', ts: T0, flatten });
        for (const x of acts) {
          const symbol = SYMBOLS[x.symbol]!;
          const before = a.positionQty(symbol);
          const ok = risk.check({ ...x, symbol, agentId: x.agent, type: 'market' }, a).ok;
          if (ok) {
            expect(flatten).toBe(true);
            expect(x.agent).toBe('killswitch');
            expect(x.reduceOnly).toBe(true);
            a.fill(symbol, x.side, x.amount, a.lastPrice(symbol), true);
            expect(Math.abs(a.positionQty(symbol))).toBeLessThanOrEqual(Math.abs(before));
          }
        }
      }),
      { numRuns: 300, seed: 13 },
    );
  });
});
