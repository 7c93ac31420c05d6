import type { DecisionRecord } from '../../engine/decision.ts';
import type { JournalEntry } from '../../engine/journal.ts';

export interface DecisionEvent {
  readonly type: string;
  readonly ts: number;
  readonly orderId: string;
  readonly detail: unknown;
}

export interface ListedDecision {
  readonly decision: DecisionRecord;
  readonly events: DecisionEvent[];
}

export interface DecisionFilter {
  readonly agentId?: string;
  readonly symbol?: string;
  readonly limit: number;
}

interface Indexed {
  readonly ts: number;
  readonly decision: DecisionRecord;
  readonly events: DecisionEvent[];
}

/**
 * The get_decisions index of a journal: each decision with the fills, rejections and cancels of its
 * orders, read once per entry as the journal grows (not the whole journal per call).
 *
 * Events are attributed in journal order, to the decision that last submitted their order id: a
 * reopened journal's earlier sessions, whose fresh accounts repeat order and decision ids, keep
 * their own fills instead of sharing them with the later session's namesakes.
 */
export class DecisionListing {
  /** Journal entries indexed so far. */
  private read = 0;
  private readonly list: Indexed[] = [];
  /** The latest decision with a given id; the decision an order id was last submitted for. */
  private readonly byId = new Map<string, Indexed>();
  private readonly byOrder = new Map<string, Indexed>();

  /** Indexes the entries after the ones already read (the journal only grows). */
  catchUp(entries: readonly JournalEntry[]): void {
    for (; this.read < entries.length; this.read++) this.add(entries[this.read]!);
  }

  private add(e: JournalEntry): void {
    switch (e.type) {
      case 'decision': {
        const d: Indexed = { ts: e.ts, decision: e.payload, events: [] };
        this.list.push(d);
        this.byId.set(e.payload.id, d);
        return;
      }
      case 'order_submitted':
        this.link(e.payload.id, e.payload.decisionId);
        return;
      case 'order_rejected':
        // A rejection with a decision is both the order's submission and its first event.
        if (e.payload.decisionId) this.link(e.payload.id, e.payload.decisionId);
        this.byOrder.get(e.payload.id)?.events.push({ type: e.type, ts: e.ts, orderId: e.payload.id, detail: e.payload.breach });
        return;
      case 'fill':
      case 'cancel': {
        const orderId = e.type === 'fill' ? e.payload.orderId : e.payload.id;
        this.byOrder.get(orderId)?.events.push({ type: e.type, ts: e.ts, orderId, detail: e.payload });
        return;
      }
      default:
    }
  }

  private link(orderId: string, decisionId: string | undefined): void {
    const d = decisionId !== undefined ? this.byId.get(decisionId) : undefined;
    if (d) this.byOrder.set(orderId, d);
    else this.byOrder.delete(orderId);
  }

  /** The last `limit` decisions journaled at or before `at` that pass the filter, oldest first, with their events up to `at`. */
  select(at: number, f: DecisionFilter): ListedDecision[] {
    const out: ListedDecision[] = [];
    for (let i = this.list.length - 1; i >= 0 && out.length < f.limit; i--) {
      const d = this.list[i]!;
      if (d.ts > at || (f.agentId !== undefined && d.decision.agentId !== f.agentId) || (f.symbol !== undefined && d.decision.symbol !== f.symbol)) continue;
      out.push({ decision: d.decision, events: d.events.filter((e) => e.ts <= at) });
    }
    return out.reverse();
  }
}
