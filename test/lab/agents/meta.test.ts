import { describe, expect, it } from 'vitest';
import { journalWeightChanges, learnFactorWeights, metaLearnWalkForward } from '../../../lab/agents/meta.ts';
import { learnFromRun } from '../../../lab/agents/scoring-run.ts';
import { Journal, verify } from '../../../engine/journal.ts';
import { createRng } from '../../../engine/rng.ts';
import type { ScoredCall } from '../../../lab/agents/scoring.ts';

const H = 3_600_000;
const call = (ts: number, factors: Record<string, number>, ret: number, agentId = 'cons'): ScoredCall => ({
  agentId, ts, symbol: 'X', action: 'buy', confidence: 50, factors, weights: {},
  outcome: { index: 0, ret, knownAt: ts + 5 * H, regime: 'range' }, dir: 1, pnl: ret, right: ret > 0,
});

describe('learnFactorWeights', () => {
  it('worked by hand: a factor that always pointed right gains weight from one that was noise', () => {
    // 20 calls, returns alternating ±1 %; rsi = sign(r) (skill 1), macd = +0.5 always (skill 0.5 · (10 − 10)/20 = 0)
    const h = Array.from({ length: 20 }, (_, i) => {
      const r = i % 2 ? -0.01 : 0.01;
      return call(i * H, { rsi: Math.sign(r), macd: 0.5, ignored: 1 }, r);
    });
    const l = learnFactorWeights({ rsi: 0.5, macd: 0.5 }, h, { rate: 0.5 });
    expect(l.learned).toBe(true);
    expect(l.skill).toEqual({ macd: { skill: 0, n: 20 }, rsi: { skill: 1, n: 20 } });
    // target {rsi 1, macd 0}; (1 − 0.5)·prior + 0.5·target = {rsi 0.75, macd 0.25}
    expect(l.weights.rsi).toBeCloseTo(0.75, 12);
    expect(l.weights.macd).toBeCloseTo(0.25, 12);
    expect(Object.keys(l.weights).sort()).toEqual(['macd', 'rsi']);
    // a factor no call carried (no sentiment feed) keeps its prior share; the others split the rest
    const withUnseen = learnFactorWeights({ rsi: 0.25, macd: 0.25, sentiment: 0.5 }, h, { rate: 0.5 });
    expect(withUnseen.weights.sentiment).toBeCloseTo(0.5, 12);
    expect(withUnseen.weights.rsi).toBeCloseTo(0.375, 12); // 0.5·0.25 + 0.5·0.5·1
    expect(withUnseen.weights.macd).toBeCloseTo(0.125, 12);
    // too few calls: the prior stands
    expect(learnFactorWeights({ rsi: 0.5, macd: 0.5 }, h.slice(0, 5))).toMatchObject({ learned: false, weights: { rsi: 0.5, macd: 0.5 } });
    expect(() => learnFactorWeights({ a: 1 }, h, { rate: 2 })).toThrow(RangeError);
  });
});

/** A persona reading rsi (informative) and volume (noise), with equal prior weights. */
function history(n: number, seed: number): ScoredCall[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const drift = rng.normal();
    const rsi = Math.tanh(drift), volume = Math.tanh(rng.normal());
    return call(i * H, { rsi, volume }, 0.01 * (drift + 0.5 * rng.normal()));
  });
}

describe('walk-forward meta-learning', () => {
  const calls = history(1000, 3);
  const windows = [200, 400, 600, 800].map((t) => ({ from: t * H, to: (t + 200) * H }));
  const prior = { rsi: 0.5, volume: 0.5 };

  it('learns only from calls whose outcome was known when the window opened', () => {
    const base = metaLearnWalkForward('cons', prior, calls, windows);
    // a call at 198h has its outcome at 203h: after window 1 opens at 200h, so it is not used
    expect(base[0]!.samples).toBe(196);
    for (const k of [1, 2]) {
      const from = windows[k]!.from;
      const changed = calls.map((c) => (c.outcome.knownAt > from ? { ...c, outcome: { ...c.outcome, ret: -c.outcome.ret * 3 } } : c));
      const p = metaLearnWalkForward('cons', prior, changed, windows);
      expect(p[k]!.weights).toEqual(base[k]!.weights);
      expect(p[k]!.learnedPnl).not.toBe(base[k]!.learnedPnl);
      expect(p[k + 1]!.weights).not.toEqual(base[k + 1]!.weights);
    }
  });

  it('shifts weight to the informative factor, deterministically, and it pays out of sample here', () => {
    const a = metaLearnWalkForward('cons', prior, calls, windows);
    expect(a).toEqual(metaLearnWalkForward('cons', prior, calls, windows));
    for (const w of a) expect(w.weights.rsi!).toBeGreaterThan(0.7);
    expect(a.reduce((s, w) => s + w.learnedPnl, 0)).toBeGreaterThan(a.reduce((s, w) => s + w.priorPnl, 0));
  });

  it('journals each change as a config_change at the window start; the chain verifies', () => {
    const a = metaLearnWalkForward('cons', prior, calls, windows);
    const j = new Journal();
    const n = journalWeightChanges(j, a);
    expect(n).toBe(a.filter((w) => w.change).length);
    expect(n).toBeGreaterThan(0);
    const e = j.entries()[0]!;
    expect(e).toMatchObject({ type: 'config_change', ts: windows[0]!.from, payload: { key: 'agents.cons.factorWeights', before: prior, by: 'meta-learning' } });
    expect(verify(j.entries()).ok).toBe(true);
  });
});

describe('learning from a whole run', () => {
  it('starts from the mean of the weights the agent journaled and learns from all its calls', () => {
    const h = Array.from({ length: 20 }, (_, i) => {
      const r = i % 2 ? -0.01 : 0.01;
      return { ...call(i * H, { rsi: Math.sign(r), macd: 0.5 }, r), weights: i < 10 ? { rsi: 0.4, macd: 0.6 } : { rsi: 0.6, macd: 0.4 } };
    });
    const [l] = learnFromRun([...h, { ...h[0]!, agentId: 'plain', weights: {} }]);
    expect(l!.agentId).toBe('cons');
    expect(Object.keys(l!.prior)).toEqual(['macd', 'rsi']);
    expect(l!.prior.macd).toBeCloseTo(0.5, 12);
    expect(l!.prior.rsi).toBeCloseTo(0.5, 12);
    expect(l!.weights.rsi).toBeCloseTo(0.75, 12); // as worked by hand above
  });
});
