import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { InputError } from '../../engine/errors.ts';
import { KillSwitch, type KillTransition } from '../../engine/killswitch.ts';
import { isReducing, parseRiskConfigText, RiskConfigSchema, RiskEngine, riskGate, type RiskResult } from '../../engine/risk.ts';
import { RollingCovariance } from '../../engine/var.ts';
import { order, SimAccount } from './risk.support.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1); // midnight UTC

function breachOf(r: RiskResult) {
  if (r.ok) throw new Error('expected a rejection');
  return r.breach;
}

function zodPaths(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ZodError);
    return (e as ZodError).issues.map((i) => i.path.join('.'));
  }
  throw new Error('expected a ZodError');
}

describe('risk config', () => {
  it('parses the seed example (examples/risk.yaml) as written', () => {
    const cfg = parseRiskConfigText(readFileSync(new URL('../../examples/risk.yaml', import.meta.url), 'utf8'), 'examples/risk.yaml');
    expect(cfg).toMatchObject({
      maxPositionNotional: 5000,
      maxDailyLoss: 10000, // "-10000" → a magnitude
      maxDrawdown: 0.2, // "-20%"
      maxTradesPerHour: 10,
      allowedSymbols: ['BTC/USDT', 'ETH/USDT'],
    });
  });

  it('accepts the equivalent snake_case, positive-magnitude and JSON forms', () => {
    const a = parseRiskConfigText('{"max_position_notional": "$5,000", "max_daily_loss": 10000, "max_drawdown": 0.2}');
    const b = RiskConfigSchema.parse({ maxPositionNotional: 5000, maxDailyLoss: '-10000 USDT', maxDrawdown: '20%' });
    expect(a).toEqual(b);
    expect(a).toEqual({ maxPositionNotional: 5000, maxDailyLoss: 10000, maxDrawdown: 0.2 });
  });

  it('names the field of a bad value, unknown key or bad scope', () => {
    expect(zodPaths(() => parseRiskConfigText('maxDrawdown: 20'))).toEqual(['maxDrawdown']);
    expect(zodPaths(() => parseRiskConfigText('maxPositonNotional: 5000'))).toEqual(['']); // unrecognized key at root
    expect(zodPaths(() => parseRiskConfigText('agents:\n  bot: { maxTradesPerHour: 2.5 }'))).toEqual(['agents.bot.maxTradesPerHour']);
    expect(zodPaths(() => parseRiskConfigText('symbols:\n  BTC/USDT: { maxDailyLoss: 5 }'))).toEqual(['symbols.BTC/USDT']);
    expect(zodPaths(() => parseRiskConfigText('maxDataAgeMs: soon'))).toEqual(['maxDataAgeMs']);
    try {
      parseRiskConfigText('maxPositonNotional: 5000');
    } catch (e) {
      expect((e as ZodError).issues[0]!.message).toContain('maxPositonNotional');
    }
  });

  it('reports a YAML syntax error with file and line', () => {
    expect(() => parseRiskConfigText('maxDrawdown: 20%\nallowedSymbols: [BTC/USDT,\n', 'risk.yaml')).toThrow(InputError);
    expect(() => parseRiskConfigText('a: [1,\n', 'risk.yaml')).toThrow(/^risk\.yaml:2:/);
  });
});

describe('isReducing', () => {
  it('is true only when |position| shrinks without crossing zero', () => {
    expect(isReducing(5, 3)).toBe(true);
    expect(isReducing(5, 0)).toBe(true);
    expect(isReducing(5, -1)).toBe(false);
    expect(isReducing(-5, -2)).toBe(true);
    expect(isReducing(0, 1)).toBe(false);
    expect(isReducing(0, -1)).toBe(false);
    expect(isReducing(5, 6)).toBe(false);
  });
});

describe('RiskEngine.check', () => {
  const seed = () => RiskEngine.from(readFileSync(new URL('../../examples/risk.yaml', import.meta.url), 'utf8'));

  function account(): SimAccount {
    const a = new SimAccount(100_000);
    a.tick('BTC/USDT', 50_000, T0);
    a.tick('ETH/USDT', 2_500, T0);
    a.tick('XRP/USDT', 0.5, T0);
    return a;
  }

  it('rejects a position over 5000 USD naming limit, attempted and current', () => {
    const risk = seed();
    const a = account();
    a.fill('BTC/USDT', 'buy', 0.06, 50_000); // 3000 USD held
    expect(risk.check(order({ side: 'buy', amount: 0.04 }), a).ok).toBe(true); // → 5000 exactly
    const b = breachOf(risk.check(order({ side: 'buy', amount: 0.05 }), a));
    expect(b).toMatchObject({ limit: 'maxPositionNotional', scope: 'global', limitValue: 5000, attempted: 5500, current: 3000 });
    expect(b.message).toMatch(/5500/);
  });

  it('counts resting orders on the same side toward the position limit', () => {
    const risk = seed();
    const a = account();
    a.rest(order({ side: 'buy', amount: 0.08, type: 'limit', price: 49_000 }));
    expect(breachOf(risk.check(order({ side: 'buy', amount: 0.03 }), a)).limit).toBe('maxPositionNotional');
    // A resting SELL does not make a buy safer: it may never fill.
    a.resting.length = 0;
    a.rest(order({ side: 'sell', amount: 1, type: 'limit', price: 60_000 }));
    expect(breachOf(risk.check(order({ side: 'buy', amount: 0.2 }), a)).limit).toBe('maxPositionNotional');
  });

  it('lets a reducing order through even when the position is over the limit', () => {
    const risk = seed();
    const a = account();
    a.fill('BTC/USDT', 'buy', 0.2, 50_000); // 10 000 USD: over the limit after a price move, say
    expect(risk.check(order({ side: 'sell', amount: 0.1 }), a).ok).toBe(true);
    // …but not a sell that flips to a short bigger than the limit.
    expect(breachOf(risk.check(order({ side: 'sell', amount: 0.4 }), a)).limit).toBe('maxPositionNotional');
  });

  it('refuses symbols outside the whitelist', () => {
    const b = breachOf(seed().check(order({ side: 'buy', amount: 10, symbol: 'XRP/USDT' }), account()));
    expect(b).toMatchObject({ limit: 'allowedSymbols', attempted: 'XRP/USDT', limitValue: 'BTC/USDT,ETH/USDT' });
  });

  it('allows 10 orders in a rolling hour, refuses the 11th, allows again once the first is an hour old', () => {
    const risk = seed();
    const a = account();
    const o = order({ side: 'buy', amount: 0.001 });
    for (let i = 0; i < 10; i++) {
      a.ts = T0 + i * 60_000;
      expect(risk.check(o, a).ok).toBe(true);
      risk.onOrderAccepted(o, a.ts);
    }
    a.ts = T0 + HOUR - 1; // first order (T0) is 59:59.999 old: still inside the window
    expect(breachOf(risk.check(o, a))).toMatchObject({ limit: 'maxTradesPerHour', limitValue: 10, current: 10, attempted: 11 });
    a.ts = T0 + HOUR; // exactly one hour: T0 has left the window
    a.tick('BTC/USDT', 50_000, a.ts);
    expect(risk.check(o, a).ok).toBe(true);
  });

  it('applies every matching scope: global, agent and symbol', () => {
    const risk = RiskEngine.from({
      maxPositionNotional: 5000,
      agents: { small: { maxPositionNotional: 1000 } },
      symbols: { 'ETH/USDT': { maxPositionQty: 1 } },
    });
    const a = account();
    expect(risk.check(order({ side: 'buy', amount: 0.03 }), a).ok).toBe(true); // 1500 USD for a1
    expect(breachOf(risk.check(order({ side: 'buy', amount: 0.03, agentId: 'small' }), a)).scope).toBe('agent:small');
    expect(breachOf(risk.check(order({ side: 'buy', amount: 1.5, symbol: 'ETH/USDT' }), a))).toMatchObject({
      scope: 'symbol:ETH/USDT', limit: 'maxPositionQty', limitValue: 1, attempted: 1.5,
    });
    expect(risk.appliedChecks('small', 'ETH/USDT')).toEqual([
      'global.maxPositionNotional', 'agent:small.maxPositionNotional', 'symbol:ETH/USDT.maxPositionQty',
    ]);
  });

  it('checks order notional, price band, data age, open orders and long-only', () => {
    const risk = RiskEngine.from({ maxOrderNotional: 1000, priceBandPct: '5%', maxDataAgeMs: '1m', maxOpenOrders: 2, longOnly: true });
    const a = account();
    expect(breachOf(risk.check(order({ side: 'buy', amount: 0.03 }), a))).toMatchObject({ limit: 'maxOrderNotional', attempted: 1500 });
    expect(breachOf(risk.check(order({ side: 'buy', amount: 0.01, type: 'limit', price: 52_600 }), a))).toMatchObject({
      limit: 'priceBandPct', limitValue: 5, attempted: 52_600, current: 50_000,
    });
    expect(risk.check(order({ side: 'buy', amount: 0.01, type: 'limit', price: 52_500 }), a).ok).toBe(true);
    expect(breachOf(risk.check(order({ side: 'sell', amount: 0.01 }), a)).limit).toBe('longOnly');
    a.ts = T0 + 60_001;
    expect(breachOf(risk.check(order({ side: 'buy', amount: 0.01 }), a))).toMatchObject({ limit: 'maxDataAgeMs', current: 60_001 });
    a.tick('BTC/USDT', 50_000, a.ts);
    a.rest(order({ side: 'buy', amount: 0.001, type: 'limit', price: 49_000 }));
    a.rest(order({ side: 'buy', amount: 0.001, type: 'limit', price: 48_000 }));
    expect(breachOf(risk.check(order({ side: 'buy', amount: 0.001 }), a))).toMatchObject({ limit: 'maxOpenOrders', current: 2 });
  });

  it('fails closed without market data', () => {
    const risk = RiskEngine.from({ maxPositionNotional: 5000 });
    expect(breachOf(risk.check(order({ side: 'buy', amount: 0.01 }), new SimAccount())).limit).toBe('marketData');
    const v = RiskEngine.from({ maxVar: '5%' });
    expect(breachOf(v.check(order({ side: 'buy', amount: 0.01 }), account())).limit).toBe('maxVar');
  });

  it('uses the engine VaR estimate against maxVar', () => {
    const risk = RiskEngine.from({ maxVar: '2%', varConfidence: 0.95 });
    const a = account();
    // σ_daily = 4% and 1.6449σ on the exposure: a hand-checkable parametric estimate.
    const view = Object.assign(Object.create(a) as SimAccount, {
      varAfter: (s: string, dq: number, c: number) => {
        expect(c).toBe(0.95);
        return (1.6449 * 0.04 * Math.abs(a.positionQty(s) + dq) * a.lastPrice(s)) / a.equity;
      },
    });
    expect(risk.check(order({ side: 'buy', amount: 0.6 }), view).ok).toBe(true); // 30k × 6.58% = 1974 < 2000
    expect(breachOf(risk.check(order({ side: 'buy', amount: 0.7 }), view)).limit).toBe('maxVar'); // 2303 > 2000
  });
});

describe('hard limits and the kill switch', () => {
  it('a daily loss of 10 000 blocks new risk for the rest of the UTC day and trips REDUCING once', () => {
    const transitions: KillTransition[] = [];
    const ks = new KillSwitch({ onTransition: (t) => transitions.push(t) });
    const risk = RiskEngine.from({ maxDailyLoss: -10_000 }, { killSwitch: ks });
    const a = new SimAccount(100_000);
    a.tick('BTC/USDT', 50_000, T0 + HOUR);
    risk.onMark(T0 + HOUR, 100_000);
    a.fill('BTC/USDT', 'buy', 1, 50_000);
    a.tick('BTC/USDT', 40_000, T0 + 2 * HOUR); // −10 000 exactly
    risk.onMark(a.ts, a.equity);
    risk.onMark(a.ts + 1, a.equity);
    expect(transitions).toHaveLength(1);
    expect(transitions[0]).toMatchObject({ scope: 'global', from: 'ACTIVE', to: 'REDUCING', auto: true, by: 'risk-engine', limit: 'maxDailyLoss' });
    expect(breachOf(risk.check(order({ side: 'buy', amount: 0.01 }), a)).limit).toBe('killSwitch');
    expect(risk.check(order({ side: 'sell', amount: 0.5 }), a).ok).toBe(true);
    // A human lifts the kill switch, but the daily limit itself still holds until the next UTC day
    // even after a recovery.
    ks.override({ scope: 'global' }, { by: 'alice', reason: 'checked the feed', ts: a.ts });
    a.tick('BTC/USDT', 49_000, T0 + 3 * HOUR);
    risk.onMark(a.ts, a.equity);
    expect(breachOf(risk.check(order({ side: 'buy', amount: 0.01 }), a))).toMatchObject({ limit: 'maxDailyLoss', limitValue: -10_000, current: -1_000 }); // recovered, still latched
    a.tick('BTC/USDT', 49_000, T0 + DAY);
    risk.onMark(a.ts, a.equity);
    expect(risk.check(order({ side: 'buy', amount: 0.01 }), a).ok).toBe(true);
    expect(transitions).toHaveLength(2);
  });

  it('a 20% drawdown from peak equity HALTs with cancel-all', () => {
    const ks = new KillSwitch();
    const risk = RiskEngine.from({ maxDrawdown: '-20%' }, { killSwitch: ks });
    risk.onMark(T0, 100_000);
    risk.onMark(T0 + DAY, 150_000); // peak
    risk.onMark(T0 + 2 * DAY, 120_001);
    expect(ks.effective('a1')).toBe('ACTIVE');
    risk.onMark(T0 + 3 * DAY, 120_000); // 1 − 120/150 = 20%
    expect(ks.status().global).toMatchObject({ state: 'HALTED', auto: true, cancelAll: true, flatten: true });
    const a = new SimAccount();
    a.tick('BTC/USDT', 100, T0 + 3 * DAY);
    a.fill('BTC/USDT', 'buy', 1, 100);
    expect(breachOf(risk.check(order({ side: 'sell', amount: 1 }), a))).toMatchObject({ limit: 'killSwitch', limitValue: 'HALTED' });
    // Recovery does not un-halt: only a human does.
    risk.onMark(T0 + 4 * DAY, 200_000);
    expect(ks.effective('a1')).toBe('HALTED');
  });

  it('agent-scoped hard limits trip only that agent', () => {
    const ks = new KillSwitch();
    const risk = RiskEngine.from({ agents: { bot: { maxDrawdown: 0.1 } } }, { killSwitch: ks });
    risk.onMark(T0, 1000, 'bot');
    risk.onMark(T0 + 1, 899, 'bot');
    expect(ks.effective('bot')).toBe('HALTED');
    expect(ks.effective('other')).toBe('ACTIVE');
  });
});

describe('maxVar through the engine gate', () => {
  it('refuses an order that takes parametric 1-day VaR past the limit, and fails closed without history', () => {
    const cov = new RollingCovariance(['BTC/USDT'], 250, 4);
    const gate = riskGate(RiskEngine.from({ maxVar: '0.5%', varConfidence: 0.99 }), { covariance: cov });
    let price = 100;
    const engine = { ts: T0, cash: 100_000, equity: () => 100_000, qty: () => 0, avgPrice: () => 0, lastPrice: () => price, lastDataTs: () => T0, openOrderCount: () => 0, openQty: () => 0 };
    const buy = (amount: number) => gate.check({ agentId: 'a1', symbol: 'BTC/USDT', side: 'buy', type: 'market', amount, refPrice: price }, engine);
    gate.onMark!(T0, engine);
    expect(buy(10)).toMatchObject({ ok: false, breach: { limit: 'maxVar', attempted: 'unknown' } });
    // Daily returns +2%, −2%, +2%, −2%: mean 0, sample σ = √(0.0016/3).
    for (const [d, p] of [[1, 102], [2, 99.96], [3, 101.9592], [4, 99.920016]] as const) {
      price = p;
      gate.onMark!(T0 + d * DAY, engine);
    }
    const sigma = Math.sqrt(0.0016 / 3);
    const varOf = (qty: number) => (2.3263478740408408 * sigma * qty * price) / 100_000;
    const ok = 90, tooBig = 95; // ≈ 0.483% and 0.510% of equity
    expect(varOf(ok)).toBeLessThan(0.005);
    expect(varOf(tooBig)).toBeGreaterThan(0.005);
    expect(buy(ok).ok).toBe(true);
    const r = buy(tooBig);
    expect(r).toMatchObject({ ok: false, breach: { limit: 'maxVar' } });
    if (!r.ok) expect(r.breach.attempted as number).toBeCloseTo(varOf(tooBig), 4);
  });
});
