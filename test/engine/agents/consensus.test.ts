import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { debate, DEFAULT_CONSENSUS, vote, type ConsensusConfig } from '../../../engine/agents/consensus.ts';
import { createPersonaAgent, reviseWithProfile } from '../../../engine/agents/persona.ts';
import { PERSONA_PROFILES } from '../../../engine/agents/profile.ts';
import type { Agent, AgentDecision } from '../../../engine/agents/types.ts';
import { decisionOf, inputOf, windowOf } from './support.ts';

const cfg = (o: Partial<ConsensusConfig> = {}): ConsensusConfig => ({ ...DEFAULT_CONSENSUS, ...o });

describe('vote: hand-worked', () => {
  it('2 bullish at 87 and 64, 1 bearish at 72 → BUY', () => {
    const r = vote([
      decisionOf('a', 'buy', 87, { size: 0.25, stop: 95, target: 110 }),
      decisionOf('b', 'sell', 72, { size: 1, stop: 104, target: 90 }),
      decisionOf('c', 'buy', 64, { size: 1, stop: 97, target: 108 }),
    ]);
    // W(buy) = 87 + 64 = 151, W(sell) = 72, ΣW = 223 → weight 151/223 = 0.677130…
    expect(r.winner).toBe('buy');
    expect(r.action).toBe('buy');
    expect(r.weight).toBeCloseTo(151 / 223, 12);
    expect(r.tally.sell.weight).toBeCloseTo(72 / 223, 12);
    // confidence = round(0.67713 × (87 + 64)/2 = 51.12) = 51
    expect(r.confidence).toBe(51);
    // size = (87 × 0.25 + 64 × 1) / 151 = 85.75 / 151
    expect(r.size).toBeCloseTo(85.75 / 151, 12);
    expect(r.stopLoss).toBe(97); // the tighter of 95 and 97
    expect(r.target).toBe(108); // the nearer of 110 and 108
    expect(r.explanation).toBe('2 bullish at 87 and 64, 1 bearish at 72 → BUY, weight 0.68');
    expect(r.votes.map((v) => v.weight)).toEqual([87 / 223, 72 / 223, 64 / 223]);
    expect(r.blockedBy).toBeNull();
  });

  it('holds count with their confidence: buy 40, hold 30 + 25 → HOLD wins with 55/95', () => {
    const r = vote([decisionOf('a', 'buy', 40), decisionOf('b', 'hold', 30), decisionOf('c', 'hold', 25)]);
    expect(r.action).toBe('hold');
    expect(r.weight).toBeCloseTo(55 / 95, 12);
    expect(r.size).toBe(0);
    expect(r.explanation).toBe('1 bullish at 40, 2 neutral at 30 and 25 → HOLD, weight 0.58');
  });

  it('tie rules: hold, risk-off, chair', () => {
    const ds = [decisionOf('a', 'buy', 50), decisionOf('b', 'sell', 50), decisionOf('c', 'hold', 10)];
    const h = vote(ds, cfg({ tie: 'hold' }));
    expect([h.winner, h.action, h.confidence]).toEqual(['tie', 'hold', 0]);
    expect(h.weight).toBeCloseTo(50 / 110, 12);
    expect(h.explanation).toBe('1 bullish at 50, 1 bearish at 50, 1 neutral at 10 → tie between BUY and SELL → HOLD');
    expect(vote(ds, cfg({ tie: 'risk-off' })).action).toBe('sell');
    expect(vote(ds, cfg({ tie: 'chair' })).action).toBe('buy');
    expect(vote([ds[1]!, ds[0]!, ds[2]!], cfg({ tie: 'chair' })).action).toBe('sell');
  });

  it('quorum: ⌈0.5 × 3⌉ = 2 votes needed; one vote and two abstentions hold', () => {
    const ds = [decisionOf('a', 'buy', 90), decisionOf('b', 'hold', 0, { abstained: 'bad answer' }), decisionOf('c', 'hold', 0, { abstained: 'bad answer' })];
    const r = vote(ds, cfg({ quorum: 0.5 }));
    expect(r.participation).toEqual({ voted: 1, total: 3, needed: 2 });
    expect(r.winner).toBe('buy');
    expect(r.action).toBe('hold');
    expect(r.blockedBy).toBe('no quorum: 1 of 3 voted, 2 needed');
    expect(r.explanation).toBe('1 bullish at 90, 2 abstained → BUY, weight 1.00 → HOLD (no quorum: 1 of 3 voted, 2 needed)');
    expect(vote(ds, cfg({ quorum: 1 / 3 })).action).toBe('buy');
  });

  it('minWeight: buy 60 vs hold 50 has weight 60/110 = 0.545', () => {
    const ds = [decisionOf('a', 'buy', 60), decisionOf('b', 'hold', 50)];
    expect(vote(ds, cfg({ minWeight: 0.55 })).action).toBe('hold');
    expect(vote(ds, cfg({ minWeight: 0.54 })).action).toBe('buy');
  });

  it('risk veto: any agent’s own veto blocks a buy, never a sell', () => {
    const buy = [decisionOf('a', 'buy', 80), decisionOf('b', 'buy', 70), decisionOf('c', 'hold', 20, { vetoes: ['volatility 140% > 90% cap'] })];
    const r = vote(buy);
    expect(r.action).toBe('hold');
    expect(r.blockedBy).toBe('vetoed by c: volatility 140% > 90% cap');
    expect(vote(buy, cfg({ vetoOnAnyAgent: false })).action).toBe('buy');
    const sell = [decisionOf('a', 'sell', 80), decisionOf('c', 'hold', 20, { vetoes: ['volatility 140% > 90% cap'] })];
    expect(vote(sell).action).toBe('sell');
  });

  it('a listed risk agent vetoes a buy by voting sell', () => {
    const ds = [decisionOf('a', 'buy', 80), decisionOf('b', 'buy', 70), decisionOf('risk', 'sell', 30)];
    expect(vote(ds, cfg({ vetoOnAnyAgent: false })).action).toBe('buy');
    const r = vote(ds, cfg({ vetoOnAnyAgent: false, riskAgents: ['risk'] }));
    expect(r.action).toBe('hold');
    expect(r.blockedBy).toBe('vetoed by risk (risk agent) votes sell');
  });

  it('property: vote weights sum to 1, the winner holds the largest W, order of agents does not change a non-chair outcome', () => {
    const arbDecision = fc.record({ action: fc.constantFrom('buy', 'sell', 'hold' as const), confidence: fc.integer({ min: 0, max: 100 }), abstain: fc.boolean() });
    fc.assert(
      fc.property(fc.array(arbDecision, { minLength: 1, maxLength: 7 }), fc.constantFrom('hold', 'risk-off' as const), (arr, tie) => {
        const ds = arr.map((d, i) => decisionOf(`a${i}`, d.action as 'buy', d.confidence, d.abstain ? { abstained: 'x' } : {}));
        const r = vote(ds, cfg({ quorum: 0, tie, vetoOnAnyAgent: false }));
        const total = r.votes.reduce((a, v) => a + v.confidence, 0);
        if (total > 0) {
          expect(r.votes.reduce((a, v) => a + v.weight, 0)).toBeCloseTo(1, 9);
          const wmax = Math.max(r.tally.buy.confidence, r.tally.sell.confidence, r.tally.hold.confidence);
          if (r.winner !== 'tie') expect(r.tally[r.winner].confidence).toBe(wmax);
        } else expect(r.action).toBe('hold');
        const rev = vote([...ds].reverse(), cfg({ quorum: 0, tie, vetoOnAnyAgent: false }));
        expect([rev.action, rev.weight, rev.confidence]).toEqual([r.action, r.weight, r.confidence]);
      }),
    );
  });
});

describe('debate rounds', () => {
  it('revise, hand-worked: own score 0.40, openness 0.5, others buy 80 and sell 20 → m = 0.30, new score 0.35', () => {
    const p = { ...PERSONA_PROFILES.conservative, openness: 0.5, vetoRegimes: [], maxVolatility: Infinity };
    const input = inputOf(windowOf(Array.from({ length: 80 }, (_, i) => 100 + i * 0.1)));
    const own = decisionOf('me', 'buy', 40, { score: 0.4 });
    const r = reviseWithProfile(p, own, [decisionOf('x', 'buy', 80), decisionOf('y', 'sell', 20)], 1, input);
    expect(r.synthesis.score).toBeCloseTo(0.35, 12);
    expect(r.recommendation.action).toBe('buy');
    expect(r.recommendation.confidence).toBe(35);
    // conservative sizes by confidence: maxFraction 0.25 × 0.35
    expect(r.recommendation.size).toBeCloseTo(0.0875, 12);
    expect(r.reasoning).toContain('Round 1');
    // Openness 0 keeps its answer.
    expect(reviseWithProfile({ ...p, openness: 0 }, own, [decisionOf('x', 'sell', 100)], 1, input)).toBe(own);
  });

  it('every round is recorded, revisions are simultaneous (agent order does not matter), and the vote is over the last round', () => {
    const fixed = (id: string, action: 'buy' | 'sell' | 'hold', c: number): Agent => ({
      id,
      persona: id,
      decide: () => decisionOf(id, action, c),
      // Follows the majority of the others' previous answers (a vote count, not confidence).
      revise: (own, others) => {
        const buys = others.filter((o) => o.recommendation.action === 'buy').length;
        const sells = others.filter((o) => o.recommendation.action === 'sell').length;
        return buys > sells ? decisionOf(id, 'buy', own.recommendation.confidence) : sells > buys ? decisionOf(id, 'sell', own.recommendation.confidence) : own;
      },
    });
    const input = inputOf(windowOf([100, 101]));
    const agents = [fixed('a', 'buy', 60), fixed('b', 'buy', 20), fixed('c', 'sell', 90)];
    const r0 = debate(agents, input, cfg({ rounds: 0 }));
    expect(r0.rounds.length).toBe(1);
    // W(sell) 90 > W(buy) 60 + 20 = 80
    expect(r0.action).toBe('sell');
    expect(r0.weight).toBeCloseTo(90 / 170, 12);
    // Round 1: a and b each see one buy and one sell (keep buy); c sees two buys and turns.
    const r1 = debate(agents, input, cfg({ rounds: 1 }));
    expect(r1.rounds.length).toBe(2);
    expect(r1.rounds[0]!.map((d) => d.recommendation.action)).toEqual(['buy', 'buy', 'sell']);
    expect(r1.rounds[1]!.map((d) => d.recommendation.action)).toEqual(['buy', 'buy', 'buy']);
    expect([r1.action, r1.weight]).toEqual(['buy', 1]);
    const byId = (r: typeof r1) => Object.fromEntries(r.rounds[r.rounds.length - 1]!.map((d: AgentDecision) => [d.agentId, d.recommendation.action]));
    const permuted = debate([agents[2]!, agents[0]!, agents[1]!], input, cfg({ rounds: 3 }));
    expect(byId(permuted)).toEqual(byId(debate(agents, input, cfg({ rounds: 3 }))));
    expect(() => debate([agents[0]!, agents[0]!], input)).toThrow(/unique/);
  });
});
