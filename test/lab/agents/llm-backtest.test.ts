import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BarColumns } from '../../../engine/types.ts';
import type { DecisionRecord } from '../../../engine/decision.ts';
import { backtestRequestSchema, runLoaded, type BacktestReport } from '../../../lab/backtest.ts';
import { PromptNotRecorded } from '../../../lab/agents/llm/agent.ts';
import { PromptCache, type CacheMode } from '../../../lab/agents/llm/cache.ts';
import { runWithPromptCache } from '../../../lab/agents/llm/session.ts';
import { loadStrategy } from '../../../lab/strategy-loader.ts';
import { withAgentData } from '../../../lab/agents/environment.ts';
import { startAnthropicEmulator, toolUse, type AnthropicEmulator, type MessagesBody } from '../../support/anthropic-emulator.ts';
import { randomUUID } from 'node:crypto';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
// A fresh stand-in key per run: distinctive enough to search every output for, and no secret-like literal in git.
const KEY = `test-api-key-${randomUUID()}`;

/** A zig-zag of hourly bars; from bar `poisonFrom` on, absurd values (a future that must not leak). */
function series(n: number, poisonFrom = Infinity): BarColumns {
  const close = Float64Array.from({ length: n }, (_, i) => (i >= poisonFrom ? 1e9 + i : 100 + 10 * Math.sin(i / 4) + i * 0.1));
  return {
    symbol: 'BTC/USDT',
    timeframeMs: HOUR,
    length: n,
    ts: Float64Array.from({ length: n }, (_, i) => T0 + i * HOUR),
    open: close.map((c, i) => (i >= poisonFrom ? c : c - 0.5)),
    high: close.map((c) => c + 1),
    low: close.map((c) => c - 1),
    close,
    volume: close.map((_, i) => (i >= poisonFrom ? 1e12 : 50 + (i % 7))),
  };
}

/**
 * The scripted model: first asks for the last 5 bars, then buys 20 % when flat and sells when long
 * (read from the prompt), so a run has tool turns, trades and holds.
 */
function trader(body: MessagesBody) {
  if (body.messages.length === 1) return { content: [toolUse('get_bars', { n: 5 }, 'tu_bars')] };
  const flat = String(body.messages[0]!.content).includes('Your position: 0% of equity');
  const action = flat ? 'buy' : 'sell';
  return {
    content: [
      toolUse('submit_decision', {
        situation: { trend: 'flat', regime: 'range', summary: 'a range' },
        signals: [{ name: 'position', kind: 'technical', value: flat ? 'flat' : 'long', score: flat ? 0.5 : -0.5 }],
        synthesis: { weights: { position: 1 }, score: flat ? 0.5 : -0.5, stance: flat ? 'bullish' : 'bearish' },
        risk: { vetoes: [], stopLoss: null, target: null, maxFraction: 0.2 },
        recommendation: { action, confidence: 60, target: null, stopLoss: null, size: flat ? 0.2 : 0.2 },
        reasoning: `${action} on a range`,
      }),
    ],
  };
}

let emu: AnthropicEmulator;
let dir: string;
beforeEach(async () => {
  emu = await startAnthropicEmulator({ fallback: trader });
  dir = mkdtempSync(join(tmpdir(), 'cs-llm-bt-'));
});
afterEach(async () => {
  await emu.close();
});

const PARAMS = { window: 12, every: 4 };

async function backtest(cols: BarColumns, cache: PromptCache, mode: CacheMode, client?: Anthropic) {
  const loaded = await loadStrategy('llm:conservative');
  const req = backtestRequestSchema.parse({ strategy: 'llm:conservative', symbols: ['BTC/USDT'], timeframe: '1h', params: PARAMS, seed: 7 });
  const datasets = [{ exchange: 'test', symbol: 'BTC/USDT', timeframe: '1h', rows: cols.length, first: cols.ts[0]!, last: cols.ts[cols.length - 1]!, datasetHash: 'd'.repeat(64), validation: {} as never }];
  return runWithPromptCache(() => runLoaded(loaded, req, [cols], datasets), { cache, mode, ...(client ? { client } : {}), retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 5 } });
}

const decisions = (r: BacktestReport): DecisionRecord[] => r.journal.filter((e) => e.type === 'decision').map((e) => e.payload as DecisionRecord);

describe('llm:conservative in a backtest', () => {
  it('records through the emulator, then replays with the server stopped: same journal, zero requests', async () => {
    const file = join(dir, 'prompts.jsonl');
    const rec = new PromptCache(file);
    const recorded = await backtest(series(40), rec, 'record', new Anthropic({ baseURL: emu.url, apiKey: KEY, maxRetries: 0 }));
    // Bars 12, 16, …, 40 seen → decisions at 12, 16, 20, 24, 28, 32, 36, 40 seen: 8 decisions × 2 calls.
    const ds = decisions(recorded.result);
    expect(ds).toHaveLength(8);
    expect(ds.map((d) => d.action)).toEqual(['buy', 'close', 'buy', 'close', 'buy', 'close', 'buy', 'close']);
    expect(emu.requests).toHaveLength(16);
    expect(recorded.llm.passes).toBe(17);
    expect(recorded.result.trades.length).toBeGreaterThanOrEqual(3);
    await emu.close();

    const rep = PromptCache.load(file);
    const replayed = await backtest(series(40), rep, 'replay');
    expect(replayed.result.journal.at(-1)!.hash).toBe(recorded.result.journal.at(-1)!.hash);
    expect(replayed.result.runId).toBe(recorded.result.runId);
    expect(replayed.llm.passes).toBe(1);
    expect(replayed.llm.fetched.calls).toBe(0);
    expect(emu.requests).toHaveLength(16);
    expect(replayed.llm.total).toEqual(recorded.llm.total);
    expect(replayed.llm.agents[Object.keys(replayed.llm.agents)[0]!]!.calls).toBe(16);
    for (const text of [readFileSync(file, 'utf8'), JSON.stringify(recorded.result.journal), JSON.stringify(recorded.llm)]) expect(text).not.toContain(KEY);

    // Where no driver runs (a sweep worker), $CS_LLM_CACHE replays the same file: the same journal.
    process.env.CS_LLM_CACHE = file;
    try {
      const loaded = await loadStrategy('llm:conservative');
      const req = backtestRequestSchema.parse({ strategy: 'llm:conservative', symbols: ['BTC/USDT'], timeframe: '1h', params: PARAMS, seed: 7 });
      const bare = runLoaded(loaded, req, [series(40)], [{ exchange: 'test', symbol: 'BTC/USDT', timeframe: '1h', rows: 40, first: T0, last: T0 + 39 * HOUR, datasetHash: 'd'.repeat(64), validation: {} as never }]);
      expect(bare.journal.at(-1)!.hash).toBe(recorded.result.journal.at(-1)!.hash);
    } finally {
      delete process.env.CS_LLM_CACHE;
    }

    // One answer gone: the replay fails at the decision that needs it, naming the prompt.
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    writeFileSync(file, lines.filter((_, i) => i !== 5).join('\n') + '\n');
    const err = await backtest(series(40), PromptCache.load(file), 'replay').then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(PromptNotRecorded);
    expect((err as Error).message).toContain((JSON.parse(lines[5]!) as { key: string }).key);
  });

  it('sees no future: absurd bars after t leave every prompt and decision up to t unchanged', async () => {
    const client = new Anthropic({ baseURL: emu.url, apiKey: KEY, maxRetries: 0 });
    const clean = await backtest(series(40), new PromptCache(null), 'record', client);
    const cleanRequests = emu.requests.map((r) => r.raw);
    emu.requests.length = 0;
    const poisoned = await backtest(series(40, 26), new PromptCache(null), 'record', client);
    const poisonedRequests = emu.requests.map((r) => r.raw);
    // Decisions at 12, 16, 20, 24 bars seen use bars 0..23 only: identical; the one at 28 sees a poisoned bar.
    const early = (r: BacktestReport) => decisions(r).filter((d) => d.ts <= T0 + 24 * HOUR);
    expect(early(clean.result)).toHaveLength(4);
    expect(early(poisoned.result)).toEqual(early(clean.result));
    expect(poisonedRequests.slice(0, 8)).toEqual(cleanRequests.slice(0, 8));
    expect(poisonedRequests[8]).not.toEqual(cleanRequests[8]);
    expect(poisonedRequests.slice(0, 8).join('\n')).not.toMatch(/1000000/);
  });

  it('keeps its cadence past the history trim: decisions at 12, 112, …, 512 bars seen; tools reach 200 bars back', async () => {
    const loaded = await loadStrategy('llm:trend-follower');
    const req = backtestRequestSchema.parse({ strategy: 'llm:trend-follower', symbols: ['BTC/USDT'], timeframe: '1h', params: { window: 12, every: 100 } });
    emu.fallback = (b) => (b.messages.length === 1 ? { content: [toolUse('get_bars', { n: 200 }, 'tu_all')] } : trader(b));
    const cache = new PromptCache(null);
    const client = new Anthropic({ baseURL: emu.url, apiKey: KEY, maxRetries: 0 });
    const { result } = await runWithPromptCache(() => runLoaded(loaded, req, [series(520)], []), { cache, mode: 'record', client });
    expect(decisions(result).map((d) => (d.ts - T0) / HOUR)).toEqual([12, 112, 212, 312, 412, 512]);
    // The get_bars answer of the last decision: a header and 200 rows, the last one bar 511.
    const rows = String((emu.requests.at(-1)!.body.messages[2]!.content as { content: string }[])[0]!.content).split('\n');
    expect(rows).toHaveLength(201);
    expect(rows[200]!.startsWith(`${new Date(T0 + 511 * HOUR).toISOString().slice(0, 16)}Z,`)).toBe(true);
  });

  it('reads the run\'s sentiment feed at the replay clock, as persona:* does', async () => {
    const loaded = await loadStrategy('llm:conservative');
    const req = backtestRequestSchema.parse({ strategy: 'llm:conservative', symbols: ['BTC/USDT'], timeframe: '1h', params: { window: 12, every: 8 } });
    const asked: number[] = [];
    // A feed that reports the time it was asked for as the score's source, so the prompt shows it.
    const sentiment = { at: (_s: string, at: number) => (asked.push(at), { ts: at - HOUR, source: `feed@${(at - T0) / HOUR}h`, score: -0.25, samples: 3 }) };
    const cache = new PromptCache(null);
    const client = new Anthropic({ baseURL: emu.url, apiKey: KEY, maxRetries: 0 });
    await runWithPromptCache(() => withAgentData({ sentiment }, () => runLoaded(loaded, req, [series(20)], [])), { cache, mode: 'record', client });
    const prompts = emu.requests.filter((r) => r.body.messages.length === 1).map((r) => String(r.body.messages[0]!.content));
    expect(prompts).toHaveLength(2);
    expect(prompts[0]).toContain('Sentiment (feed@12h): -0.25 from 3 item(s).');
    expect(prompts[1]).toContain('Sentiment (feed@20h): -0.25 from 3 item(s).');
    expect(Math.max(...asked)).toBe(T0 + 20 * HOUR);
  });

  it('without a prompt-cache session, says how to give one', async () => {
    const loaded = await loadStrategy('llm:aggressive');
    const req = backtestRequestSchema.parse({ strategy: 'llm:aggressive', symbols: ['BTC/USDT'], timeframe: '1h', params: PARAMS });
    expect(() => runLoaded(loaded, req, [series(20)], [])).toThrow(/llm:aggressive needs a prompt cache: run it with cs backtest --llm-cache/);
    await expect(loadStrategy('llm:reckless')).rejects.toThrow(/unknown LLM persona "reckless".*llm:conservative, llm:aggressive, llm:trend-follower/);
  });
});
