import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csInProcess } from '../../support/cli.ts';
import { openStore } from '../../../datasets/store.ts';
import { readJournal } from '../../../datasets/journal-store.ts';

/**
 * End to end: synthetic bars → a backtest of a two-agent desk saved with its journal →
 * `cs agents score`. The expected figures are recomputed here from the stored closes with the
 * desk's own rule (momentum calls the last move, fade the opposite), not taken from the scorer.
 */
const FIXTURE = join(import.meta.dirname, 'fixtures', 'scoring-desk.ts');
const H = 3_600_000;
let dir: string, db: string, runId: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-agents-score-'));
  db = join(dir, 'a.duckdb');
  const s = await csInProcess(['data', 'synth', '--symbol', 'BTC/USDT', '--timeframe', '1h', '--from', '2024-01-01', '--to', '2024-01-21', '--seed', '7', '--db', db]);
  expect(s.code, s.err).toBe(0);
  const b = await csInProcess(['backtest', '--strategy', FIXTURE, '--symbol', 'BTC/USDT', '--timeframe', '1h', '--db', db, '--json']);
  expect(b.code, b.err).toBe(0);
  runId = JSON.parse(b.out).runId;
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function closes(): Promise<{ ts: Float64Array; close: Float64Array }> {
  const store = await openStore(db);
  try {
    const { columns } = await store.loadBars({ exchange: 'synthetic', symbol: 'BTC/USDT', timeframe: '1h' }, {}, { shared: false });
    return { ts: columns.ts, close: columns.close };
  } finally {
    await store.close();
  }
}

describe('cs agents score', () => {
  it('per-agent hit rate, Brier, call P&L and consensus attribution match a recomputation from the closes', async () => {
    const h = 4;
    const r = await csInProcess(['agents', 'score', runId, '--horizon', String(h), '--json', '--db', db]);
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out);
    const { ts: open, close } = await closes();
    // The desk decides at the close of bars 1..n−1; calls at bars with i + h ≤ n − 1 have an outcome.
    let n = 0, right = 0, pnl = 0, consensus = 0, decisions = 0;
    for (let i = 1; i + h < close.length; i++) {
      const dir = close[i]! > close[i - 1]! ? 1 : -1;
      const ret = close[i + h]! / close[i]! - 1;
      n++;
      if (dir * ret > 0) right++;
      pnl += dir * ret;
    }
    // Consensus calls are the buys placed when flat; recover which bars from the stored journal.
    const store = await openStore(db);
    const journal = await readJournal(store, runId);
    await store.close();
    const buys = journal.filter((e) => e.type === 'decision' && e.payload.action === 'buy').map((e) => e.ts);
    for (const ts of buys) {
      const i = (ts - open[0]!) / H - 1; // decided at the close of bar i
      if (i + h >= close.length) continue;
      decisions++;
      consensus += close[i + h]! / close[i]! - 1;
    }
    expect(buys.length).toBeGreaterThan(5);
    const byId = Object.fromEntries(out.agents.map((a: { agentId: string }) => [a.agentId, a]));
    expect(Object.keys(byId).sort()).toEqual(['fade', 'momentum']);
    expect(byId.momentum).toMatchObject({ n, directional: n });
    expect(byId.momentum.hitRate).toBeCloseTo(right / n, 12);
    expect(byId.fade.hitRate).toBeCloseTo((n - right - ties(close, h)) / n, 12);
    expect(byId.momentum.pnl).toBeCloseTo(pnl, 9);
    expect(byId.fade.pnl).toBeCloseTo(-pnl, 9);
    const p = right / n; // a constant 0.6 forecast: Brier = mean (0.6 − o)² = p·0.16 + (1 − p)·0.36
    expect(byId.momentum.brier).toBeCloseTo(p * 0.16 + (1 - p) * 0.36, 12);
    expect(out.consensus.decisions).toBe(decisions);
    expect(out.consensus.total).toBeCloseTo(consensus, 9);
    expect(byId.momentum.consensusPnl).toBeCloseTo(consensus, 9); // fade never voted for a buy the desk made
    expect(byId.fade.consensusPnl).toBe(0);
    expect(out.importance.map((g: { agentId: string; regime: string }) => `${g.agentId}/${g.regime}`)).toEqual(['fade/all', 'momentum/all']);
    expect(out.reliability.momentum[6]).toMatchObject({ lo: 60, n });
  }, 30_000);

  it('--by regime adds the regime table; the text output names every agent', async () => {
    const r = await csInProcess(['agents', 'score', runId, '--horizon', '2', '--by', 'regime', '--min-samples', '20', '--walk-forward', '100:50', '--db', db]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^momentum\s+\d+/m);
    expect(r.out).toMatch(/^fade\s+\d+/m);
    expect(r.out).toMatch(/by regime at the decision bar/);
    expect(r.out).toMatch(/regime-weighted selection, walk-forward \(\d+ windows\)/);
    const j = JSON.parse((await csInProcess(['agents', 'score', runId, '--by', 'regime', '--learn', '--json', '--db', db])).out);
    // the desk journals weights { move: 1 }: that is the prior learning starts from
    expect(j.learned.map((l: { agentId: string; prior: object }) => [l.agentId, l.prior])).toEqual([['fade', { move: 1 }], ['momentum', { move: 1 }]]);
    const total = j.regimes.filter((x: { agentId: string }) => x.agentId === 'momentum').reduce((s: number, x: { n: number }) => s + x.n, 0);
    expect(total).toBe(j.agents.find((a: { agentId: string }) => a.agentId === 'momentum').n);
  }, 30_000);

  it('bad input exits 2 and names the problem', async () => {
    const missing = await csInProcess(['agents', 'score', 'no-such-run', '--db', db]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/run no-such-run: not in/);
    const h = await csInProcess(['agents', 'score', runId, '--horizon', '0', '--db', db]);
    expect([h.code, h.err]).toEqual([2, expect.stringMatching(/--horizon: must be at least 1 bar/)]);
    const wf = await csInProcess(['agents', 'score', runId, '--walk-forward', 'ten', '--db', db]);
    expect([wf.code, wf.err]).toEqual([2, expect.stringMatching(/--walk-forward: expects TRAIN:TEST/)]);
    const help = await csInProcess(['agents', 'score', '--help']);
    expect(help.out).toMatch(/--horizon <bars>/);
  }, 30_000);
});

describe('cs agents score on a debate of the three personas', () => {
  it('per-agent figures and the consensus split match a recomputation from the journaled votes and the closes', async () => {
    const b = await csInProcess(['backtest', '--strategy', 'debate', '--symbol', 'BTC/USDT', '--timeframe', '1h', '--to', '2024-01-09', '--param', 'window=60', '--param', 'warmup=60', '--db', db, '--json']);
    expect(b.code, b.err).toBe(0);
    const debateRun = JSON.parse(b.out).runId as string;
    const h = 3;
    const r = await csInProcess(['agents', 'score', debateRun, '--horizon', String(h), '--json', '--db', db]);
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out);

    const { ts: open, close } = await closes();
    const store = await openStore(db);
    const journal = await readJournal(store, debateRun);
    await store.close();
    type D = { agentId: string; recommendation: { action: string; confidence: number } };
    const want: Record<string, { n: number; dir: number; right: number; pnl: number; brier: number }> = {};
    let total = 0, decisions = 0;
    const share: Record<string, number> = {};
    for (const e of journal) {
      if (e.type !== 'decision') continue;
      const detail = e.payload.detail as { decisions: D[]; votes: { agentId: string; weight: number }[]; outcome: { action: string } };
      const i = (e.ts - open[0]!) / H - 1;
      if (i + h >= close.length || i + h >= (Date.UTC(2024, 0, 9) - open[0]!) / H) continue;
      const ret = close[i + h]! / close[i]! - 1;
      for (const d of detail.decisions) {
        const w = (want[d.agentId] ??= { n: 0, dir: 0, right: 0, pnl: 0, brier: 0 });
        const dir = d.recommendation.action === 'buy' ? 1 : d.recommendation.action === 'sell' ? -1 : 0;
        w.n++;
        w.pnl += dir * ret;
        if (dir !== 0) {
          w.dir++;
          const ok = dir * ret > 0 ? 1 : 0;
          w.right += ok;
          w.brier += (d.recommendation.confidence / 100 - ok) ** 2;
        }
      }
      const cdir = detail.outcome.action === 'buy' ? 1 : detail.outcome.action === 'sell' ? -1 : 0;
      if (cdir === 0) continue;
      decisions++;
      total += cdir * ret;
      const backers = detail.votes.filter((v) => detail.decisions.find((d) => d.agentId === v.agentId)!.recommendation.action === detail.outcome.action && v.weight > 0);
      const sw = backers.reduce((s, v) => s + v.weight, 0);
      for (const v of backers) share[v.agentId] = (share[v.agentId] ?? 0) + (cdir * ret * v.weight) / sw;
    }
    expect(Object.keys(want).sort()).toEqual(['aggressive', 'conservative', 'trend-follower']);
    expect(decisions).toBeGreaterThan(0);
    expect(Object.values(want).filter((w) => w.dir > 5).length).toBeGreaterThan(0);
    for (const a of out.agents) {
      const w = want[a.agentId]!;
      expect([a.agentId, a.n, a.directional]).toEqual([a.agentId, w.n, w.dir]);
      expect(a.pnl).toBeCloseTo(w.pnl, 9);
      if (w.dir > 0) {
        expect(a.hitRate).toBeCloseTo(w.right / w.dir, 12);
        expect(a.brier).toBeCloseTo(w.brier / w.dir, 12);
      }
      expect(a.consensusPnl).toBeCloseTo(share[a.agentId] ?? 0, 9);
    }
    expect(out.consensus.decisions).toBe(decisions);
    expect(out.consensus.total).toBeCloseTo(total, 9);
  }, 60_000);
});

/** Calls where the price did not move over the horizon: a miss for both agents. */
function ties(close: Float64Array, h: number): number {
  let t = 0;
  for (let i = 1; i + h < close.length; i++) if (close[i + h] === close[i]) t++;
  return t;
}
