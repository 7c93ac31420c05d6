import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  agentScores, attributeConsensus, brierScore, lastClosedBar, priceBook, reliabilityTable, scoreCalls, scoresByRegime,
  type AgentCall, type PriceSeries,
} from '../../../lab/agents/scoring.ts';
import { callsFromDecision, callsFromJournal } from '../../../lab/agents/scoring-journal.ts';
import { Journal } from '../../../engine/journal.ts';
import type { DecisionRecord } from '../../../engine/decision.ts';
import { createPersonaAgent, debate } from '../../../engine/agents/index.ts';
import { inputOf, windowOf } from '../../engine/agents/support.ts';

const H = 3_600_000;
/** Hourly closes; bar i opens at i·H and closes at (i+1)·H. */
const series = (close: number[], symbol = 'BTC/USDT'): PriceSeries => ({ symbol, timeframeMs: H, length: close.length, ts: close.map((_, i) => i * H), close });
const call = (agentId: string, barClosed: number, action: AgentCall['action'], confidence: number, factors: Record<string, number> = {}): AgentCall =>
  ({ agentId, ts: (barClosed + 1) * H, symbol: 'BTC/USDT', action, confidence, factors, weights: {} });

describe('Brier score', () => {
  it('is the mean of (p − o)² (the published definition), worked by hand', () => {
    // (0.9−1)² + (0.6−0)² + (0.3−0)² = 0.01 + 0.36 + 0.09 = 0.46; / 3
    expect(brierScore([0.9, 0.6, 0.3], [1, 0, 0])).toBeCloseTo(0.46 / 3, 12);
    // Wikipedia's example: a 70 % forecast of rain on a day it rains scores (0.7 − 1)² = 0.09.
    expect(brierScore([0.7], [1])).toBeCloseTo(0.09, 12);
    expect(brierScore([0.5, 0.5], [1, 0])).toBe(0.25);
    expect(brierScore([], [])).toBeNaN();
  });
});

describe('scoring calls against the prices that followed', () => {
  // closes: 100 110 99 99 120
  const book = priceBook([series([100, 110, 99, 99, 120])]);

  it('finds the bar closed at the decision time', () => {
    const s = book.series.get('BTC/USDT')!;
    expect(lastClosedBar(s, 1 * H)).toBe(0); // bar 0 closes at 1h
    expect(lastClosedBar(s, 1.5 * H)).toBe(0);
    expect(lastClosedBar(s, 2 * H)).toBe(1);
    expect(lastClosedBar(s, 0)).toBe(-1);
  });

  it('P&L, hit rate and Brier per agent, worked by hand (horizon 1 bar)', () => {
    const calls = [
      call('a', 0, 'buy', 90), // 100 → 110: +10 %, right
      call('a', 1, 'buy', 60), // 110 → 99: −10 %, wrong
      call('a', 2, 'sell', 30), // 99 → 99: flat, a miss
      call('a', 3, 'hold', 50), // 99 → 120: hold earns 0, not scored for hits
      call('a', 4, 'buy', 80), // no bar after the last: no outcome
      call('b', 1, 'sell', 70), // 110 → 99: +10 % for a seller, right
    ];
    const scored = scoreCalls(calls, book, 1);
    expect(scored).toHaveLength(5);
    const [a, b] = agentScores(scored);
    expect(a).toMatchObject({ agentId: 'a', n: 4, directional: 3, hitRate: 1 / 3 });
    expect(a!.pnl).toBeCloseTo(0.1 - 0.1, 12);
    expect(a!.brier).toBeCloseTo((0.01 + 0.36 + 0.09) / 3, 12);
    expect(b).toMatchObject({ agentId: 'b', n: 1, directional: 1, hitRate: 1 });
    expect(b!.pnl).toBeCloseTo(0.1, 12);
    expect(b!.brier).toBeCloseTo(0.09, 12);
  });

  it('a longer horizon reads the close h bars later', () => {
    const [s] = scoreCalls([call('a', 0, 'buy', 50)], book, 4);
    expect(s!.outcome.ret).toBeCloseTo(0.2, 12);
    expect(s!.outcome.knownAt).toBe(5 * H);
    expect(() => scoreCalls([], book, 0)).toThrow(RangeError);
  });

  it('reliability table: directional calls by confidence bucket', () => {
    const scored = scoreCalls([call('a', 0, 'buy', 90), call('a', 1, 'buy', 95), call('a', 1, 'sell', 55), call('a', 2, 'hold', 10), call('a', 0, 'buy', 100)], book, 1);
    const t = reliabilityTable(scored, 10);
    expect(t).toHaveLength(10);
    expect(t[9]).toMatchObject({ lo: 90, hi: 100, n: 3, hitRate: 2 / 3 });
    expect(t[9]!.meanConfidence).toBeCloseTo(95, 12);
    expect(t[5]).toMatchObject({ n: 1, hitRate: 1, meanConfidence: 55 });
    expect(t[1]!.n).toBe(0); // the hold is not a directional call
  });

  it('consensus P&L is split among the agents that voted for it, by vote weight, and sums to the total', () => {
    const decisions = [
      // BUY at bar 0 (+10 %): a (weight 3) and b (weight 1) for, c against → a 7.5 %, b 2.5 %, c 0
      { decisionId: 'd1', ts: 1 * H, symbol: 'BTC/USDT', action: 'buy' as const, votes: [{ agentId: 'a', action: 'buy' as const, weight: 3 }, { agentId: 'b', action: 'buy' as const, weight: 1 }, { agentId: 'c', action: 'sell' as const, weight: 5 }] },
      // SELL at bar 1 (110 → 99, +10 % for a seller): c alone
      { decisionId: 'd2', ts: 2 * H, symbol: 'BTC/USDT', action: 'sell' as const, votes: [{ agentId: 'a', action: 'buy' as const, weight: 1 }, { agentId: 'c', action: 'sell' as const, weight: 2 }] },
      // a hold earns nothing and is not counted
      { decisionId: 'd3', ts: 3 * H, symbol: 'BTC/USDT', action: 'hold' as const, votes: [{ agentId: 'a', action: 'hold' as const, weight: 1 }] },
    ];
    const r = attributeConsensus(decisions, book, 1);
    expect(r.decisions).toBe(2);
    expect(r.total).toBeCloseTo(0.2, 12);
    expect(r.perAgent.a).toBeCloseTo(0.075, 12);
    expect(r.perAgent.b).toBeCloseTo(0.025, 12);
    expect(r.perAgent.c).toBeCloseTo(0.1, 12);
    expect(Object.values(r.perAgent).reduce((s, x) => s + x, 0)).toBeCloseTo(r.total, 12);
    const scores = agentScores([], r.perAgent);
    expect(scores.map((s) => s.agentId)).toEqual(['a', 'b', 'c']);
  });

  it('property: the per-agent shares always add up to the consensus P&L, and only backers get a share', () => {
    const action = fc.constantFrom('buy' as const, 'sell' as const, 'hold' as const);
    const decision = fc.record({
      bar: fc.integer({ min: 0, max: 3 }), action,
      votes: fc.uniqueArray(fc.record({ agentId: fc.constantFrom('a', 'b', 'c', 'd'), action, weight: fc.double({ min: 0, max: 100, noNaN: true }) }), { selector: (v) => v.agentId, minLength: 1, maxLength: 4 }),
    });
    fc.assert(fc.property(fc.array(decision, { maxLength: 12 }), (ds) => {
      const r = attributeConsensus(ds.map((d, k) => ({ decisionId: `d${k}`, ts: (d.bar + 1) * H, symbol: 'BTC/USDT', action: d.action, votes: d.votes })), book, 1);
      expect(Object.values(r.perAgent).reduce((s, x) => s + x, 0)).toBeCloseTo(r.total, 9);
      for (const id of Object.keys(r.perAgent)) {
        const backed = ds.some((d) => d.action !== 'hold' && d.votes.some((v) => v.agentId === id && (v.action === d.action || d.votes.every((x) => x.action !== d.action || x.weight === 0))));
        expect(backed).toBe(true);
      }
    }), { numRuns: 200 });
  });

  it('groups scores by the regime at the decision bar', () => {
    const closes = Array.from({ length: 60 }, (_, i) => 100 * Math.exp(0.01 * i + 0.001 * Math.sin(i)));
    const up = priceBook([series(closes)]);
    const scored = scoreCalls([call('a', 5, 'buy', 60), call('a', 40, 'buy', 60)], up, 2);
    const r = scoresByRegime(scored);
    expect(r.map((x) => [x.regime, x.n])).toEqual([['trend-up', 1], ['warm-up', 1]]);
  });
});

describe('reading calls from a journal', () => {
  const rec = (over: Partial<DecisionRecord>): DecisionRecord => ({
    id: 'x', ts: H, agentId: 'strat', symbol: 'BTC/USDT', action: 'buy', factors: {}, weights: {}, confidence: 50, reasoning: '', orderIds: [], ...over,
  });
  const agentDecision = (agentId: string, action: string, confidence: number) => ({
    agentId, persona: 'p', symbol: 'BTC/USDT', ts: H,
    signals: [{ name: 'rsi', kind: 'technical', value: 27, score: 0.6 }, { name: 'macd', kind: 'technical', value: 1, score: -0.2 }],
    synthesis: { weights: { rsi: 0.7, macd: 0.3 }, score: 0.36, stance: 'bullish' },
    recommendation: { action, confidence, target: null, stopLoss: null, size: 0.1 },
    reasoning: '',
  });

  it('a plain decision record is one call; close and cancel are not calls', () => {
    const j = new Journal();
    j.append('decision', rec({ id: 'd1', factors: { rsi: 27.5, up: true, note: 'x' }, confidence: 70 }), H);
    j.append('decision', rec({ id: 'd2', action: 'close' }), 2 * H);
    j.append('decision', rec({ id: 'd3', action: 'hold' }), 3 * H);
    const r = callsFromJournal(j.entries());
    expect(r.calls.map((c) => [c.decisionId, c.action, c.confidence])).toEqual([['d1', 'buy', 70], ['d3', 'hold', 50]]);
    expect(r.calls[0]!.factors).toEqual({ rsi: 27.5, up: 1 });
    expect(r.consensus).toEqual([]);
  });

  it('agent decisions in the detail are calls; several make a consensus with their votes', () => {
    const j = new Journal();
    j.append('decision', rec({ id: 'one', detail: agentDecision('cons', 'buy', 64) }), H);
    j.append('decision', rec({
      id: 'deb', action: 'buy',
      detail: { decisions: [agentDecision('a', 'buy', 87), agentDecision('b', 'sell', 72), { ...agentDecision('c', 'buy', 5), abstained: { reason: 'no answer' } }], votes: [{ agentId: 'a', weight: 0.54 }] },
    }), 2 * H);
    const r = callsFromJournal(j.entries());
    expect(r.calls.map((c) => [c.agentId, c.action, c.confidence])).toEqual([['cons', 'buy', 64], ['a', 'buy', 87], ['b', 'sell', 72]]);
    expect(r.calls[0]!.factors).toEqual({ rsi: 0.6, macd: -0.2 });
    expect(r.calls[0]!.weights).toEqual({ rsi: 0.7, macd: 0.3 });
    expect(r.consensus).toEqual([{ decisionId: 'deb', ts: H, symbol: 'BTC/USDT', action: 'buy', votes: [{ agentId: 'a', action: 'buy', weight: 0.54 }, { agentId: 'b', action: 'sell', weight: 72 }] }]);
  });

  it("a real debate's ConsensusRecord as detail: the last round's answers are the calls, its votes the weights", () => {
    const closes = Array.from({ length: 120 }, (_, i) => 100 * Math.exp(0.004 * i + 0.01 * Math.sin(i / 3)));
    const agents = ['conservative', 'aggressive', 'trend-follower'].map((p) => createPersonaAgent(p));
    const record = debate(agents, inputOf(windowOf(closes)), { rounds: 1, quorum: 0.5, minWeight: 0, tie: 'hold', vetoOnAnyAgent: false, riskAgents: [] });
    const j = new Journal();
    j.append('decision', rec({ id: 'deb', ts: record.ts, action: record.action, confidence: record.confidence, detail: record }), record.ts);
    const r = callsFromJournal(j.entries());
    const last = record.rounds[record.rounds.length - 1]!;
    expect(r.calls.map((c) => [c.agentId, c.action, c.confidence])).toEqual(last.map((d) => [d.agentId, d.recommendation.action, d.recommendation.confidence]));
    expect(r.calls[0]!.factors).toEqual(Object.fromEntries(last[0]!.signals.map((s) => [s.name, s.score])));
    expect(Object.keys(r.calls[0]!.factors)).toContain('rsi');
    expect(r.consensus).toHaveLength(1);
    const revised = callsFromDecision(rec({ detail: { rounds: [[agentDecision('a', 'sell', 10), agentDecision('b', 'sell', 20)], [agentDecision('a', 'buy', 87), agentDecision('b', 'sell', 30)]] } }));
    expect(revised.calls.map((c) => [c.agentId, c.action, c.confidence])).toEqual([['a', 'buy', 87], ['b', 'sell', 30]]);
    // A long-only desk journals its sell as a close and a buy while long as a hold: the consensus call is the vote's outcome.
    const closed = callsFromDecision(rec({ action: 'close', detail: { kind: 'debate', decisions: [agentDecision('a', 'sell', 70), agentDecision('b', 'sell', 30)], outcome: { action: 'sell' } } }));
    expect(closed.consensus[0]!.action).toBe('sell');
    const bare = callsFromDecision(rec({ action: 'close', detail: { decisions: [agentDecision('a', 'sell', 70), agentDecision('b', 'sell', 30)] } }));
    expect(bare.consensus[0]!.action).toBe('hold');
    expect(r.consensus[0]!.votes).toEqual(record.votes.map((v) => ({ agentId: v.agentId, action: last.find((d) => d.agentId === v.agentId)!.recommendation.action, weight: v.weight })));
  });
});
