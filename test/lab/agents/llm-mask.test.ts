import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMasker, maskedName } from '../../../lab/agents/llm/mask.ts';
import { answerRules } from '../../../lab/agents/llm/answer.ts';
import { costOf, priceOf, PRICES } from '../../../lab/agents/llm/cost.ts';

describe('masking', () => {
  it('names assets like spreadsheet columns: A…Z, AA, AB…, distinct for distinct indices', () => {
    expect([0, 1, 25, 26, 27, 51, 52, 701, 702].map(maskedName)).toEqual(['ASSET_A', 'ASSET_B', 'ASSET_Z', 'ASSET_AA', 'ASSET_AB', 'ASSET_AZ', 'ASSET_BA', 'ASSET_ZZ', 'ASSET_AAA']);
    fc.assert(
      fc.property(fc.nat(5000), fc.nat(5000), (a, b) => (a === b) === (maskedName(a) === maskedName(b))),
    );
  });

  it('rebases prices to 100 at the first close and maps the model\'s prices back within the 6-digit rounding', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1e7, noNaN: true }), fc.double({ min: 1e-6, max: 1e7, noNaN: true }), (base, p) => {
        const m = createMasker({ on: true, symbols: ['X/Y'], basePrice: base });
        expect(m.price(base)).toBe(100);
        const back = m.unprice(m.price(p));
        expect(Math.abs(back - p) / p).toBeLessThanOrEqual(5e-6);
      }),
    );
  });

  it('gives each symbol of the run the same name in every decision, and unmasks longest names first', () => {
    const symbols = Array.from({ length: 30 }, (_, i) => `S${String(i).padStart(2, '0')}/USDT`);
    const m = createMasker({ on: true, symbols: [...symbols].reverse(), basePrice: 1 });
    expect(m.symbol('S00/USDT')).toBe('ASSET_A');
    expect(m.symbol('S27/USDT')).toBe('ASSET_AB');
    expect(m.unmaskText('ASSET_AB beats ASSET_A')).toBe('S27/USDT beats S00/USDT');
    expect(m.time(0, 3)).toBe('t-3');
  });

  it('without masking shows symbols, UTC times and prices as they are', () => {
    const m = createMasker({ on: false, symbols: ['BTC/USDT'], basePrice: 60_000 });
    expect([m.symbol('BTC/USDT'), m.time(Date.UTC(2024, 5, 1, 13), 0), m.price(61_234.5)]).toEqual(['BTC/USDT', '2024-06-01T13:00Z', 61_234.5]);
  });
});

describe('answer rules and prices', () => {
  const ok = {
    situation: { trend: 'up', regime: 'trend-up', summary: 's' },
    signals: [{ name: 'rsi', kind: 'technical', value: 40, score: 0.2 }],
    synthesis: { weights: { rsi: 1 }, score: 0.2, stance: 'bullish' },
    risk: { vetoes: [], stopLoss: 90, target: 120, maxFraction: 0.25 },
    recommendation: { action: 'buy', confidence: 60, target: 120, stopLoss: 90, size: 0.25 },
    reasoning: 'r',
  };
  it('accepts a consistent answer and names each broken rule', () => {
    const rules = answerRules(0.25);
    expect(rules.safeParse(ok).success).toBe(true);
    const bad = { ...ok, synthesis: { weights: { rsi: 0.5, macd: 0.3 }, score: 0.2, stance: 'bullish' }, recommendation: { ...ok.recommendation, stopLoss: 130 } };
    const r = rules.safeParse(bad);
    expect(r.success).toBe(false);
    const msgs = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(msgs).toEqual(expect.arrayContaining(['synthesis.weights: weights must sum to 1, they sum to 0.8', 'synthesis.weights.macd: "macd" is not the name of one of your signals', 'recommendation.stopLoss: for a buy the stop loss must be below the target']));
    expect(rules.safeParse({ ...ok, extra: 1 }).success).toBe(false);
  });

  it('prices exact model ids (snapshot suffix ignored) and refuses to guess an unknown one', () => {
    expect(priceOf('claude-haiku-4-5-20251001')).toBe(PRICES['claude-haiku-4-5']);
    expect(priceOf('claude-fable-5-2')).toBeNull();
    // Opus 4.5 list prices: $5 in, $6.25 cache write, $0.50 cache read, $25 out per million.
    const u = { input_tokens: 1_000_000, output_tokens: 100_000, cache_creation_input_tokens: 200_000, cache_read_input_tokens: 2_000_000 };
    expect(costOf(u, priceOf('claude-opus-4-5'))).toBeCloseTo(5 + 2.5 + 1.25 + 1, 12);
    expect(costOf(u, null)).toBeNull();
  });
});
