import { readdirSync, readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import type { AgentDecision } from '../../../engine/agents/types.ts';
import type { FactorValue } from '../../../engine/decision.ts';
import { InputError } from '../../../engine/errors.ts';
import { sha256Hex } from '../../../engine/hash.ts';
import type { AnyStrategy } from '../../../engine/strategy.ts';
import { registerAgentFactory } from '../personas.ts';
import { agentStrategy, type Call } from '../strategy.ts';
import { LlmAgent } from './agent.ts';
import { PromptCache } from './cache.ts';
import { personaPrompt, PERSONA_PROMPTS } from './prompt.ts';
import { currentLlmSession, LlmSession } from './session.ts';

/**
 * `llm:<persona>` as a strategy for `cs backtest`: every `every` bars, after `window` bars, the LLM
 * agent decides from the bars seen so far (the last 200 reach its tools), the run's sentiment and
 * feature feeds fenced at the replay clock, its position and equity; execution is the long-only
 * `act` of persona:* and debate (a buy opens a long of `size` × equity when flat, with the agent's
 * stop and target as a bracket when `exits` is 'bracket'; a sell closes the long; everything else
 * is journaled as a hold), the five steps as the decision's detail. The prompt cache and its mode
 * are not parameters: they do not change the result (a replay equals its recording), so they stay
 * out of the run's identity and come from the session `runWithPromptCache` opens
 * (`cs backtest --llm-cache`).
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
  /**
   * Thinking counts against it on models that think. At most 21,000: the SDK refuses a
   * non-streaming call whose max_tokens could take over 10 minutes (above ~21,333).
   */
  maxTokens: z.number().int().min(256).max(21_000).default(4096),
  /** Not sent unless given (models from Claude 4.7 on reject it). */
  temperature: z.number().min(0).max(1).optional(),
  /** `any` forces a tool call; not allowed with thinking models (see agent.ts). */
  toolChoice: z.enum(['auto', 'any']).default('auto'),
  maxToolTurns: z.number().int().min(0).max(10).default(4),
  /** Use the run's sentiment feed when there is one (as persona:* does). */
  sentiment: z.boolean().default(true),
  /** 'bracket': entries carry the agent's take-profit and stop-loss; 'signal': exits only on a sell. */
  exits: z.enum(['bracket', 'signal']).default('bracket'),
});
export type LlmStrategyParams = z.output<typeof llmParamsSchema>;

/** Bars the agent's input holds (what get_bars can reach). */
const HISTORY = 200;

export const LLM_PREFIX = 'llm:';

export function isLlmStrategyRef(ref: string): boolean {
  return ref.startsWith(LLM_PREFIX);
}

function checkPersona(persona: string, where: string): void {
  if (!personaPrompt(persona)) throw new InputError(`unknown LLM persona "${persona}" in ${where} (known: ${Object.keys(PERSONA_PROMPTS).map((p) => `llm:${p}`).join(', ')})`);
}

export function llmStrategy(persona: string): AnyStrategy {
  checkPersona(persona, `llm:${persona}`);
  // The same driver and long-only execution as persona:* and debate, so their journals read alike.
  return agentStrategy(`${LLM_PREFIX}${persona}`, `LLM agent (${persona} persona) answered from a prompt cache (long-only)`, llmParamsSchema, (p, ctx) => {
    const agent = llmAgentForRun(persona, p, ctx.agentId, ctx.symbols);
    return { history: HISTORY, warmup: p.window, every: p.every, decide: (input) => callOf(agent.decide(input), input.positionQty) };
  });
}

/** As persona:*'s call, but a signal name the answer repeats keeps its last value. */
function callOf(d: AgentDecision, qty: number): Call {
  const r = d.recommendation;
  const factors: Record<string, FactorValue> = {};
  for (const s of d.signals) factors[s.name] = s.value;
  factors.position = qty;
  if (d.abstained) factors.abstained = d.abstained.reason;
  return { action: r.action, size: r.size, stopLoss: r.stopLoss, target: r.target, reason: { factors, weights: d.synthesis.weights, confidence: r.confidence, reasoning: d.reasoning, detail: d } };
}

/**
 * The LLM agent of one run, answered from the prompt-cache session the run belongs to (or from
 * $CS_LLM_CACHE). For any strategy that wants LLM agents, e.g. as debate members.
 */
export function llmAgentForRun(persona: string, p: LlmStrategyParams, agentId: string, symbols?: readonly string[]): LlmAgent {
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
    ...(symbols ? { symbols } : {}),
    maxTokens: p.maxTokens,
    ...(p.temperature !== undefined ? { temperature: p.temperature } : {}),
    toolChoice: p.toolChoice,
    windowBars: p.window,
    maxToolTurns: p.maxToolTurns,
  });
}

/**
 * `debate --param agents=conservative,llm:aggressive`: an LLM member with the defaults of
 * llmParamsSchema (the debate's own params are its cadence and window), answered from the run's
 * prompt-cache session like llm:* itself. Registered when this module loads, which the strategy
 * loader (hence `cs backtest`, sweep workers, walk-forward) does before any params are parsed.
 */
const DEBATE_MEMBER_PARAMS: LlmStrategyParams = llmParamsSchema.parse({});
registerAgentFactory(LLM_PREFIX, (name, id, run) => {
  const persona = name.slice(LLM_PREFIX.length);
  checkPersona(persona, `debate agent ${name}`);
  return llmAgentForRun(persona, DEBATE_MEMBER_PARAMS, id, run?.symbols);
});

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
