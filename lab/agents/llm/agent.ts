import type { Agent, AgentDecision, AgentInput, MarketRegime, SituationAnalysis } from '../../../engine/agents/types.ts';
import { PromptMissing } from '../../../engine/agents/types.ts';
import { InputError } from '../../../engine/errors.ts';
import { answerJsonSchema, answerRules, describeAnswerIssues, type LlmAnswer } from './answer.ts';
import { requestKey, type CacheMode, type LlmRequest, type LlmResponse, type PromptCache } from './cache.ts';
import { addUsage, emptyTotals, type ModelPrice, type UsageTotals } from './cost.ts';
import { createMasker, type Masker } from './mask.ts';
import { personaPrompt, systemPrompt, userPrompt, type PersonaPrompt } from './prompt.ts';
import { currentLlmSession } from './session.ts';
import { dataTools, runTool, SUBMIT_TOOL, type ToolDefinition } from './tools.ts';

export interface LlmAgentOptions {
  readonly id?: string;
  readonly persona: string;
  readonly model: string;
  readonly cache: PromptCache;
  readonly mode: CacheMode;
  /** Tokens (input + output + prompt-cache) this agent may spend in one run; then it abstains. */
  readonly budgetTokens: number;
  readonly mask?: boolean;
  /** The run's symbols, so masked names (ASSET_A…) are stable across the run. */
  readonly symbols?: readonly string[];
  readonly maxTokens?: number;
  /** Sent only when set: models from Claude 4.7 on reject a temperature (400). */
  readonly temperature?: number;
  /**
   * `auto` (default): the prompt asks for submit_decision and a prose reply counts as an invalid
   * answer. `any` forces a tool call (a data tool or the decision), which the API does not allow
   * together with (adaptive) thinking, so use it only with models that do not think.
   */
  readonly toolChoice?: 'auto' | 'any';
  /** Bars shown in the prompt (more via get_bars). */
  readonly windowBars?: number;
  /** Data-tool rounds allowed per decision before the agent gives up. */
  readonly maxToolTurns?: number;
  readonly prices?: Readonly<Record<string, ModelPrice>>;
}

/** An LLM agent's decision carries which cached prompts made it, for the audit trail. */
export interface LlmAgentDecision extends AgentDecision {
  readonly llm: { readonly model: string; readonly prompts: readonly string[]; readonly tokens: number };
}

/** A prompt absent from the cache in replay mode: nothing may be fetched, so the run stops here. */
export class PromptNotRecorded extends InputError {
  constructor(
    readonly key: string,
    readonly agentId: string,
    readonly ts: number,
    cachePath: string | null,
  ) {
    super(
      `replay: prompt ${key} (agent ${agentId}, decision at ${new Date(ts).toISOString()}) is not in the prompt cache ${cachePath ?? '(in memory)'}; ` +
        'record it first (--llm-mode record), or the prompt changed since it was recorded',
    );
  }
}

const submitTool: ToolDefinition = {
  name: SUBMIT_TOOL,
  description: 'Submit your decision: the five steps and your reasoning. Call it exactly once, after any data requests.',
  input_schema: answerJsonSchema(),
};
const TOOLS: readonly ToolDefinition[] = [...dataTools(), submitTool];

type ContentBlock = LlmResponse['content'][number];
type ToolUse = { type: 'tool_use'; id: string; name: string; input: unknown };

/**
 * An agent whose analysis comes from a model through the Messages API, answered synchronously from a
 * prompt cache. A decision is a short conversation: data-tool rounds (answered locally from the
 * fenced input), then `submit_decision`, checked with zod; one invalid answer gets the validation
 * error back and one more try, a second means abstaining with the reason on record.
 */
export class LlmAgent implements Agent {
  readonly id: string;
  readonly persona: string;
  /** Tokens and estimated cost of the answers this agent used in the current run. */
  readonly usage: UsageTotals = emptyTotals();
  private readonly prompt: PersonaPrompt;
  private readonly system: string;
  private readonly rules: ReturnType<typeof answerRules>;

  constructor(private readonly opts: LlmAgentOptions) {
    const p = personaPrompt(opts.persona);
    if (!p) throw new InputError(`unknown LLM persona "${opts.persona}" (known: conservative, aggressive, trend-follower)`);
    if (!(opts.budgetTokens > 0)) throw new InputError(`LLM token budget must be > 0, got ${opts.budgetTokens}`);
    this.prompt = p;
    this.persona = p.persona;
    this.id = opts.id ?? `llm-${p.persona}`;
    this.system = systemPrompt(p);
    this.rules = answerRules(p.maxFraction);
    // Inside runWithPromptCache, the session reports this agent's usage in the run summary.
    currentLlmSession()?.register(this);
  }

  decide(input: AgentInput): AgentDecision {
    const mask = this.masker(input);
    return this.converse(input, mask, userPrompt(input, mask, this.opts.windowBars ?? 30));
  }

  /**
   * A debate round: the same situation, its own answer and the others' (structured fields only; with
   * masking on, their free text is left out because it may name the asset or quote prices), then a
   * new submit_decision: kept or revised.
   */
  revise(own: AgentDecision, others: readonly AgentDecision[], round: number, input: AgentInput): AgentDecision {
    const mask = this.masker(input);
    return this.converse(input, mask, [userPrompt(input, mask, this.opts.windowBars ?? 30), '', revisionPrompt(own, others, round, mask)].join('\n'));
  }

  private masker(input: AgentInput): Masker {
    return createMasker({ on: this.opts.mask ?? false, symbols: this.opts.symbols ?? [input.symbol], basePrice: input.bars.close[0]! });
  }

  private converse(input: AgentInput, mask: Masker, firstMessage: string): AgentDecision {
    const o = this.opts;
    const messages: unknown[] = [{ role: 'user', content: firstMessage }];
    const keys: string[] = [];
    const tokensBefore = this.usage.totalTokens;
    const finish = (d: AgentDecision): LlmAgentDecision => ({ ...d, llm: { model: o.model, prompts: keys, tokens: this.usage.totalTokens - tokensBefore } });
    let invalid = 0;
    let toolTurns = 0;
    for (;;) {
      if (this.usage.totalTokens >= o.budgetTokens) {
        return finish(this.abstain(input, `budget: ${this.usage.totalTokens} of ${o.budgetTokens} tokens used in this run`));
      }
      const request: LlmRequest = {
        model: o.model,
        system: this.system,
        messages: structuredClone(messages),
        tools: TOOLS,
        tool_choice: { type: o.toolChoice ?? 'auto' },
        max_tokens: o.maxTokens ?? 4096,
        ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
      };
      const key = requestKey(request);
      const response = o.cache.lookup(key, o.mode);
      if (!response) {
        if (o.mode === 'replay') throw new PromptNotRecorded(key, this.id, input.now, o.cache.path);
        throw new PromptMissing(key, request);
      }
      keys.push(key);
      addUsage(this.usage, response.usage, response.model, o.prices);
      messages.push({ role: 'assistant', content: response.content });
      const uses = response.content.filter(isToolUse);
      const submit = uses.find((u) => u.name === SUBMIT_TOOL);
      if (submit) {
        const r = this.rules.safeParse(submit.input);
        if (r.success) return finish(this.fromAnswer(input, r.data, mask));
        const why = describeAnswerIssues(r.error);
        if (++invalid >= 2) return finish(this.abstain(input, `invalid answer twice; last: ${why.replace(/\n/g, '; ')}`));
        messages.push({
          role: 'user',
          content: uses.map((u) =>
            u === submit
              ? { type: 'tool_result', tool_use_id: u.id, is_error: true, content: `Your decision was rejected:\n${why}\nCall ${SUBMIT_TOOL} again with a corrected answer.` }
              : toolResult(u, input, mask),
          ),
        });
        continue;
      }
      if (uses.length === 0) {
        if (++invalid >= 2) return finish(this.abstain(input, `no decision submitted twice (stop reason ${response.stop_reason ?? 'none'})`));
        messages.push({ role: 'user', content: `Answer by calling ${SUBMIT_TOOL}.` });
        continue;
      }
      if (++toolTurns > (o.maxToolTurns ?? 4)) {
        return finish(this.abstain(input, `more than ${o.maxToolTurns ?? 4} rounds of data requests without a decision`));
      }
      messages.push({ role: 'user', content: uses.map((u) => toolResult(u, input, mask)) });
    }
  }

  private fromAnswer(input: AgentInput, a: LlmAnswer, mask: Masker): AgentDecision {
    const px = (p: number | null) => (p === null ? null : mask.unprice(p));
    return {
      agentId: this.id,
      persona: this.persona,
      symbol: input.symbol,
      ts: input.now,
      situation: { ...situationFacts(input, a.situation.regime), trend: a.situation.trend, summary: mask.unmaskText(a.situation.summary) },
      signals: a.signals.map((s) => ({ name: s.name, kind: s.kind, value: s.value, score: s.score, ...(s.note !== undefined ? { note: mask.unmaskText(s.note) } : {}) })),
      synthesis: a.synthesis,
      risk: { vetoes: a.risk.vetoes.map(mask.unmaskText), stopLoss: px(a.risk.stopLoss), target: px(a.risk.target), maxFraction: a.risk.maxFraction },
      recommendation: { ...a.recommendation, target: px(a.recommendation.target), stopLoss: px(a.recommendation.stopLoss) },
      reasoning: mask.unmaskText(a.reasoning),
    };
  }

  /** A recorded refusal to decide: hold, zero size, the reason in `abstained` and as a veto. */
  private abstain(input: AgentInput, reason: string): AgentDecision {
    return {
      agentId: this.id,
      persona: this.persona,
      symbol: input.symbol,
      ts: input.now,
      situation: { ...situationFacts(input, 'range'), trend: 'flat', summary: 'no analysis: the agent abstained' },
      signals: [],
      synthesis: { weights: {}, score: 0, stance: 'neutral' },
      risk: { vetoes: [reason], stopLoss: null, target: null, maxFraction: 0 },
      recommendation: { action: 'hold', confidence: 0, target: null, stopLoss: null, size: 0 },
      reasoning: `abstained: ${reason}`,
      abstained: { reason },
    };
  }
}

function revisionPrompt(own: AgentDecision, others: readonly AgentDecision[], round: number, mask: Masker): string {
  const px = (p: number | null) => (p === null ? null : mask.price(p));
  const view = (d: AgentDecision) => ({
    agent: d.agentId,
    persona: d.persona,
    action: d.recommendation.action,
    confidence: d.recommendation.confidence,
    size: d.recommendation.size,
    stance: d.synthesis.stance,
    score: d.synthesis.score,
    stopLoss: px(d.recommendation.stopLoss),
    target: px(d.recommendation.target),
    vetoes: mask.on ? d.risk.vetoes.length : d.risk.vetoes,
    signals: d.signals.map((s) => ({ name: s.name, kind: s.kind, score: s.score })),
    ...(d.abstained ? { abstained: true } : {}),
    ...(mask.on ? {} : { reasoning: d.reasoning }),
  });
  return [
    `Debate round ${round}. Your decision so far:`,
    JSON.stringify(view(own)),
    'The other agents decided:',
    ...others.map((d) => JSON.stringify(view(d))),
    '',
    'Weigh their evidence against yours. Keep your decision or revise it, and submit it again.',
  ].join('\n');
}

function isToolUse(b: ContentBlock): b is ContentBlock & ToolUse {
  return b.type === 'tool_use';
}

function toolResult(u: ToolUse, input: AgentInput, mask: Masker) {
  const r = runTool(u.name, u.input, input, mask);
  return { type: 'tool_result', tool_use_id: u.id, ...(r.isError ? { is_error: true } : {}), content: r.content };
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

/** What the agent measures itself rather than asking the model: the price and the volatility. */
function situationFacts(input: AgentInput, regime: MarketRegime): Omit<SituationAnalysis, 'trend' | 'summary'> {
  const c = input.bars.close;
  const n = input.bars.length;
  let s = 0;
  let s2 = 0;
  let k = 0;
  for (let i = Math.max(1, n - 30); i < n; i++) {
    const r = Math.log(c[i]! / c[i - 1]!);
    if (!Number.isFinite(r)) continue;
    s += r;
    s2 += r * r;
    k++;
  }
  const variance = k > 1 ? (s2 - (s * s) / k) / (k - 1) : 0;
  const volatility = Math.sqrt(Math.max(0, variance) * (YEAR_MS / input.bars.timeframeMs));
  return { price: c[n - 1]!, volatility, regime };
}
