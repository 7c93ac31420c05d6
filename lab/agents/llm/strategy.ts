import { readdirSync, readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import type { AgentDecision, AgentInput, BarWindow } from '../../../engine/agents/types.ts';
import type { DecisionReason, FactorValue } from '../../../engine/decision.ts';
import { InputError } from '../../../engine/errors.ts';
import { sha256Hex } from '../../../engine/hash.ts';
import { defineStrategy, type AnyStrategy, type StrategyContext } from '../../../engine/strategy.ts';
import type { BarView } from '../../../engine/types.ts';
import { LlmAgent } from './agent.ts';
import { personaPrompt, PERSONA_PROMPTS } from './prompt.ts';
import { PromptCache } from './cache.ts';
import { currentLlmSession, LlmSession } from './session.ts';

/**
 * `llm:<persona>` as a strategy for `cs backtest`: at each closed bar (every `every` bars, after
 * `window` bars of history) the LLM agent decides from the bars seen so far; a buy opens a long of
 * `size` × equity when flat, a sell closes the long, anything else is journaled as a hold, with the
 * agent's five steps as the decision's detail. The prompt cache and its mode are not parameters:
 * they do not change the result (a replay equals its recording), so they stay out of the run's
 * identity and come from the session `runWithPromptCache` opens (`cs backtest --llm-cache`).
 */
export const llmParamsSchema = z.strictObject({
  model: z.string().min(1).default('claude-sonnet-5-5'),
  /** Tokens the agent may use in the run (input + output + prompt-cache), then it abstains. */
  budget: z.number().int().positive().default(200_000),
  mask: z.boolean().default(false),
  /** Bars shown in the prompt; also the warm-up before the first decision. */
  window: z.number().int().min(2).max(200).default(30),
  /** Decide every n-th bar (LLM calls cost money; daily decisions on hourly bars: every=24). */
  every: z.number().int().min(1).default(1),
  /** Thinking counts against it on models that think. */
  maxTokens: z.number().int().min(256).max(64_000).default(4096),
  /** Not sent unless given (models from Claude 4.7 on reject it). */
  temperature: z.number().min(0).max(1).optional(),
  /** `any` forces a tool call; not allowed with thinking models (see agent.ts). */
  toolChoice: z.enum(['auto', 'any']).default('auto'),
  maxToolTurns: z.number().int().min(0).max(10).default(4),
});
export type LlmStrategyParams = z.output<typeof llmParamsSchema>;

/** Bars a tool may reach back: the window plus what get_bars allows. */
const HISTORY = 200;

export const LLM_PREFIX = 'llm:';

export function isLlmStrategyRef(ref: string): boolean {
  return ref.startsWith(LLM_PREFIX);
}

interface History {
  /** Bars pushed so far (the arrays keep only the last ones). */
  seen: number;
  ts: number[];
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  volume: number[];
}

export function llmStrategy(persona: string): AnyStrategy {
  if (!personaPrompt(persona)) throw new InputError(`unknown LLM persona "${persona}" in llm:${persona} (known: ${Object.keys(PERSONA_PROMPTS).map((p) => `llm:${p}`).join(', ')})`);
  let agent: LlmAgent;
  let history: Map<string, History>;
  return defineStrategy({
    name: `${LLM_PREFIX}${persona}`,
    description: `LLM agent (${persona} persona) answered from a prompt cache`,
    params: llmParamsSchema,
    init(ctx) {
      agent = llmAgentForRun(persona, ctx.params, ctx.agentId, ctx.symbols);
      history = new Map();
    },
    onBar(ctx, bar) {
      const h = remember(history, bar);
      const p = ctx.params;
      const seen = h.seen;
      if (seen < p.window || (seen - p.window) % p.every !== 0) return;
      const pos = ctx.position(bar.symbol);
      const input: AgentInput = {
        symbol: bar.symbol,
        now: ctx.now,
        bars: windowOf(h, bar),
        sentiment: null,
        features: {},
        positionQty: pos.qty,
        equity: ctx.portfolio.equity,
      };
      act(ctx, agent.decide(input), pos.qty);
    },
  });
}

/**
 * The LLM agent of one run, answered from the prompt-cache session the run belongs to (or from
 * $CS_LLM_CACHE). For any strategy that wants LLM agents, e.g. as debate members.
 */
export function llmAgentForRun(persona: string, p: LlmStrategyParams, agentId: string, symbols: readonly string[]): LlmAgent {
  const session = currentLlmSession() ?? replaySessionFromEnv();
  if (!session) {
    throw new InputError(
      `llm:${persona} needs a prompt cache: run it with cs backtest --llm-cache <file> [--llm-mode replay|record|live] (or inside runWithPromptCache; sweeps and workers replay from $CS_LLM_CACHE)`,
    );
  }
  return new LlmAgent({
    id: agentId,
    persona,
    model: p.model,
    cache: session.cache,
    mode: session.mode,
    budgetTokens: p.budget,
    mask: p.mask,
    symbols,
    maxTokens: p.maxTokens,
    ...(p.temperature !== undefined ? { temperature: p.temperature } : {}),
    toolChoice: p.toolChoice,
    windowBars: p.window,
    maxToolTurns: p.maxToolTurns,
  });
}

/**
 * Where no driver runs (sweep workers, walk-forward windows), $CS_LLM_CACHE names a cache to replay
 * from: nothing is fetched there, so a gap fails loudly as in any replay. Read once per file version.
 */
let envCache: { key: string; session: LlmSession } | null = null;
function replaySessionFromEnv(): LlmSession | null {
  const path = process.env.CS_LLM_CACHE;
  if (!path) return null;
  let key: string;
  try {
    const st = statSync(path);
    key = `${path}\n${st.mtimeMs}\n${st.size}`;
  } catch (err) {
    throw new InputError(`CS_LLM_CACHE=${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (envCache?.key !== key) envCache = { key, session: new LlmSession({ cache: PromptCache.load(path), mode: 'replay' }) };
  return envCache.session;
}

function remember(all: Map<string, History>, bar: BarView): History {
  let h = all.get(bar.symbol);
  if (!h) all.set(bar.symbol, (h = { seen: 0, ts: [], open: [], high: [], low: [], close: [], volume: [] }));
  h.seen++;
  h.ts.push(bar.ts);
  h.open.push(bar.open);
  h.high.push(bar.high);
  h.low.push(bar.low);
  h.close.push(bar.close);
  h.volume.push(bar.volume);
  if (h.ts.length > 2 * HISTORY) for (const k of ['ts', 'open', 'high', 'low', 'close', 'volume'] as const) h[k].splice(0, h[k].length - HISTORY);
  return h;
}

/** The closed bars up to this one: copies, so nothing the agent holds can change or grow later. */
function windowOf(h: History, bar: BarView): BarWindow {
  const from = Math.max(0, h.ts.length - HISTORY);
  const col = (a: number[]) => Float64Array.from(a.slice(from));
  return { symbol: bar.symbol, timeframeMs: bar.timeframeMs, ts: col(h.ts), open: col(h.open), high: col(h.high), low: col(h.low), close: col(h.close), volume: col(h.volume), length: h.ts.length - from };
}

function act(ctx: StrategyContext<LlmStrategyParams>, d: AgentDecision, qty: number): void {
  const reason = reasonOf(d);
  const r = d.recommendation;
  if (r.action === 'buy' && qty === 0 && r.size > 0) {
    if (ctx.buy(d.symbol, { size: ctx.sizing.fraction(r.size), reason }) !== null) return;
  } else if (r.action === 'sell' && qty > 0) {
    if (ctx.close(d.symbol, reason) !== null) return;
  }
  ctx.hold(d.symbol, reason);
}

function reasonOf(d: AgentDecision): DecisionReason {
  const factors: Record<string, FactorValue> = {};
  for (const s of d.signals) factors[s.name] = s.value;
  if (d.abstained) factors.abstained = d.abstained.reason;
  return { factors, weights: d.synthesis.weights, confidence: d.recommendation.confidence, reasoning: d.reasoning, detail: d };
}

/** What a promotion record pins for an llm:* strategy: the agent's code, prompts included. */
export function llmCodeHash(): string {
  const dir = new URL('./', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();
  return sha256Hex(files.map((f) => `${f}\n${readFileSync(new URL(f, dir), 'utf8')}`).join('\n'));
}

export function loadLlmStrategy(ref: string): { strategy: AnyStrategy; source: string; codeHash: string } {
  const persona = ref.slice(LLM_PREFIX.length);
  return { strategy: llmStrategy(persona), source: `builtin:${ref}`, codeHash: llmCodeHash() };
}
