import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentInput } from '../../../engine/agents/types.ts';
import { debate, DEFAULT_CONSENSUS } from '../../../engine/agents/consensus.ts';
import { createPersonaAgent } from '../../../engine/agents/persona.ts';
import { InputError } from '../../../engine/errors.ts';
import { canonicalJson, sha256Hex } from '../../../engine/hash.ts';
import { LlmAgent, PromptNotRecorded, type LlmAgentDecision } from '../../../lab/agents/llm/agent.ts';
import { PromptCache, requestKey, type CacheMode } from '../../../lab/agents/llm/cache.ts';
import { runWithPromptCache } from '../../../lab/agents/llm/session.ts';
import { startAnthropicEmulator, text, toolUse, type AnthropicEmulator, type MessagesBody } from '../../support/anthropic-emulator.ts';
import { randomUUID } from 'node:crypto';

// A fresh stand-in key per run: distinctive enough to search every output for, and no secret-like literal in git.
const KEY = `test-api-key-${randomUUID()}`;
const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 5, 1);

/** 40 hourly bars of a steady climb: close_i = 60,000 + 100·i. */
function input(bars = 40): AgentInput {
  const ts = Float64Array.from({ length: bars }, (_, i) => T0 + i * HOUR);
  const close = Float64Array.from({ length: bars }, (_, i) => 60_000 + 100 * i);
  return {
    symbol: 'BTC/USDT',
    now: T0 + bars * HOUR,
    bars: { symbol: 'BTC/USDT', timeframeMs: HOUR, ts, open: close.map((c) => c - 50), high: close.map((c) => c + 80), low: close.map((c) => c - 90), close, volume: close.map(() => 12.5), length: bars },
    sentiment: { ts: T0 + (bars - 2) * HOUR, source: 'fng', score: 0.4, samples: 1 },
    features: {},
    positionQty: 0,
    equity: 10_000,
  };
}

function answer(over: Record<string, unknown> = {}) {
  return {
    situation: { trend: 'up', regime: 'trend-up', summary: 'BTC/USDT climbs steadily' },
    signals: [
      { name: 'rsi', kind: 'technical', value: 71, score: 0.3 },
      { name: 'trend', kind: 'technical', value: 'up', score: 0.6 },
    ],
    synthesis: { weights: { rsi: 0.4, trend: 0.6 }, score: 0.48, stance: 'bullish' },
    risk: { vetoes: [], stopLoss: 95, target: 110, maxFraction: 0.2 },
    recommendation: { action: 'buy', confidence: 70, target: 110, stopLoss: 95, size: 0.1 },
    reasoning: 'Trend up on BTC/USDT, RSI not yet extreme.',
    ...over,
  };
}

let emu: AnthropicEmulator;
let dir: string;
beforeEach(async () => {
  emu = await startAnthropicEmulator();
  dir = mkdtempSync(join(tmpdir(), 'cs-llm-'));
});
afterEach(async () => {
  await emu.close();
});

function client(maxRetries = 0): Anthropic {
  return new Anthropic({ baseURL: emu.url, apiKey: KEY, maxRetries });
}

function agent(cache: PromptCache, mode: CacheMode, over: Partial<ConstructorParameters<typeof LlmAgent>[0]> = {}): LlmAgent {
  return new LlmAgent({ persona: 'conservative', model: 'claude-sonnet-5-5', cache, mode, budgetTokens: 1_000_000, ...over });
}

const fast = { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 20 };

/** Last user message's tool_result blocks of a request. */
function toolResults(b: MessagesBody): { tool_use_id: string; content: string; is_error?: boolean }[] {
  const last = b.messages[b.messages.length - 1]!;
  return Array.isArray(last.content) ? (last.content as { type: string }[]).filter((c) => c.type === 'tool_result') as never : [];
}

describe('LLM agent through the real SDK and a loopback Messages API', () => {
  it('answers data tools from the fenced input, then submits a checked decision', async () => {
    emu.script.push(
      { content: [text('Let me look.'), toolUse('get_bars', { n: 3 }, 'tu_1')] },
      { content: [toolUse('get_indicator', { name: 'sma', period: 4 }, 'tu_2'), toolUse('get_sentiment', {}, 'tu_3')] },
      { content: [toolUse('submit_decision', answer(), 'tu_4')] },
    );
    const cache = new PromptCache(join(dir, 'c.jsonl'));
    const { result, llm } = await runWithPromptCache(() => agent(cache, 'record').decide(input()) as LlmAgentDecision, { cache, mode: 'record', client: client(), retry: fast });

    expect(emu.requests).toHaveLength(3);
    const first = emu.requests[0]!.body;
    expect(first.model).toBe('claude-sonnet-5-5');
    expect(first.tool_choice).toEqual({ type: 'auto' });
    expect(first).not.toHaveProperty('temperature');
    expect(first.tools!.map((t) => t.name)).toEqual(['get_bars', 'get_indicator', 'get_sentiment', 'submit_decision']);
    // Bars 37..39: close 63,700 / 63,800 / 63,900, open = close - 50, high + 80, low - 90.
    const bars = toolResults(emu.requests[1]!.body);
    expect(bars[0]!.tool_use_id).toBe('tu_1');
    expect(bars[0]!.content).toBe(
      ['time,open,high,low,close,volume', '2024-06-02T13:00Z,63650,63780,63610,63700,12.5', '2024-06-02T14:00Z,63750,63880,63710,63800,12.5', '2024-06-02T15:00Z,63850,63980,63810,63900,12.5'].join('\n'),
    );
    const r2 = toolResults(emu.requests[2]!.body);
    // SMA(4) of the last four closes: (63,600 + 63,700 + 63,800 + 63,900) / 4 = 63,750.
    expect(JSON.parse(r2[0]!.content)).toEqual({ indicator: 'sma', params: { period: 4 }, latest: { sma: 63_750 } });
    expect(JSON.parse(r2[1]!.content)).toEqual({ score: 0.4, source: 'fng', samples: 1, time: '2024-06-02T14:00Z' });

    expect(result.abstained).toBeUndefined();
    expect(result.recommendation).toEqual({ action: 'buy', confidence: 70, target: 110, stopLoss: 95, size: 0.1 });
    expect(result.situation.price).toBe(63_900);
    expect(result.llm.prompts).toHaveLength(3);
    expect(llm.passes).toBe(4);
    expect(llm.fetched.calls).toBe(3);
    expect(llm.agents['llm-conservative']!.calls).toBe(3);
  });

  it('sends the validation error back once, and takes the corrected answer', async () => {
    emu.script.push(
      { content: [toolUse('submit_decision', answer({ recommendation: { action: 'hold', confidence: 50, target: null, stopLoss: null, size: 0.3 } }), 'tu_bad')] },
      { content: [toolUse('submit_decision', answer(), 'tu_ok')] },
    );
    const cache = new PromptCache(null);
    const { result } = await runWithPromptCache(() => agent(cache, 'record').decide(input()), { cache, mode: 'record', client: client(), retry: fast });
    expect(emu.requests).toHaveLength(2);
    const [err] = toolResults(emu.requests[1]!.body);
    expect(err!.tool_use_id).toBe('tu_bad');
    expect(err!.is_error).toBe(true);
    expect(err!.content).toContain('recommendation.size: a hold has size 0');
    expect(result.abstained).toBeUndefined();
    expect(result.recommendation.action).toBe('buy');
  });

  it('abstains, with the reason, after two invalid answers — never a default', async () => {
    emu.script.push({ content: [toolUse('submit_decision', { action: 'buy' })] }, { content: [text('I think buy.')] });
    const cache = new PromptCache(null);
    const { result } = await runWithPromptCache(() => agent(cache, 'record').decide(input()), { cache, mode: 'record', client: client(), retry: fast });
    expect(emu.requests).toHaveLength(2);
    expect(emu.requests[1]!.body.messages.at(-1)!.content).toEqual(expect.arrayContaining([expect.objectContaining({ is_error: true })]));
    expect(result.abstained?.reason).toMatch(/no decision submitted twice/);
    expect(result.recommendation).toEqual({ action: 'hold', confidence: 0, target: null, stopLoss: null, size: 0 });
  });

  it('rejects a size above the persona limit (conservative: 25 % of equity)', async () => {
    const big = answer({ risk: { vetoes: [], stopLoss: 95, target: 110, maxFraction: 0.8 }, recommendation: { action: 'buy', confidence: 90, target: 110, stopLoss: 95, size: 0.8 } });
    emu.script.push({ content: [toolUse('submit_decision', big)] }, { content: [toolUse('submit_decision', big)] });
    const cache = new PromptCache(null);
    const { result } = await runWithPromptCache(() => agent(cache, 'record').decide(input()), { cache, mode: 'record', client: client(), retry: fast });
    expect(result.abstained?.reason).toContain('risk.maxFraction: the persona allows at most 0.25');
  });

  it('retries 429 and 529 with backoff, then succeeds', async () => {
    emu.script.push(
      { status: 429, errorType: 'rate_limit_error', message: 'slow down', headers: { 'retry-after-ms': '5' } },
      { status: 529, errorType: 'overloaded_error', message: 'overloaded' },
      { content: [toolUse('submit_decision', answer())] },
    );
    const cache = new PromptCache(null);
    const { result, llm } = await runWithPromptCache(() => agent(cache, 'record').decide(input()), { cache, mode: 'record', client: client(), retry: fast });
    expect(emu.requests).toHaveLength(3);
    expect(llm.retries).toBe(2);
    expect(result.recommendation.action).toBe('buy');
  });

  it('gives up after maxRetries with the API error, which never contains the key', async () => {
    for (let i = 0; i < 3; i++) emu.script.push({ status: 529, errorType: 'overloaded_error', message: 'overloaded' });
    const cache = new PromptCache(null);
    const run = runWithPromptCache(() => agent(cache, 'record').decide(input()), { cache, mode: 'record', client: client(), retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 } });
    const err = await run.then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/failed after 3 attempt\(s\).*529/);
    expect(String(err?.stack)).not.toContain(KEY);
    expect(emu.requests).toHaveLength(3);
    expect(cache.size).toBe(0);
  });

  it('stops at the token budget: later decisions abstain with reason "budget"', async () => {
    emu.fallback = () => ({ content: [toolUse('submit_decision', answer())], usage: { input_tokens: 800, output_tokens: 200 } });
    const cache = new PromptCache(null);
    const inputs = [input(30), input(31), input(32), input(33)];
    const { result, llm } = await runWithPromptCache(
      () => {
        const a = agent(cache, 'record', { budgetTokens: 1500 });
        return inputs.map((i) => a.decide(i));
      },
      { cache, mode: 'record', client: client(), retry: fast },
    );
    // 0 < 1500 → call (1,000 used); 1,000 < 1500 → call (2,000); then over budget.
    expect(result.map((d) => d.abstained?.reason ?? 'decided')).toEqual(['decided', 'decided', 'budget: 2000 of 1500 tokens used in this run', 'budget: 2000 of 1500 tokens used in this run']);
    expect(emu.requests).toHaveLength(2);
    expect(llm.fetched.totalTokens).toBe(2000);
    // Sonnet 5.5 list price $2 / $10 per million: 2 × (800 × 2 + 200 × 10) / 1e6 = $0.0072.
    expect(llm.total.costUsd).toBeCloseTo(0.0072, 12);
  });

  it('masks asset names, dates and price levels in the prompt and tool results, and unmasks the answer', async () => {
    emu.script.push({ content: [toolUse('get_bars', { n: 2 }, 'tu_b')] }, { content: [toolUse('submit_decision', answer({ reasoning: 'ASSET_A trends up' }))] });
    const cache = new PromptCache(null);
    const { result } = await runWithPromptCache(() => agent(cache, 'record', { mask: true, symbols: ['ETH/USDT', 'BTC/USDT'] }).decide(input()), { cache, mode: 'record', client: client(), retry: fast });
    const wire = emu.requests.map((r) => r.raw).join('\n');
    for (const leak of ['BTC', 'USDT', '2024', '60000', '63900']) expect(wire).not.toContain(leak);
    // Sorted symbols: BTC/USDT is ASSET_A. Prices rebased: close_0 = 60,000 → 100, so 63,900 → 106.5.
    expect(emu.requests[0]!.body.messages[0]!.content).toContain('Asset: ASSET_A.');
    expect(emu.requests[0]!.body.messages[0]!.content).toContain('Now: t-0 bar just closed at 106.5.');
    expect(toolResults(emu.requests[1]!.body)[0]!.content).toBe('time,open,high,low,close,volume\nt-1,106.25,106.467,106.183,106.333,12.5\nt-0,106.417,106.633,106.35,106.5,12.5');
    // Bar 38: 63,750 / 63,880 / 63,710 / 63,800 ÷ 600; bar 39: 63,850 / 63,980 / 63,810 / 63,900 ÷ 600.
    // The model's stop 95 and target 110 are in rebased units: × 60,000 / 100.
    expect(result.recommendation.stopLoss).toBeCloseTo(57_000, 6);
    expect(result.recommendation.target).toBeCloseTo(66_000, 6);
    expect(result.reasoning).toBe('BTC/USDT trends up');
  });

  it('records to a file, then replays with the server gone: same decisions, zero requests; a missing prompt fails loudly', async () => {
    emu.fallback = (b) => ({ content: [toolUse('submit_decision', answer({ reasoning: `seen ${b.messages.length} message(s)` }))] });
    const file = join(dir, 'prompts.jsonl');
    const inputs = [input(30), input(31), input(32)];
    const decideAll = (cache: PromptCache, mode: CacheMode) => () => {
      const a = agent(cache, mode);
      return inputs.map((i) => a.decide(i));
    };
    const rec = new PromptCache(file);
    const recorded = await runWithPromptCache(decideAll(rec, 'record'), { cache: rec, mode: 'record', client: client(), retry: fast });
    expect(emu.requests).toHaveLength(3);
    await emu.close();

    const rep = PromptCache.load(file);
    const replayed = await runWithPromptCache(decideAll(rep, 'replay'), { cache: rep, mode: 'replay' });
    expect(canonicalJson(replayed.result)).toBe(canonicalJson(recorded.result));
    expect(replayed.llm.passes).toBe(1);
    expect(replayed.llm.fetched.calls).toBe(0);
    expect(replayed.llm.total.totalTokens).toBe(recorded.llm.total.totalTokens);

    // The API key is in no file and no decision.
    expect(readFileSync(file, 'utf8')).not.toContain(KEY);
    expect(JSON.stringify(recorded.result)).not.toContain(KEY);

    // Drop the second entry: replay stops at the decision that needs it, naming key, agent and time.
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const missingKey = (JSON.parse(lines[1]!) as { key: string }).key;
    writeFileSync(file, [lines[0], lines[2]].join('\n') + '\n');
    const partial = PromptCache.load(file);
    const err = await runWithPromptCache(decideAll(partial, 'replay'), { cache: partial, mode: 'replay' }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(PromptNotRecorded);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(missingKey);
    expect((err as Error).message).toContain('agent llm-conservative, decision at 2024-06-02T07:00:00.000Z');
  });

  it('keys a prompt by sha256 of the canonical JSON of the request', () => {
    const req = { model: 'm', system: 's', messages: [{ role: 'user', content: 'x' }], tools: [], tool_choice: { type: 'any' }, max_tokens: 10, temperature: 0 };
    expect(requestKey(req)).toBe(sha256Hex('{"max_tokens":10,"messages":[{"content":"x","role":"user"}],"model":"m","system":"s","temperature":0,"tool_choice":{"type":"any"},"tools":[]}'));
    expect(requestKey({ ...req, model: 'm2' })).not.toBe(requestKey(req));
  });

  it('live mode fetches again what an earlier session recorded, and the later line wins on load', async () => {
    let n = 0;
    emu.fallback = () => ({ content: [toolUse('submit_decision', answer({ reasoning: `answer ${++n}` }))] });
    const file = join(dir, 'live.jsonl');
    const once = (mode: CacheMode) => {
      const c = PromptCache.load(file);
      return runWithPromptCache(() => agent(c, mode).decide(input()), { cache: c, mode, client: client(), retry: fast });
    };
    expect((await once('record')).result.reasoning).toBe('answer 1');
    expect((await once('record')).result.reasoning).toBe('answer 1');
    expect(emu.requests).toHaveLength(1);
    expect((await once('live')).result.reasoning).toBe('answer 2');
    expect(emu.requests).toHaveLength(2);
    expect((await once('replay')).result.reasoning).toBe('answer 2');
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('refuses a cache file with a bad or edited line, naming file and line', () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, '{"v":1}\n');
    expect(() => PromptCache.load(file)).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1: key`));
    const req = { model: 'm', system: 's', messages: [], tools: [], tool_choice: null, max_tokens: 1, temperature: 0 };
    const response = { id: 'x', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 1 } };
    writeFileSync(file, '\n' + JSON.stringify({ v: 1, key: 'a'.repeat(64), request: req, response }) + '\n');
    expect(() => PromptCache.load(file)).toThrow(/bad\.jsonl:2: key aaaaaaaaaaaa… does not match its request/);
  });

  it('in replay mode without a recorded answer needs no API key and makes no request', async () => {
    const cache = new PromptCache(null);
    const saved = process.env.ANTHROPIC_API_KEY;
    delete process.env.ANTHROPIC_API_KEY;
    try {
      const err = await runWithPromptCache(() => agent(cache, 'replay').decide(input()), { cache, mode: 'replay' }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(PromptNotRecorded);
      const rec = await runWithPromptCache(() => agent(cache, 'record').decide(input()), { cache, mode: 'record' }).then(() => null, (e: unknown) => e);
      expect((rec as Error).message).toMatch(/ANTHROPIC_API_KEY is not set/);
    } finally {
      if (saved !== undefined) process.env.ANTHROPIC_API_KEY = saved;
    }
    expect(emu.requests).toHaveLength(0);
  });

  it('takes part in a debate: sees the others\' decisions and may revise its own', async () => {
    const hold = answer({ recommendation: { action: 'hold', confidence: 55, target: null, stopLoss: null, size: 0 }, reasoning: 'the trend follower is right to wait' });
    emu.script.push({ content: [toolUse('submit_decision', answer())] }, { content: [toolUse('submit_decision', hold)] });
    const cache = new PromptCache(null);
    const rule = createPersonaAgent('trend-follower', { id: 'rules-tf' });
    const { result } = await runWithPromptCache(() => debate([agent(cache, 'record'), rule], input(), { ...DEFAULT_CONSENSUS, rounds: 1 }), { cache, mode: 'record', client: client(), retry: fast });
    expect(emu.requests).toHaveLength(2);
    const revisionText = String(emu.requests[1]!.body.messages[0]!.content);
    expect(revisionText).toContain('Debate round 1. Your decision so far:');
    expect(revisionText).toContain('"agent":"rules-tf"');
    expect(revisionText).toContain(`"action":"${result.rounds[0]![1]!.recommendation.action}"`);
    expect(result.rounds[0]![0]!.recommendation.action).toBe('buy');
    expect(result.rounds[1]![0]!.recommendation.action).toBe('hold');
    expect(result.rounds[1]![0]!.reasoning).toBe('the trend follower is right to wait');
  });

  it('stops fetching at maxFetches, saying the run is incomplete', async () => {
    emu.fallback = () => ({ content: [toolUse('get_bars', { n: 2 })] });
    const cache = new PromptCache(null);
    const err = await runWithPromptCache(() => agent(cache, 'record').decide(input()), { cache, mode: 'record', client: client(), retry: fast, maxFetches: 2 }).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/stopped after 2 fetches \(maxFetches\); the run is not complete/);
    expect(emu.requests).toHaveLength(2);
  });
});
