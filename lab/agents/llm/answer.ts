import { z } from 'zod';
import { describeIssues } from '../../../engine/errors.ts';

/**
 * The structured answer an LLM agent must give: the five steps of the decision (situation, signals,
 * synthesis, risk, recommendation) plus its reasoning. The model receives it as the input schema of
 * the `submit_decision` tool and its answer is checked here, so an answer that does not fit never
 * reaches the engine. Facts the agent can compute itself (price, volatility) are not asked for.
 */
const unit = z.number().min(-1).max(1);
const price = z.number().positive().nullable();

export const answerSchema = z.strictObject({
  situation: z.strictObject({
    trend: z.enum(['up', 'down', 'flat']),
    regime: z.enum(['trend-up', 'trend-down', 'range', 'volatile']),
    summary: z.string().min(1).max(2000),
  }),
  signals: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(64),
        kind: z.enum(['technical', 'sentiment', 'volume', 'onchain', 'macro']),
        value: z.union([z.number(), z.string().max(200), z.boolean()]),
        score: unit.describe('vote in [-1, 1], positive = bullish'),
        note: z.string().max(500).optional(),
      }),
    )
    .max(20),
  synthesis: z.strictObject({
    weights: z.record(z.string(), z.number().min(0)).describe('weight per signal name, summing to 1'),
    score: unit,
    stance: z.enum(['bullish', 'bearish', 'neutral']),
  }),
  risk: z.strictObject({
    vetoes: z.array(z.string().max(500)).max(10),
    stopLoss: price,
    target: price,
    maxFraction: z.number().min(0).max(1),
  }),
  recommendation: z.strictObject({
    action: z.enum(['buy', 'sell', 'hold']),
    confidence: z.number().min(0).max(100),
    target: price,
    stopLoss: price,
    size: z.number().min(0).max(1).describe('fraction of equity; 0 for hold'),
  }),
  reasoning: z.string().min(1).max(4000),
});

export type LlmAnswer = z.output<typeof answerSchema>;

/** Rules across fields, and the persona's hard limit, checked after the shape. */
export function answerRules(maxFraction: number) {
  return answerSchema.superRefine((a, ctx) => {
    const names = Object.keys(a.synthesis.weights);
    const total = names.reduce((s, k) => s + a.synthesis.weights[k]!, 0);
    if (names.length > 0 && Math.abs(total - 1) > 0.01) {
      ctx.addIssue({ code: 'custom', path: ['synthesis', 'weights'], message: `weights must sum to 1, they sum to ${round(total)}` });
    }
    const signalNames = new Set(a.signals.map((s) => s.name));
    for (const k of names) {
      if (!signalNames.has(k)) ctx.addIssue({ code: 'custom', path: ['synthesis', 'weights', k], message: `"${k}" is not the name of one of your signals` });
    }
    const r = a.recommendation;
    if (r.action === 'hold' && r.size !== 0) ctx.addIssue({ code: 'custom', path: ['recommendation', 'size'], message: 'a hold has size 0' });
    if (r.action !== 'hold' && r.size === 0) ctx.addIssue({ code: 'custom', path: ['recommendation', 'size'], message: `a ${r.action} needs a size > 0` });
    if (r.size > a.risk.maxFraction + 1e-9) {
      ctx.addIssue({ code: 'custom', path: ['recommendation', 'size'], message: `size ${r.size} exceeds your own risk.maxFraction ${a.risk.maxFraction}` });
    }
    if (a.risk.maxFraction > maxFraction + 1e-9) {
      ctx.addIssue({ code: 'custom', path: ['risk', 'maxFraction'], message: `the persona allows at most ${maxFraction} of equity` });
    }
    if (r.action === 'buy' && r.stopLoss !== null && r.target !== null && r.stopLoss >= r.target) {
      ctx.addIssue({ code: 'custom', path: ['recommendation', 'stopLoss'], message: 'for a buy the stop loss must be below the target' });
    }
  });
}

/** JSON Schema of the answer for the tool definition (draft 2020-12, as the Messages API accepts). */
export function answerJsonSchema(): Record<string, unknown> {
  const s = z.toJSONSchema(answerSchema) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

/** A zod error as short lines the model can act on: "recommendation.size: a hold has size 0". */
export function describeAnswerIssues(err: z.ZodError): string {
  return describeIssues({ issues: err.issues.slice(0, 12) }, '(answer)', '\n');
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
