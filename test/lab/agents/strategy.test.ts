import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../engine/hash.ts';
import type { DecisionRecord } from '../../../engine/decision.ts';
import type { BarColumns } from '../../../engine/types.ts';
import { generateBars } from '../../../datasets/synth.ts';
import type { SentimentRows } from '../../../datasets/sentiment.ts';
import { parseRunConfig } from '../../../lab/evaluate.ts';
import { runLoaded } from '../../../lab/backtest.ts';
import { marketFromColumns } from '../../../lab/market-data.ts';
import { loadStrategy } from '../../../lab/strategy-loader.ts';
import { withAgentData } from '../../../lab/agents/environment.ts';
import { SentimentFeed } from '../../../lab/agents/sentiment.ts';
import type { DebateDetail } from '../../../lab/agents/strategy.ts';
import type { AgentDecision } from '../../../engine/agents/types.ts';
import { InputError } from '../../../engine/errors.ts';
import { BacktestPool } from '../../../lab/pool.ts';
import type { Params } from '../../../lab/search-space.ts';
import { shareMarket } from '../../../lab/market-data.ts';

const H = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
const N = 500;
const bars = generateBars({ symbol: 'BTC/USDT', timeframeMs: H, from: T0, to: T0 + N * H, seed: 11, model: { kind: 'gbm', drift: 0.2, vol: 0.8 } });
const market = marketFromColumns([bars], 'synthetic');

/** One scored headline and one index value every 6 hours, swinging between fear and greed. */
const sentiment: SentimentRows = {
  fearGreed: Array.from({ length: N / 6 }, (_, i) => ({ ts: T0 + i * 6 * H, value: 50 + 45 * Math.sin(i / 3), source: 'fng' })),
  headlines: Array.from({ length: N / 6 }, (_, i) => ({ ts: T0 + i * 6 * H + H, symbol: 'BTC', source: 'wire', title: `h${i}`, score: Math.cos(i / 2) })),
};

async function run(strategy: string, params: Record<string, unknown>, series: readonly BarColumns[] = [bars], rows: SentimentRows = sentiment) {
  const loaded = await loadStrategy(strategy);
  const config = parseRunConfig({ strategy, symbols: ['BTC/USDT'], timeframe: '1h', params });
  return withAgentData({ sentiment: new SentimentFeed(rows) }, () => runLoaded(loaded, { ...config, params }, series, market.datasets));
}

function decisionsOf(r: Awaited<ReturnType<typeof run>>): DecisionRecord[] {
  return r.journal.filter((e) => e.type === 'decision').map((e) => e.payload as DecisionRecord);
}

/** A decision as decided (its outcome, known later, left out). */
const decided = (d: DecisionRecord): string => canonicalJson({ ...d, outcome: undefined });

function poison(c: BarColumns, after: number): BarColumns {
  const f = (a: Float64Array, x: (v: number) => number) => Float64Array.from(a, (v, i) => (i > after ? x(v) : v));
  return { ...c, open: f(c.open, (v) => v * 1000), high: f(c.high, (v) => v * 5000), low: f(c.low, (v) => v / 1000), close: f(c.close, () => 1e-6), volume: f(c.volume, () => 1e12) };
}

describe('agent strategies', () => {
  it('journal every decision point (holds included) with the five steps as detail', async () => {
    const r = await run('persona:trend-follower', { decideEvery: 5, warmup: 60 });
    const ds = decisionsOf(r);
    // Decision points: bars 60, 65, …, 500 seen → (500 − 60)/5 + 1 = 89
    expect(ds.length).toBe(89);
    expect(ds.map((d) => d.ts)).toEqual(Array.from({ length: 89 }, (_, i) => T0 + (60 + 5 * i) * H));
    expect(new Set(ds.map((d) => d.action))).toContain('hold');
    expect(ds.some((d) => d.action === 'buy')).toBe(true);
    for (const d of ds) {
      const a = d.detail as AgentDecision;
      expect(a.agentId).toBe('trend-follower');
      expect(a.ts).toBe(d.ts);
      expect(d.confidence).toBe(a.recommendation.confidence);
      expect(d.weights).toEqual(a.synthesis.weights);
      expect(d.factors.rsi).toBe(a.signals.find((s) => s.name === 'rsi')!.value);
      expect(a.signals.some((s) => s.kind === 'sentiment')).toBe(true);
    }
  });

  it('a debate journals every agent’s final decision, the rounds, the votes and the explained outcome', async () => {
    const r = await run('debate', { decideEvery: 10, warmup: 60, rounds: 2 });
    const ds = decisionsOf(r);
    expect(ds.length).toBe(45); // (500 − 60)/10 + 1
    for (const d of ds) {
      const x = d.detail as DebateDetail;
      expect(x.kind).toBe('debate');
      expect(x.decisions.map((a) => a.agentId)).toEqual(['conservative', 'aggressive', 'trend-follower']);
      expect(x.rounds.length).toBe(3);
      expect(d.reasoning.startsWith(x.outcome.explanation)).toBe(true);
      expect(d.confidence).toBe(x.outcome.confidence);
      expect(Object.values(d.weights).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      if (d.action === 'buy') expect(x.outcome.action).toBe('buy');
    }
  });

  it('is deterministic: the same run twice gives the same journal and result', async () => {
    const a = await run('debate', { decideEvery: 7, warmup: 60 });
    const b = await run('debate', { decideEvery: 7, warmup: 60 });
    expect(a.journal.at(-1)!.hash).toBe(b.journal.at(-1)!.hash);
    expect(a.resultHash).toBe(b.resultHash);
  });

  it('poisoned future: absurd bars and sentiment after t leave every decision up to t bit-identical', async () => {
    const cut = 300; // the bar index after which everything is poisoned
    const cutTs = bars.ts[cut]! + H; // its close: the last decision time that must not change
    const poisonedRows: SentimentRows = {
      fearGreed: sentiment.fearGreed.map((f) => (f.ts > cutTs ? { ...f, value: 100 } : f)),
      headlines: [...sentiment.headlines.map((h) => (h.ts > cutTs ? { ...h, score: -1 } : h)), { ts: cutTs + 1, symbol: '*', source: 'x', title: 'future', score: 1 }],
    };
    for (const strategy of ['persona:aggressive', 'debate']) {
      const clean = decisionsOf(await run(strategy, { decideEvery: 3, warmup: 60 }));
      const dirty = decisionsOf(await run(strategy, { decideEvery: 3, warmup: 60 }, [poison(bars, cut)], poisonedRows));
      const upTo = (ds: DecisionRecord[]) => ds.filter((d) => d.ts <= cutTs).map(decided);
      expect(upTo(clean).length).toBe(Math.floor((cut + 1 - 60) / 3) + 1);
      expect(upTo(dirty)).toEqual(upTo(clean));
      // …and the poison does reach the decisions after t (the test can fail).
      expect(dirty.filter((d) => d.ts > cutTs).map(decided)).not.toEqual(clean.filter((d) => d.ts > cutTs).map(decided));
    }
  });

  it('bad parameters are input errors naming the field', async () => {
    await expect(run('debate', { agents: 'conservative,yolo' })).rejects.toThrow(/unknown agent "yolo"/);
    await expect(loadStrategy('persona:yolo')).rejects.toThrow(InputError);
  });

  it('runs in sweep worker threads (loaded by name in each worker) with the same result as in this thread', async () => {
    const strategy = 'debate';
    const config = parseRunConfig({ strategy, symbols: ['BTC/USDT'], timeframe: '1h' });
    const pool = await BacktestPool.create({ strategy, config, market: shareMarket(market), workers: 2 });
    try {
      const tasks = ([{ decideEvery: 6, rounds: 0 }, { decideEvery: 6, rounds: 2, tie: 'risk-off' }] as Params[]).map((params, i) => ({ key: `k${i}`, params, seed: 1 }));
      const summaries = await pool.run(tasks);
      for (const [i, t] of tasks.entries()) {
        // Without a sentiment feed, as in the workers.
        const loaded = await loadStrategy(strategy);
        const inline = runLoaded(loaded, { ...config, params: t.params, journal: false }, [bars], market.datasets);
        expect(summaries[i]!.resultHash).toBe(inline.resultHash);
      }
    } finally {
      await pool.close();
    }
  });
});

describe('agent factories', () => {
  it('a registered prefix lets another kind of agent join a debate', async () => {
    const { registerAgentFactory, parseAgentList, buildAgents } = await import('../../../lab/agents/personas.ts');
    expect(() => parseAgentList('conservative,test:bull')).toThrow(/unknown agent "test:bull"/);
    registerAgentFactory('test:', (name, id) => ({
      id,
      persona: name,
      decide: (input) => ({
        agentId: id, persona: name, symbol: input.symbol, ts: input.now,
        situation: { price: 1, trend: 'flat', volatility: 0, regime: 'range', summary: '' }, signals: [],
        synthesis: { weights: {}, score: 1, stance: 'bullish' }, risk: { vetoes: [], stopLoss: null, target: null, maxFraction: 1 },
        recommendation: { action: 'buy', confidence: 99, target: null, stopLoss: null, size: 0.5 }, reasoning: 'always buys',
      }),
    }));
    const list = parseAgentList('conservative,test:bull');
    expect(buildAgents(list).map((a) => a.id)).toEqual(['conservative', 'test:bull']);
    const r = await run('debate', { decideEvery: 50, warmup: 60, agents: 'conservative,test:bull', vetoOnAnyAgent: false });
    const ds = decisionsOf(r);
    expect(ds.every((d) => (d.detail as DebateDetail).decisions[1]!.reasoning === 'always buys')).toBe(true);
    expect(ds.some((d) => d.action === 'buy')).toBe(true);
  });
});
