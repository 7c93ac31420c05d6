import { z } from 'zod';
import type { AgentInput } from '../../../engine/agents/types.ts';
import { describeIssues } from '../../../engine/errors.ts';
import { computeIndicator } from '../../../engine/indicators/index.ts';
import type { Masker } from './mask.ts';

/**
 * The tools an LLM agent may call. Every answer is computed from the AgentInput, which the caller
 * already fenced at the replay clock: a tool has nothing later than `input.now` to leak, by
 * construction rather than by a check that could be forgotten. Results pass through the same masker
 * as the prompt.
 */
export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  readonly input_schema: Record<string, unknown>;
}

const MAX_BARS = 200;

const getBarsInput = z.strictObject({ n: z.number().int().min(1).max(MAX_BARS) });
const getIndicatorInput = z.strictObject({
  name: z.enum(['sma', 'ema', 'rsi', 'atr', 'bbands', 'macd', 'obv']),
  period: z.number().int().min(2).max(MAX_BARS).optional(),
});
const noInput = z.strictObject({});
/** Indicators whose one parameter is `period` (MACD and OBV take their defaults). */
const PERIODIC = new Set(['sma', 'ema', 'rsi', 'atr', 'bbands']);

export const SUBMIT_TOOL = 'submit_decision';

export function dataTools(): ToolDefinition[] {
  return [
    {
      name: 'get_bars',
      description: `The last n closed bars (oldest first) of the asset you are deciding on: time, open, high, low, close, volume. n ≤ ${MAX_BARS}; fewer when less history exists.`,
      input_schema: schemaOf(getBarsInput),
    },
    {
      name: 'get_indicator',
      description: 'The latest value(s) of a technical indicator over the closed bars: sma, ema, rsi, atr, bbands, macd, obv; `period` where the indicator has one.',
      input_schema: schemaOf(getIndicatorInput),
    },
    {
      name: 'get_sentiment',
      description: 'The latest sentiment reading for the asset (score in [-1, 1], negative = fear), or null when there is none.',
      input_schema: schemaOf(noInput),
    },
  ];
}

export interface ToolResult {
  readonly content: string;
  readonly isError: boolean;
}

/** Runs one local tool call; bad arguments are an error result the model can correct, never a throw. */
export function runTool(name: string, rawInput: unknown, input: AgentInput, mask: Masker): ToolResult {
  switch (name) {
    case 'get_bars': {
      const a = getBarsInput.safeParse(rawInput);
      if (!a.success) return bad(name, a.error);
      return ok(barsTable(input, a.data.n, mask));
    }
    case 'get_indicator': {
      const a = getIndicatorInput.safeParse(rawInput);
      if (!a.success) return bad(name, a.error);
      return ok(indicatorValue(input, a.data.name, a.data.period, mask));
    }
    case 'get_sentiment': {
      const a = noInput.safeParse(rawInput ?? {});
      if (!a.success) return bad(name, a.error);
      const s = input.sentiment;
      return ok(JSON.stringify(s ? { score: s.score, source: s.source, samples: s.samples, time: mask.time(s.ts, barsAgo(input, s.ts)) } : null));
    }
    default:
      return { content: `unknown tool "${name}" (tools: get_bars, get_indicator, get_sentiment, ${SUBMIT_TOOL})`, isError: true };
  }
}

/** The last `n` bars as CSV text, masked. */
export function barsTable(input: AgentInput, n: number, mask: Masker): string {
  const b = input.bars;
  const from = Math.max(0, b.length - n);
  const rows = ['time,open,high,low,close,volume'];
  for (let i = from; i < b.length; i++) {
    const ago = b.length - 1 - i;
    rows.push([mask.time(b.ts[i]!, ago), mask.price(b.open[i]!), mask.price(b.high[i]!), mask.price(b.low[i]!), mask.price(b.close[i]!), num(b.volume[i]!)].join(','));
  }
  return rows.join('\n');
}

function indicatorValue(input: AgentInput, name: string, period: number | undefined, mask: Masker): string {
  const b = input.bars;
  const params = period !== undefined && PERIODIC.has(name) ? { period } : {};
  const r = computeIndicator(name, { open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume, ts: b.ts }, params);
  // Price-valued outputs are rebased with the prices; oscillators and volume are not prices.
  const priceLike = name === 'sma' || name === 'ema' || name === 'bbands' || name === 'atr' || name === 'macd';
  const out: Record<string, number | null> = {};
  for (const [k, col] of Object.entries(r.outputs)) {
    const v = col.length > 0 ? col[col.length - 1]! : NaN;
    out[k] = Number.isFinite(v) ? (priceLike ? mask.price(v) : num(v)) : null;
  }
  return JSON.stringify({ indicator: name, params: r.params, latest: out });
}

function barsAgo(input: AgentInput, ts: number): number {
  const b = input.bars;
  let i = b.length - 1;
  while (i > 0 && b.ts[i]! > ts) i--;
  return b.length - 1 - i;
}

function num(x: number): number {
  return Number(x.toPrecision(8));
}

function ok(content: string): ToolResult {
  return { content, isError: false };
}

function bad(name: string, err: z.ZodError): ToolResult {
  return { content: `${name}: ${describeIssues(err, 'input')}`, isError: true };
}

function schemaOf(s: z.ZodType): Record<string, unknown> {
  const j = z.toJSONSchema(s) as Record<string, unknown>;
  delete j.$schema;
  return j;
}
