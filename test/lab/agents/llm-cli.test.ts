import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csInProcess } from '../../support/cli.ts';
import { startAnthropicEmulator, toolUse, type AnthropicEmulator } from '../../support/anthropic-emulator.ts';
import { randomUUID } from 'node:crypto';

/** `cs backtest --strategy llm:<persona>`: record through the loopback API, replay offline, fail loudly on a gap. */
// A fresh stand-in key per run: distinctive enough to search every output for, and no secret-like literal in git.
const KEY = `test-api-key-${randomUUID()}`;
let dir: string, db: string, emu: AnthropicEmulator;
const saved = { key: process.env.ANTHROPIC_API_KEY, url: process.env.ANTHROPIC_BASE_URL };

const hold = {
  situation: { trend: 'flat', regime: 'range', summary: 'ASSET_A ranges' },
  signals: [{ name: 'range', kind: 'technical', value: true, score: 0 }],
  synthesis: { weights: { range: 1 }, score: 0, stance: 'neutral' },
  risk: { vetoes: ['no edge'], stopLoss: null, target: null, maxFraction: 0.1 },
  recommendation: { action: 'hold', confidence: 40, target: null, stopLoss: null, size: 0 },
  reasoning: 'Nothing to do on ASSET_A.',
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-llm-cli-'));
  db = join(dir, 'a.duckdb');
  const s = await csInProcess(['data', 'synth', '--symbol', 'BTC/USDT', '--timeframe', '1h', '--from', '2024-01-01', '--to', '2024-01-03', '--seed', '3', '--db', db]);
  expect(s.code, s.err).toBe(0);
  emu = await startAnthropicEmulator({ fallback: () => ({ content: [toolUse('submit_decision', hold)], usage: { input_tokens: 1000, output_tokens: 100 } }) });
}, 60_000);
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
  for (const [k, v] of [['ANTHROPIC_API_KEY', saved.key], ['ANTHROPIC_BASE_URL', saved.url]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const args = (cache: string, mode: string) => ['backtest', '--strategy', 'llm:trend-follower', '--symbol', 'BTC/USDT', '--timeframe', '1h', '--param', 'window=12', '--param', 'every=12', '--param', 'mask=true', '--llm-cache', cache, '--llm-mode', mode, '--db', db, '--json', '--no-save'];

describe('cs backtest --strategy llm:*', () => {
  it('records with the key from ANTHROPIC_API_KEY, replays without it: same run, nothing fetched, the key nowhere', async () => {
    const cache = join(dir, 'prompts.jsonl');
    process.env.ANTHROPIC_API_KEY = KEY;
    process.env.ANTHROPIC_BASE_URL = emu.url;
    const rec = await csInProcess(args(cache, 'record'));
    expect(rec.code, rec.err).toBe(0);
    const r = JSON.parse(rec.out);
    // 48 bars, decisions when 12, 24, 36, 48 bars are seen: 4 prompts.
    expect(r.llm.fetched.calls).toBe(4);
    expect(emu.requests).toHaveLength(4);
    expect(emu.requests.every((q) => !q.raw.includes('BTC') && !q.raw.includes('2024'))).toBe(true);
    // Sonnet 5.5 at $2 / $10 per million: 4 × (1000 × 2 + 100 × 10) / 1e6 = $0.012.
    expect(r.llm.total.costUsd).toBeCloseTo(0.012, 12);
    expect(rec.err).toMatch(/llm: fetched 4 prompt\(s\), 4400 tokens/);

    delete process.env.ANTHROPIC_API_KEY;
    const rep = await csInProcess(args(cache, 'replay'));
    expect(rep.code, rep.err).toBe(0);
    const p = JSON.parse(rep.out);
    expect(p.runId).toBe(r.runId);
    expect(p.resultHash).toBe(r.resultHash);
    expect(p.llm.fetched.calls).toBe(0);
    expect(p.llm.total).toEqual(r.llm.total);
    expect(emu.requests).toHaveLength(4);
    for (const text of [rec.out, rec.err, rep.out, rep.err, readFileSync(cache, 'utf8')]) expect(text).not.toContain(KEY);

    const info = await csInProcess(['llm', 'cache', cache, '--json']);
    expect(info.code, info.err).toBe(0);
    const inf = JSON.parse(info.out);
    expect(inf.answers).toBe(4);
    expect(inf.byModel['claude-sonnet-5-5'].inputTokens).toBe(4000);
    expect(inf.total.costUsd).toBeCloseTo(0.012, 12);

    const text = await csInProcess(args(cache, 'replay').filter((a) => a !== '--json'));
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/llm: replay from .*prompts\.jsonl; 4 answer\(s\), 4400 tokens, ~\$0\.0120 \(estimate\); fetched 0/);
  });

  it('exits 2 on a replay gap (naming the prompt) and without --llm-cache', async () => {
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    const gap = await csInProcess(args(empty, 'replay'));
    expect(gap.code).toBe(2);
    expect(gap.err).toMatch(/replay: prompt [0-9a-f]{64} \(agent .*, decision at 2024-01-01T12:00:00\.000Z\) is not in the prompt cache/);
    const none = await csInProcess(args(empty, 'replay').filter((a, i, all) => a !== '--llm-cache' && all[i - 1] !== '--llm-cache'));
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/llm:trend-follower needs --llm-cache <file>/);
  });
});
