/**
 * What an LLM-agent backtest costs once its prompts are recorded, and what recording costs in
 * passes: a 2,000-bar hourly series, the LLM agent deciding every 10 bars (200 decisions, one call
 * each), recorded through the loopback Messages API emulator with the real SDK, then replayed from
 * the cache. Baseline, in the same process: the rule-based persona:conservative on the same bars
 * and cadence. Run: npx tsx test/bench/llm-replay.ts
 */
import Anthropic from '@anthropic-ai/sdk';
import type { BarColumns } from '../../engine/types.ts';
import { backtestRequestSchema, runLoaded } from '../../lab/backtest.ts';
import { PromptCache } from '../../lab/agents/llm/cache.ts';
import { runWithPromptCache } from '../../lab/agents/llm/session.ts';
import { loadStrategy } from '../../lab/strategy-loader.ts';
import { startAnthropicEmulator, toolUse } from '../support/anthropic-emulator.ts';
import { best, emit } from './support.ts';

const N = 2000;
const EVERY = 10;
const H = 3_600_000;
const close = Float64Array.from({ length: N }, (_, i) => 100 + 10 * Math.sin(i / 30) + i * 0.01);
const series: BarColumns = { symbol: 'BTC/USDT', timeframeMs: H, length: N, ts: Float64Array.from({ length: N }, (_, i) => Date.UTC(2024, 0, 1) + i * H), open: close.map((c) => c - 0.2), high: close.map((c) => c + 1), low: close.map((c) => c - 1), close, volume: close.map(() => 10) };

const hold = {
  situation: { trend: 'flat', regime: 'range', summary: 'range' },
  signals: [{ name: 'x', kind: 'technical', value: 1, score: 0 }],
  synthesis: { weights: { x: 1 }, score: 0, stance: 'neutral' },
  risk: { vetoes: [], stopLoss: null, target: null, maxFraction: 0 },
  recommendation: { action: 'hold', confidence: 50, target: null, stopLoss: null, size: 0 },
  reasoning: 'hold',
};

const emu = await startAnthropicEmulator({ fallback: () => ({ content: [toolUse('submit_decision', hold)] }) });
const llm = await loadStrategy('llm:conservative');
const llmReq = backtestRequestSchema.parse({ strategy: 'llm:conservative', symbols: ['BTC/USDT'], timeframe: '1h', params: { window: 60, every: EVERY, budget: 10_000_000 } });
const cache = new PromptCache(null);
const t0 = performance.now();
const rec = await runWithPromptCache(() => runLoaded(llm, llmReq, [series], []), { cache, mode: 'record', client: new Anthropic({ baseURL: emu.url, apiKey: 'bench', maxRetries: 0 }) });
const recordS = (performance.now() - t0) / 1000;
await emu.close();
const decisions = rec.result.journal.filter((e) => e.type === 'decision').length;

const persona = await loadStrategy('persona:conservative');
const personaReq = backtestRequestSchema.parse({ strategy: 'persona:conservative', symbols: ['BTC/USDT'], timeframe: '1h', params: { window: 60, warmup: 60, decideEvery: EVERY } });
const personaS = best(5, () => void runLoaded(persona, personaReq, [series], []), 1);

let replayS = Infinity;
for (let r = 0; r < 6; r++) {
  const t = performance.now();
  await runWithPromptCache(() => runLoaded(llm, llmReq, [series], []), { cache, mode: 'replay' });
  if (r > 0) replayS = Math.min(replayS, (performance.now() - t) / 1000);
}

emit({ bench: 'llm-replay', value: Math.round(decisions / replayS), unit: 'decisions/s', baseline: Math.round(decisions / personaS), ratio: Number((personaS / replayS).toFixed(3)), note: `replay of ${decisions} cached LLM decisions on ${N} bars vs persona:conservative (baseline)` });
emit({ bench: 'llm-record', value: Number(recordS.toFixed(2)), unit: 's', passes: rec.llm.passes, fetches: rec.llm.fetched.calls, baseline: Number(replayS.toFixed(4)), ratio: Number((recordS / replayS).toFixed(1)), note: 'recording through the loopback emulator: one full backtest pass per fetched prompt (baseline: one replay)' });
