import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BarColumns } from '../../../engine/types.ts';
import type { DecisionRecord } from '../../../engine/decision.ts';
import { backtestRequestSchema, runLoaded, type BacktestReport } from '../../../lab/backtest.ts';
import { PromptCache, type CacheMode } from '../../../lab/agents/llm/cache.ts';
import { runWithPromptCache } from '../../../lab/agents/llm/session.ts';
import { withLlmSession } from '../../../lab/agents/llm/cli.ts';
import type { DebateDetail } from '../../../lab/agents/strategy.ts';
import { loadStrategy } from '../../../lab/strategy-loader.ts';
import { parseRunConfig } from '../../../lab/evaluate.ts';
import { marketFromColumns } from '../../../lab/market-data.ts';
import { BacktestPool } from '../../../lab/pool.ts';
import { startAnthropicEmulator, toolUse, type AnthropicEmulator, type MessagesBody } from '../../support/anthropic-emulator.ts';
import { randomUUID } from 'node:crypto';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
// A fresh stand-in key per run: distinctive enough to search outputs for, and no secret-like literal in git.
const KEY = `test-api-key-${randomUUID()}`;

function series(n: number): BarColumns {
  const close = Float64Array.from({ length: n }, (_, i) => 100 + 8 * Math.sin(i / 5) + i * 0.2);
  return {
    symbol: 'BTC/USDT',
    timeframeMs: HOUR,
    length: n,
    ts: Float64Array.from({ length: n }, (_, i) => T0 + i * HOUR),
    open: close.map((c) => c - 0.4),
    high: close.map((c) => c + 1),
    low: close.map((c) => c - 1),
    close,
    volume: close.map((_, i) => 40 + (i % 5)),
  };
}

const isRevision = (b: MessagesBody) => String(b.messages[0]!.content).includes('Debate round 1.');

/**
 * The scripted LLM member: a first opinion "buy at confidence 55"; asked to revise (debate round 1),
 * it answers "buy at confidence 91" with its own reasoning, so the journal shows which answer counted.
 */
function member(body: MessagesBody) {
  const revising = isRevision(body);
  return {
    content: [
      toolUse('submit_decision', {
        situation: { trend: 'up', regime: 'range', summary: 'drifting up' },
        signals: [{ name: 'drift', kind: 'technical', value: 'up', score: 0.4 }],
        synthesis: { weights: { drift: 1 }, score: 0.4, stance: 'bullish' },
        risk: { vetoes: [], stopLoss: null, target: null, maxFraction: 0.3 },
        recommendation: { action: 'buy', confidence: revising ? 91 : 55, target: null, stopLoss: null, size: 0.3 },
        reasoning: revising ? 'revised: still a buy after hearing the others' : 'first look: a buy',
      }),
    ],
  };
}

let emu: AnthropicEmulator;
beforeEach(async () => {
  emu = await startAnthropicEmulator({ fallback: member });
});
afterEach(async () => {
  await emu.close();
});

const PARAMS = { agents: 'conservative,llm:aggressive', rounds: 1, warmup: 60, decideEvery: 10, window: 60 };

async function debateRun(cache: PromptCache, mode: CacheMode, client?: Anthropic) {
  const loaded = await loadStrategy('debate');
  const req = backtestRequestSchema.parse({ strategy: 'debate', symbols: ['BTC/USDT'], timeframe: '1h', params: PARAMS, seed: 3 });
  const cols = series(80);
  const datasets = [{ exchange: 'test', symbol: 'BTC/USDT', timeframe: '1h', rows: cols.length, first: cols.ts[0]!, last: cols.ts[cols.length - 1]!, datasetHash: 'e'.repeat(64), validation: {} as never }];
  return runWithPromptCache(() => runLoaded(loaded, req, [cols], datasets), { cache, mode, ...(client ? { client } : {}), retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 5 } });
}

const debates = (r: BacktestReport) =>
  r.journal
    .filter((e) => e.type === 'decision')
    .map((e) => e.payload as DecisionRecord)
    .filter((d) => (d.detail as { kind?: string } | undefined)?.kind === 'debate');

describe('llm:* agents as debate members', () => {
  it('records a debate of conservative + llm:aggressive, then replays it with the server stopped: same journal, zero requests', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cs-llm-debate-')), 'prompts.jsonl');
    const recorded = await debateRun(new PromptCache(file), 'record', new Anthropic({ baseURL: emu.url, apiKey: KEY, maxRetries: 0 }));
    // Decisions at 60, 70, 80 bars seen; each: a first opinion and one revision (rounds = 1).
    const ds = debates(recorded.result);
    expect(ds).toHaveLength(3);
    expect(emu.requests).toHaveLength(6);
    expect(emu.requests.filter((r) => isRevision(r.body))).toHaveLength(3);
    // The revision prompt carries the other member's (conservative's) decision.
    const revision = String(emu.requests.find((r) => isRevision(r.body))!.body.messages[0]!.content);
    expect(revision).toContain('{"agent":"conservative","persona":"conservative"');

    for (const d of ds) {
      const detail = d.detail as DebateDetail;
      expect(detail.decisions.map((x) => x.agentId)).toEqual(['conservative', 'llm:aggressive']);
      const llm = detail.decisions[1]!;
      // What was voted on is the revised answer (round 1), and round 0 kept the first one.
      expect(llm.recommendation).toMatchObject({ action: 'buy', confidence: 91 });
      expect(llm.reasoning).toContain('revised');
      expect((llm as unknown as { llm: { prompts: string[] } }).llm.prompts).toHaveLength(1);
      expect(detail.rounds).toHaveLength(2);
      expect(detail.rounds[0]!.find((e) => e.agentId === 'llm:aggressive')).toMatchObject({ action: 'buy', confidence: 55 });
      expect(detail.rounds[1]!.find((e) => e.agentId === 'llm:aggressive')).toMatchObject({ action: 'buy', confidence: 91 });
      const vote = detail.votes.find((v) => v.agentId === 'llm:aggressive');
      expect(vote).toBeDefined();
      expect(vote!.action).toBe('buy');
      expect(d.weights).toHaveProperty('llm:aggressive');
    }
    await emu.close();

    const replayed = await debateRun(PromptCache.load(file), 'replay');
    expect(replayed.result.journal.at(-1)!.hash).toBe(recorded.result.journal.at(-1)!.hash);
    expect(replayed.result.resultHash).toBe(recorded.result.resultHash);
    expect(replayed.llm.fetched.calls).toBe(0);
    expect(replayed.llm.total.calls).toBe(6);
    expect(emu.requests).toHaveLength(6);

    // In sweep worker threads (no driver there) the factory is registered by the strategy loader
    // and the member replays from $CS_LLM_CACHE: the same run.
    process.env.CS_LLM_CACHE = file;
    const pool = await BacktestPool.create({ strategy: 'debate', config: parseRunConfig({ strategy: 'debate', symbols: ['BTC/USDT'], timeframe: '1h', seed: 3 }), market: marketFromColumns([series(80)], 'test'), workers: 1 });
    try {
      const summary = await pool.runOne(PARAMS, 3);
      expect(summary.resultHash).toBe(recorded.result.resultHash);
    } finally {
      await pool.close();
      delete process.env.CS_LLM_CACHE;
    }
    expect(emu.requests).toHaveLength(6);
  });

  it('without a prompt cache, the llm member says how to give one; an unknown LLM persona is named', async () => {
    const loaded = await loadStrategy('debate');
    const cols = series(70);
    const req = backtestRequestSchema.parse({ strategy: 'debate', symbols: ['BTC/USDT'], timeframe: '1h', params: PARAMS });
    expect(() => runLoaded(loaded, req, [cols], [])).toThrow(/llm:aggressive needs a prompt cache/);
    const bad = backtestRequestSchema.parse({ strategy: 'debate', symbols: ['BTC/USDT'], timeframe: '1h', params: { ...PARAMS, agents: 'conservative,llm:reckless' } });
    expect(() => runLoaded(loaded, bad, [cols], [])).toThrow(/unknown LLM persona "reckless" in debate agent llm:reckless/);
    const unknown = backtestRequestSchema.parse({ strategy: 'debate', symbols: ['BTC/USDT'], timeframe: '1h', params: { ...PARAMS, agents: 'conservative,gpt:x' } });
    expect(() => runLoaded(loaded, unknown, [cols], [])).toThrow(/unknown agent "gpt:x".*llm:…/);
  });

  it('cs backtest opens the prompt-cache session for a debate given --llm-cache, and refuses it for other strategies', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cs-llm-debate-')), 'empty.jsonl');
    const { llm } = await withLlmSession({ llmCache: file, llmMode: 'replay' }, 'debate', async () => 1);
    expect(llm).not.toBeNull();
    expect(llm!.mode).toBe('replay');
    await expect(withLlmSession({ llmCache: file }, 'sma-cross', async () => 1)).rejects.toThrow(/--llm-cache is for llm:\* strategies and debates/);
  });
});
