import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csInProcess } from '../../support/cli.ts';
import { openStore } from '../../../datasets/store.ts';
import { readJournal } from '../../../datasets/journal-store.ts';
import type { AgentDecision } from '../../../engine/agents/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'cs-agents-cli-'));
const db = join(dir, 'a.duckdb');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  const r = await csInProcess(['data', 'synth', '--symbol', 'BTC/USDT', '--timeframe', '1h', '--from', '2024-05-01', '--to', '2024-06-15', '--seed', '3', '--db', db]);
  expect(r.code, r.err).toBe(0);
});

describe('cs agents', () => {
  it('sentiment import and show: fenced at --at', async () => {
    const fng = join(dir, 'fng.csv');
    writeFileSync(fng, 'timestamp,value\n2024-05-31,25\n2024-06-01,90\n');
    const news = join(dir, 'news.json');
    writeFileSync(news, JSON.stringify([{ ts: '2024-05-31T20:00:00Z', symbol: 'BTC', source: 'wire', title: 'Bitcoin rally' }]));
    expect((await csInProcess(['agents', 'sentiment', 'import', fng, '--kind', 'fear-greed', '--db', db])).code).toBe(0);
    const imp = await csInProcess(['agents', 'sentiment', 'import', news, '--kind', 'headlines', '--db', db, '--json']);
    expect(imp.code, imp.err).toBe(0);
    expect(JSON.parse(imp.out)).toMatchObject({ kind: 'headlines', rows: 1 });
    // At 23:59 on May 31 the index reads 25 → −0.5; the headline 'Bitcoin rally' = 2/5 = 0.4 → (−0.5 + 0.4)/2 = −0.05
    const show = await csInProcess(['agents', 'sentiment', 'show', '--symbol', 'BTC/USDT', '--at', '2024-05-31T23:59:59Z', '--db', db, '--json']);
    expect(show.code, show.err).toBe(0);
    expect(JSON.parse(show.out).reading.score).toBeCloseTo(-0.05, 12);
    const bad = await csInProcess(['agents', 'sentiment', 'import', fng, '--kind', 'headlines', '--db', db]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/fng.csv line 2: .*title/);
  });

  it('debate: text explains each agent and the vote; --json carries the record', async () => {
    const t = await csInProcess(['agents', 'debate', '--symbol', 'BTC/USDT', '--at', '2024-06-01T00:00Z', '--rounds', '2', '--db', db]);
    expect(t.code, t.err).toBe(0);
    for (const s of ['conservative (conservative)', 'aggressive (aggressive)', 'trend-follower (trend-follower)', '1 situation', '5 decision', 'round 2:', 'vote: ', 'decision: ']) expect(t.out).toContain(s);
    expect(t.out).toContain('sentiment: +');
    const j = await csInProcess(['agents', 'debate', '--symbol', 'BTC/USDT', '--at', '2024-06-01T00:00Z', '--agents', 'conservative,aggressive', '--rounds', '0', '--db', db, '--json']);
    expect(j.code, j.err).toBe(0);
    const v = JSON.parse(j.out);
    expect(v.now).toBe(Date.UTC(2024, 5, 1));
    expect(v.record.rounds).toHaveLength(1);
    expect(v.record.votes.map((x: { agentId: string }) => x.agentId)).toEqual(['conservative', 'aggressive']);
    // the index of June 1 (90 → +0.8) is visible at 00:00 exactly; the headline too
    expect(v.sentiment.score).toBeCloseTo((0.8 + 0.4) / 2, 12);
  });

  it('bad input exits 2 and names the flag', async () => {
    const a = await csInProcess(['agents', 'debate', '--symbol', 'BTC/USDT', '--at', '2024-06-01', '--agents', 'conservative,yolo', '--db', db]);
    expect([a.code, a.err]).toEqual([2, expect.stringContaining('--agents: unknown agent "yolo"')]);
    const b = await csInProcess(['agents', 'debate', '--symbol', 'BTC/USDT', '--at', 'someday', '--db', db]);
    expect([b.code, b.err]).toEqual([2, expect.stringContaining('--at')]);
    const c = await csInProcess(['agents', 'debate', '--symbol', 'BTC/USDT', '--at', '2024-06-01', '--quorum', '2', '--db', db]);
    expect([c.code, c.err]).toEqual([2, expect.stringContaining('--quorum')]);
  });

  it('cs backtest runs a persona with the store\'s sentiment, journaled and stored', async () => {
    const r = await csInProcess(['backtest', '--strategy', 'persona:conservative', '--symbol', 'BTC/USDT', '--timeframe', '1h', '--param', 'decideEvery=6', '--db', db, '--json']);
    expect(r.code, r.err).toBe(0);
    const { runId } = JSON.parse(r.out);
    const store = await openStore(db, { readOnly: true });
    try {
      const journal = await readJournal(store, runId);
      const ds = journal.filter((e) => e.type === 'decision').map((e) => e.payload as { ts: number; detail: AgentDecision });
      expect(ds.length).toBeGreaterThan(100);
      const withSentiment = ds.filter((d) => d.detail.signals.some((s) => s.kind === 'sentiment'));
      // Readings exist only from the first stamp (May 31 00:00) on, and only while fresh (2 days).
      expect(withSentiment.length).toBeGreaterThan(0);
      expect(withSentiment.every((d) => d.ts >= Date.UTC(2024, 4, 31) && d.ts <= Date.UTC(2024, 5, 3))).toBe(true);
    } finally {
      await store.close();
    }
  });
});
