import type { Side } from '../engine/types.ts';
import type { OrderType } from '../engine/orders.ts';
import type { DecisionRecord } from '../engine/decision.ts';
import type { JournalPayloads, Rejection } from '../engine/journal.ts';
import { describeClaim, type Claim, type ClaimStore } from './claims.ts';

/** Where the refusal is recorded: the in-memory Journal and the durable FileJournal both fit. */
export interface RejectionSink {
  append(type: 'order_rejected' | 'decision', payload: JournalPayloads['order_rejected'] | JournalPayloads['decision'], ts: number): unknown;
}

export interface ClaimedOrderRequest {
  readonly id: string;
  readonly agentId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly amount: number;
  /** Opening (or adding to) a position needs the claim; a position-reducing order does not. */
  readonly opening: boolean;
  /** Replay clock of the decision (journal time). */
  readonly ts: number;
  /**
   * The decision behind the order, journaled (with a rejected outcome) when the claim refuses it,
   * so the refusal is explained like any other; without it only the rejection is journaled.
   */
  readonly decision?: Omit<DecisionRecord, 'orderIds' | 'outcome'>;
}

export type ClaimedResult<R> =
  | { readonly ok: true; readonly claim: Claim | null; readonly result: R }
  | { readonly ok: false; readonly breach: Rejection & { readonly owner: string } };

/**
 * The claim-aware order path: claim (symbol, side) for the agent, then place. When another agent
 * holds the claim nothing is placed and an `order_rejected` entry naming the claim and its holder
 * is journaled (limit "claim"), as any other pre-trade refusal is.
 */
export async function placeWithClaim<R>(
  claims: ClaimStore,
  journal: RejectionSink,
  req: ClaimedOrderRequest,
  ttlMs: number,
  place: (claim: Claim | null) => R | Promise<R>,
): Promise<ClaimedResult<R>> {
  if (!req.opening) return { ok: true, claim: null, result: await place(null) };
  const key = { symbol: req.symbol, side: req.side };
  const r = await claims.claim(key, req.agentId, ttlMs);
  if (!r.ok) {
    const breach = {
      limit: 'claim',
      scope: `claim:${req.symbol}:${req.side}`,
      limitValue: r.holder.owner,
      attempted: req.agentId,
      current: r.holder.owner,
      message: `claim ${req.symbol} ${req.side}: ${describeClaim(key, r.holder)}; ${req.agentId} may not open the same trade`,
      owner: r.holder.owner,
    };
    if (req.decision) {
      await journal.append('decision', { ...req.decision, orderIds: [req.id], outcome: { status: 'rejected', limit: 'claim', message: breach.message } }, req.ts);
    }
    await journal.append('order_rejected', { id: req.id, ...(req.decision ? { decisionId: req.decision.id } : {}), agentId: req.agentId, symbol: req.symbol, side: req.side, type: req.type, amount: req.amount, breach }, req.ts);
    return { ok: false, breach };
  }
  return { ok: true, claim: r.claim, result: await place(r.claim) };
}
