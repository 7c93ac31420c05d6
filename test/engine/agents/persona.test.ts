import { describe, expect, it } from 'vitest';
import { createPersonaAgent, decideWithProfile } from '../../../engine/agents/persona.ts';
import { PERSONA_PROFILES } from '../../../engine/agents/profile.ts';
import { annualisedVolatility, analyzeSituation, trendSpread } from '../../../engine/agents/situation.ts';
import { featureSignals, sentimentSignal, technicalSignals, volumeSignal } from '../../../engine/agents/signals.ts';
import { synthesize } from '../../../engine/agents/synthesis.ts';
import { assessRisk } from '../../../engine/agents/risk.ts';
import { recommend } from '../../../engine/agents/recommendation.ts';
import type { Signal } from '../../../engine/agents/types.ts';
import { createRng } from '../../../engine/rng.ts';
import { inputOf, windowOf } from './support.ts';

const DAY = 86_400_000;

function noisy(n: number, seed: number, vol: number, drift = 0): number[] {
  const rng = createRng(seed);
  const out = [100];
  for (let i = 1; i < n; i++) out.push(out[i - 1]! * Math.exp(drift + vol * rng.normal()));
  return out;
}

describe('step 1: situation', () => {
  it('volatility, hand-worked: closes 100, 110, 99 on daily bars', () => {
    // r = ln 1.1 = 0.0953102, ln 0.9 = −0.1053605; two returns: sample sd = |r1 − r2| / √2
    // = 0.2006707 / 1.4142136 = 0.1418967; × √365 (19.1049732) = 2.710912
    expect(annualisedVolatility([100, 110, 99], DAY, 30)).toBeCloseTo(2.710912, 5);
    expect(annualisedVolatility([100], DAY, 30)).toBe(0);
  });

  it('trend spread = mean of the last 2 / mean of the last 4 − 1', () => {
    // (103 + 104)/2 = 103.5; (101 + 102 + 103 + 104)/4 = 102.5 → 103.5/102.5 − 1
    expect(trendSpread([100, 101, 102, 103, 104], 2, 4)).toBeCloseTo(103.5 / 102.5 - 1, 14);
    expect(trendSpread([100, 101], 2, 4)).toBe(0);
  });

  it('a steady climb is an up-trend', () => {
    const closes = noisy(120, 3, 0.002, 0.004);
    const s = analyzeSituation(windowOf(closes));
    expect(s.trend).toBe('up');
    expect(s.regime).toBe('trend-up');
    expect(s.price).toBe(closes[119]);
  });
});

describe('step 2: signals', () => {
  it('a strictly rising series: RSI 100 → score −1 (overbought), price above the upper band → bollinger −1, trend +', () => {
    const sig = technicalSignals(windowOf(Array.from({ length: 80 }, (_, i) => 100 + i)));
    const by = Object.fromEntries(sig.map((s) => [s.name, s]));
    expect(by.rsi!.value).toBe(100);
    expect(by.rsi!.score).toBe(-1);
    // SMA20 of 160..179 = 169.5, SMA50 of 130..179 = 154.5 → spread 0.0970874 / 0.03 → clamped 1
    expect(by.trend!.value).toBeCloseTo(169.5 / 154.5 - 1, 12);
    expect(by.trend!.score).toBe(1);
    // A straight line has a constant MACD line, so the histogram decays toward 0.
    expect(Math.abs(by.macd!.score)).toBeLessThan(0.01);
    // A linear series: the last close sits above the middle; %B > 0.5 → negative score
    expect(by.bollinger!.score).toBeLessThan(0);
  });

  it('signals still warming up are left out', () => {
    expect(technicalSignals(windowOf([100, 101, 102])).map((s) => s.name)).toEqual([]);
    const names = technicalSignals(windowOf(Array.from({ length: 30 }, (_, i) => 100 + Math.sin(i)))).map((s) => s.name);
    expect(names).toEqual(['rsi', 'bollinger']); // MACD needs 34 bars, the trend 50
  });

  it('volume: last volume over the mean of the previous 20, signed by the last move', () => {
    const closes = Array.from({ length: 22 }, (_, i) => 100 + i);
    const vol = [...Array(21).fill(10), 15];
    expect(volumeSignal(windowOf(closes, { volume: vol }))).toMatchObject({ value: 1.5, score: 0.5 });
    expect(volumeSignal(windowOf([...closes.slice(0, 21), 90], { volume: vol }))).toMatchObject({ value: 1.5, score: -0.5 });
    expect(volumeSignal(windowOf(closes, { volume: [...Array(21).fill(10), 40] }))!.score).toBe(1);
    expect(volumeSignal(windowOf(closes, { volume: [...Array(21).fill(10), 5] }))!.score).toBe(0);
  });

  it('sentiment and features pass through, clamped; features typed by prefix', () => {
    expect(sentimentSignal({ ts: 0, source: 'fng', score: -0.4, samples: 1 })).toMatchObject({ kind: 'sentiment', score: -0.4 });
    expect(sentimentSignal(null)).toBeNull();
    expect(featureSignals({ 'onchain:netflow': 2, 'macro:dxy': -0.3, bad: NaN })).toEqual([
      { name: 'macro:dxy', kind: 'macro', value: -0.3, score: -0.3 },
      { name: 'onchain:netflow', kind: 'onchain', value: 2, score: 1 },
    ]);
  });
});

describe('steps 3–5', () => {
  const sig = (name: string, kind: Signal['kind'], score: number): Signal => ({ name, kind, value: score, score });

  it('synthesis, hand-worked: conservative weights renormalised over the signals present', () => {
    // rsi 0.2, trend 0.2, sentiment 0.15 → total 0.55; score = (0.2·1 + 0.2·(−0.5) + 0.15·0.6)/0.55 = 0.19/0.55
    const s = synthesize([sig('rsi', 'technical', 1), sig('trend', 'technical', -0.5), sig('sentiment', 'sentiment', 0.6)], PERSONA_PROFILES.conservative);
    expect(s.weights.rsi).toBeCloseTo(0.2 / 0.55, 12);
    expect(s.weights.sentiment).toBeCloseTo(0.15 / 0.55, 12);
    expect(s.score).toBeCloseTo(0.19 / 0.55, 12);
    expect(s.stance).toBe('bullish'); // 0.345 ≥ 0.2
    // A feature without its own weight takes its kind's.
    expect(synthesize([sig('onchain:netflow', 'onchain', 1), sig('rsi', 'technical', 0)], PERSONA_PROFILES.conservative).weights['onchain:netflow']).toBeCloseTo(0.025 / 0.225, 12);
  });

  it('risk: ATR stop and reward:risk target; vetoes by volatility and regime', () => {
    const situation = { price: 100, trend: 'up' as const, volatility: 1.2, regime: 'volatile' as const, summary: '' };
    const bull = { weights: {}, score: 0.5, stance: 'bullish' as const };
    const r = assessRisk(situation, bull, 2, PERSONA_PROFILES.conservative);
    // stop = 100 − 1.5 × 2 = 97; target = 100 + 2 × 3 = 106
    expect([r.stopLoss, r.target]).toEqual([97, 106]);
    expect(r.vetoes).toEqual(['volatility 120% > 90% cap', 'no new longs in a volatile regime']);
    expect(assessRisk(situation, bull, 2, PERSONA_PROFILES.aggressive).vetoes).toEqual([]);
    const bear = assessRisk(situation, { weights: {}, score: -0.5, stance: 'bearish' }, 2, PERSONA_PROFILES.aggressive);
    // stop above: 100 + 3 × 2 = 106; target 100 − 3 × 6 = 82
    expect([bear.stopLoss, bear.target]).toEqual([106, 82]);
    // Without an ATR yet the stop distance is 2 % of the price: 100 − 2 = 98.
    expect(assessRisk(situation, bull, NaN, PERSONA_PROFILES.aggressive).stopLoss).toBe(98);
  });

  it('recommendation: conservative sizes by confidence, aggressive all of maxFraction; a vetoed buy holds, a sell is never vetoed', () => {
    const syn = { weights: {}, score: 0.6, stance: 'bullish' as const };
    const risk = { vetoes: [], stopLoss: 97, target: 106, maxFraction: 0.25 };
    expect(recommend(syn, risk, PERSONA_PROFILES.conservative)).toEqual({ action: 'buy', confidence: 60, target: 106, stopLoss: 97, size: 0.15 });
    expect(recommend(syn, { ...risk, maxFraction: 1 }, PERSONA_PROFILES.aggressive).size).toBe(1);
    expect(recommend(syn, { ...risk, vetoes: ['x'] }, PERSONA_PROFILES.conservative).action).toBe('hold');
    expect(recommend({ weights: {}, score: -0.6, stance: 'bearish' }, { ...risk, vetoes: ['x'] }, PERSONA_PROFILES.conservative).action).toBe('sell');
    // 0.25 < 30 minimum confidence
    expect(recommend({ weights: {}, score: 0.25, stance: 'bullish' }, risk, PERSONA_PROFILES.conservative).action).toBe('hold');
  });
});

describe('personas', () => {
  it('are deterministic: the same input gives the same decision', () => {
    const input = inputOf(windowOf(noisy(200, 5, 0.01)), { sentiment: { ts: 0, source: 'fng', score: 0.3, samples: 1 } });
    for (const p of ['conservative', 'aggressive', 'trend-follower']) {
      expect(createPersonaAgent(p).decide(input)).toEqual(createPersonaAgent(p).decide(input));
    }
  });

  it('differ on the same evidence: a choppy, very volatile rise — aggressive buys all-in, the others sit out', () => {
    const closes = noisy(150, 9, 0.002, 0.001);
    for (let i = 0; i < 20; i++) closes.push(closes[closes.length - 1]! * (i % 2 ? 1.06 : 0.965));
    const input = inputOf(windowOf(closes), { sentiment: { ts: 0, source: 'fng', score: 0.9, samples: 1 } });
    const [cons, aggr, tf] = ['conservative', 'aggressive', 'trend-follower'].map((p) => createPersonaAgent(p).decide(input));
    expect(cons!.situation.volatility).toBeGreaterThan(PERSONA_PROFILES['trend-follower'].maxVolatility);
    expect(cons!.risk.vetoes[0]).toMatch(/^volatility \d+% > 90% cap$/);
    expect(cons!.recommendation.action).toBe('hold');
    expect(aggr!.risk.vetoes).toEqual([]);
    expect(aggr!.recommendation).toMatchObject({ action: 'buy', size: 1 });
    expect(tf!.synthesis.stance).toBe('bullish');
    expect(tf!.recommendation.action).toBe('hold');
    expect(tf!.reasoning).toMatch(/vetoed \(volatility \d+% > 150% cap/);
    // Same facts for all: step 1 and 2 do not depend on the persona.
    expect(aggr!.situation).toEqual(cons!.situation);
    expect(aggr!.signals).toEqual(tf!.signals);
  });

  it('a trend follower rides a trend a mean-reverter would fade', () => {
    const input = inputOf(windowOf(Array.from({ length: 120 }, (_, i) => 100 * 1.004 ** i * (1 + 0.001 * Math.sin(i)))));
    const tf = createPersonaAgent('trend-follower').decide(input);
    const c = decideWithProfile('c', { ...PERSONA_PROFILES.conservative, weights: { rsi: 0.5, bollinger: 0.5 } }, input);
    expect(tf.recommendation.action).toBe('buy');
    expect(c.synthesis.stance).toBe('bearish');
    expect(tf.risk.stopLoss!).toBeLessThan(tf.situation.price);
    expect(tf.risk.target!).toBeGreaterThan(tf.situation.price);
    expect(tf.ts).toBe(input.now);
  });

  it('unknown persona names are refused', () => {
    expect(() => createPersonaAgent('yolo')).toThrow(/unknown persona "yolo"/);
    expect(createPersonaAgent('aggressive', { id: 'a2', overrides: { maxFraction: 0.5 } }).id).toBe('a2');
  });
});

