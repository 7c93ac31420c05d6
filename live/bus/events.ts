import { z } from 'zod';
import { describeIssues } from '../../engine/errors.ts';
import { ENTRY_TYPES, type JournalPayloads } from '../../engine/journal.ts';
import type { BarEvent, TradeEvent } from '../../engine/types.ts';

/**
 * The bus carries the journal's entry types (so an agent in another process sees the same
 * decisions, orders and fills the journal records) plus the market events agents react to.
 * A message from outside the process (a Redis stream) is validated here before anyone trusts it.
 */
export interface BusPayloads extends JournalPayloads {
  bar: BarEvent;
  trade: TradeEvent;
}

export type BusEventType = keyof BusPayloads;
export const BUS_EVENT_TYPES: readonly BusEventType[] = [...ENTRY_TYPES, 'bar', 'trade'];

export type BusEvent = {
  [T in BusEventType]: {
    readonly type: T;
    /** Event time (replay clock or exchange time), epoch ms; never the time it was published. */
    readonly ts: number;
    /** Who published it (an agent id, a stream name). */
    readonly source: string;
    readonly payload: BusPayloads[T];
  };
}[BusEventType];

export type BusEventOf<T extends BusEventType> = Extract<BusEvent, { type: T }>;

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const side = z.enum(['buy', 'sell']);
const id = z.string().min(1);

/**
 * Payload checks: the fields consumers read. Journal payloads carry more (and optional) fields,
 * which are kept as they are (loose objects); a missing or mistyped key field rejects the message.
 */
const payloadSchemas: { readonly [T in BusEventType]: z.ZodType } = {
  decision: z.looseObject({ id, ts: finite, agentId: id, symbol: z.string(), action: z.enum(['buy', 'sell', 'close', 'cancel', 'hold']), confidence: finite }),
  order_submitted: z.looseObject({ id, agentId: id, decisionId: z.string(), symbol: id, side, type: z.string(), amount: finite }),
  order_rejected: z.looseObject({ id, breach: z.looseObject({ limit: z.string(), message: z.string() }) }),
  order_accepted: z.looseObject({ id }),
  fill: z.looseObject({ orderId: id, symbol: id, side, amount: finite, price: finite, fee: finite, ts: finite }),
  cancel: z.looseObject({ id }),
  killswitch: z.looseObject({ scope: z.enum(['global', 'agent']), from: z.string(), to: z.string(), by: z.string(), reason: z.string(), ts: finite }),
  override: z.looseObject({ scope: z.enum(['global', 'agent']), from: z.string(), to: z.string(), by: z.string(), reason: z.string(), ts: finite }),
  config_change: z.looseObject({ key: z.string(), by: z.string() }),
  run_start: z.looseObject({ seed: finite, cash: finite }),
  run_end: z.looseObject({}),
  bar: z.strictObject({
    kind: z.literal('bar'), symbol: id, ts: finite, timeframeMs: z.number().int().positive(),
    open: finite, high: finite, low: finite, close: finite, volume: finite, seq: z.number().int(), source: z.number().int(),
  }),
  trade: z.strictObject({
    kind: z.literal('trade'), symbol: id, ts: finite, price: finite, amount: finite, side: side.optional(), seq: z.number().int(), source: z.number().int(),
  }),
};

const envelope = z.strictObject({
  type: z.enum(BUS_EVENT_TYPES as [BusEventType, ...BusEventType[]]),
  ts: finite,
  source: z.string().min(1),
  payload: z.unknown(),
});

export type ParseResult = { readonly ok: true; readonly event: BusEvent } | { readonly ok: false; readonly error: string };

/** Validate an event that came from outside (JSON text or a parsed value). Never throws. */
export function parseBusEvent(raw: unknown): ParseResult {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, error: 'not JSON' };
    }
  }
  const env = envelope.safeParse(value);
  if (!env.success) return { ok: false, error: describeIssues(env.error, '(event)') };
  const p = payloadSchemas[env.data.type].safeParse(env.data.payload);
  if (!p.success) return { ok: false, error: `${env.data.type} payload: ${describeIssues(p.error, '(event)')}` };
  return { ok: true, event: { ...env.data, payload: p.data } as BusEvent };
}
