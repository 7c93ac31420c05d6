import { describe, expect, it } from 'vitest';
import { deskPnl, learnRegimeWeights, selectionWalkForward, selectionWindows } from '../../../lab/agents/selection.ts';
import { priceBook, scoreCalls, type AgentCall, type ScoredCall } from '../../../lab/agents/scoring.ts';
import { createRng } from '../../../engine/rng.ts';
import type { MarketRegime } from '../../../engine/agents/types.ts';

const H = 3_600_000;

const scored = (agentId: string, ts: number, dir: -1 | 0 | 1, ret: number, regime: MarketRegime, confidence = 50): ScoredCall => ({
  agentId, ts, symbol: 'X', action: dir > 0 ? 'buy' : dir < 0 ? 'sell' : 'hold', confidence, factors: {}, weights: {},
  outcome: { index: 0, ret, knownAt: ts + H, regime }, dir, pnl: dir * ret, right: dir === 0 ? null : dir * ret > 0,
});

describe('regime weights', () => {
  it('weights each agent by its positive mean call P&L in the regime, worked by hand', () => {
    const h: ScoredCall[] = [];
    for (let i = 0; i < 10; i++) {
      h.push(scored('trend', i, 1, 0.02, 'trend-up'), scored('fade', i, -1, 0.02, 'trend-up')); // trend +2 %, fade −2 %
      h.push(scored('trend', 100 + i, 1, -0.01, 'range'), scored('fade', 100 + i, -1, -0.03, 'range')); // trend −1 %, fade +3 %
    }
    h.push(scored('fade', 200, 1, 0.01, 'volatile')); // one call: too few for the regime → all-regime figures
    const w = learnRegimeWeights(h, ['fade', 'trend'], { minSamples: 5 });
    expect(w.byRegime['trend-up']).toEqual({ fade: 0, trend: 1 });
    expect(w.byRegime.range).toEqual({ fade: 1, trend: 0 });
    // all-regime means: trend (10·0.02 − 10·0.01)/20 = 0.005; fade (−0.2 + 0.3 + 0.01)/21 = 0.11/21
    const t = 0.005, f = 0.11 / 21;
    expect(w.all.trend).toBeCloseTo(t / (t + f), 12);
    expect(w.byRegime.volatile!.fade).toBeCloseTo(f / (t + f), 12);
    expect(learnRegimeWeights([], ['a', 'b']).all).toEqual({ a: 0.5, b: 0.5 });
  });

  it('one desk call per moment from the weighted, confidence-scaled votes', () => {
    const calls = [scored('a', 1, 1, 0.05, 'range', 90), scored('b', 1, -1, 0.05, 'range', 60), scored('a', 2, 1, -0.02, 'range', 10), scored('b', 2, -1, -0.02, 'range', 60)];
    // equal weights: moment 1: 90 − 60 > 0 → buy, +5 %; moment 2: 10 − 60 < 0 → sell, +2 %
    expect(deskPnl(calls, () => ({ a: 0.5, b: 0.5 }))).toMatchObject({ moments: 2, trades: 2, hits: 2 });
    expect(deskPnl(calls, () => ({ a: 0.5, b: 0.5 })).pnl).toBeCloseTo(0.07, 12);
    expect(deskPnl(calls, () => ({ a: 0, b: 1 })).pnl).toBeCloseTo(-0.05 + 0.02, 12);
  });
});

/** Closes whose regime flips every 300 bars between a steady climb and a choppy range. */
function market(n: number, seed: number): number[] {
  const rng = createRng(seed);
  const c = [100];
  for (let i = 1; i < n; i++) {
    const trending = Math.floor(i / 300) % 2 === 0;
    c.push(c[i - 1]! * Math.exp((trending ? 0.003 : 0) + (trending ? 0.002 : 0.01) * rng.normal()));
  }
  return c;
}

/** Two agents deciding from closes up to their bar only: momentum and fade-the-last-move. */
function agentsCalls(close: readonly number[]): AgentCall[] {
  const out: AgentCall[] = [];
  for (let i = 1; i < close.length; i++) {
    const up = close[i]! > close[i - 1]!;
    const ts = (i + 1) * H;
    out.push({ agentId: 'momentum', ts, symbol: 'X', action: up ? 'buy' : 'sell', confidence: 60, factors: {}, weights: {} });
    out.push({ agentId: 'fade', ts, symbol: 'X', action: up ? 'sell' : 'buy', confidence: 55, factors: {}, weights: {} });
  }
  return out;
}

function run(close: number[]) {
  const book = priceBook([{ symbol: 'X', timeframeMs: H, length: close.length, ts: close.map((_, i) => i * H), close }]);
  const calls = scoreCalls(agentsCalls(close), book, 5);
  return selectionWalkForward(calls, selectionWindows(H, close.length * H, 600 * H, 300 * H), { minSamples: 20 });
}

describe('walk-forward selection', () => {
  const close = market(2400, 4);
  const base = run(close);

  it('plans anchored back-to-back windows after the first training span', () => {
    expect(base.windows.map((w) => [(w.from - H) / H, (w.to - H) / H])).toEqual([[600, 900], [900, 1200], [1200, 1500], [1500, 1800], [1800, 2100]]);
    expect(base.windows.every((w, k) => k === 0 || w.trainedOn > base.windows[k - 1]!.trainedOn)).toBe(true);
  });

  it('changing every price from window k on leaves the weights used in window k unchanged', () => {
    for (const k of [1, 3]) {
      const from = base.windows[k]!.from;
      // bar i is known at its close, (i + 1)·H: poison every bar that closes after window k opens
      const poisoned = close.map((c, i) => ((i + 1) * H > from ? c * (1 + 0.5 * Math.sin(i)) : c));
      const p = run(poisoned);
      expect(p.windows[k]!.weights).toEqual(base.windows[k]!.weights);
      expect(p.windows[k]!.trainedOn).toBe(base.windows[k]!.trainedOn);
      // (earlier windows' own P&L may move: their last calls' horizons run into window k)
      expect(p.windows.slice(0, k).map((w) => w.weights)).toEqual(base.windows.slice(0, k).map((w) => w.weights));
      // the poison did reach the window's own results and what later windows learn
      expect(p.windows[k]!.pnl).not.toBe(base.windows[k]!.pnl);
      expect(p.windows[k + 1]!.weights).not.toEqual(base.windows[k + 1]!.weights);
    }
  });

  it('learns momentum for trends and, out of sample, beats the equal-weight desk on this market', () => {
    const w = base.windows.at(-1)!.weights;
    expect(w.byRegime['trend-up']!.momentum).toBeGreaterThan(w.byRegime['trend-up']!.fade ?? 0);
    expect(base.pnl).toBeGreaterThan(base.equalPnl);
  });
});
