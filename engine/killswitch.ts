import { z } from 'zod';

/**
 * Kill switch: an explicit state machine per scope (global, and one per agent).
 *
 *   ACTIVE ──trip──▶ REDUCING ──trip──▶ HALTED
 *     ▲                  │                 │
 *     └──── override (a human: who + why) ─┘
 *
 * - `trip` only ever makes a scope stricter; tripping to the current or a looser state is a no-op
 *   (returns null), so an automatic trip repeated on every bar journals once.
 * - `override` is the only way to loosen a scope, and it needs a non-empty `by` and `reason`.
 *   Nothing in the engine calls it: an automatic trip is never undone automatically.
 * - An agent's effective state is the stricter of the global state and its own.
 * - `allows(order, isReducing)`: ACTIVE accepts all, REDUCING only position-reducing orders,
 *   HALTED none — except the flatten orders the kill switch itself asked for (agentId
 *   FLATTEN_AGENT_ID, reduce-only, reducing), and only when the HALT asked for a flatten.
 * - Every transition is returned and passed to the `onTransition` listener as a plain JSON payload
 *   (journal types `killswitch` for trips, `override` for overrides). The engine reacts to
 *   `cancelAll` / `flatten` in a HALTED transition; this module only records that they were asked.
 *
 * Cross-process control: `KillSwitchCommandSchema` is a plain-JSON message (trip / override /
 * status) that another process can write to a file or a Redis stream; `apply(command)` executes it.
 * No wall clock: every command carries its own `ts`.
 */
export const KILL_STATES = ['ACTIVE', 'REDUCING', 'HALTED'] as const;
export type KillState = (typeof KILL_STATES)[number];

/** Orders the kill switch places itself to flatten on HALT carry this agent id. */
export const FLATTEN_AGENT_ID = 'killswitch';

const RANK: Record<KillState, number> = { ACTIVE: 0, REDUCING: 1, HALTED: 2 };

export type KillScope = { readonly scope: 'global' } | { readonly scope: 'agent'; readonly agentId: string };

export interface KillTransition {
  readonly scope: 'global' | 'agent';
  readonly agentId?: string;
  readonly from: KillState;
  readonly to: KillState;
  readonly by: string;
  readonly reason: string;
  readonly ts: number;
  /** True when a limit tripped it (no human involved). */
  readonly auto: boolean;
  readonly cancelAll: boolean;
  readonly flatten: boolean;
  /** Which limit tripped it, for automatic trips. */
  readonly limit?: string;
}

export interface KillScopeStatus {
  readonly state: KillState;
  readonly since: number | null;
  readonly by: string | null;
  readonly reason: string | null;
  readonly auto: boolean;
  readonly cancelAll: boolean;
  readonly flatten: boolean;
}

export interface KillSwitchStatus {
  readonly global: KillScopeStatus;
  readonly agents: Readonly<Record<string, KillScopeStatus>>;
}

export interface TripOptions {
  readonly by: string;
  readonly reason: string;
  readonly ts: number;
  readonly auto?: boolean;
  readonly cancelAll?: boolean;
  readonly flatten?: boolean;
  readonly limit?: string;
}

export interface OverrideOptions {
  readonly by: string;
  readonly reason: string;
  readonly ts: number;
  /** Where to go; ACTIVE unless a human wants to step down to REDUCING first. */
  readonly to?: 'ACTIVE' | 'REDUCING';
}

const ACTIVE_STATUS: KillScopeStatus = Object.freeze({
  state: 'ACTIVE',
  since: null,
  by: null,
  reason: null,
  auto: false,
  cancelAll: false,
  flatten: false,
});

const nonEmpty = z.string().trim().min(1);
const scopeFields = {
  scope: z.enum(['global', 'agent']),
  agentId: nonEmpty.optional(),
};
const needsAgent = (m: { scope: string; agentId?: string | undefined }) => m.scope === 'global' || m.agentId !== undefined;
const agentMsg = { message: 'agentId is required when scope is "agent"', path: ['agentId'] };

export const KillSwitchCommandSchema = z.discriminatedUnion('type', [
  z
    .strictObject({
      type: z.literal('trip'),
      ...scopeFields,
      to: z.enum(['REDUCING', 'HALTED']),
      by: nonEmpty,
      reason: nonEmpty,
      ts: z.number().int(),
      cancelAll: z.boolean().optional(),
      flatten: z.boolean().optional(),
    })
    .refine(needsAgent, agentMsg),
  z
    .strictObject({
      type: z.literal('override'),
      ...scopeFields,
      to: z.enum(['ACTIVE', 'REDUCING']).optional(),
      by: nonEmpty,
      reason: nonEmpty,
      ts: z.number().int(),
    })
    .refine(needsAgent, agentMsg),
  z.strictObject({ type: z.literal('status') }),
]);
export type KillSwitchCommand = z.infer<typeof KillSwitchCommandSchema>;

export interface KillSwitchCommandResult {
  readonly transition: KillTransition | null;
  readonly status: KillSwitchStatus;
}

export interface KillSwitchOptions {
  readonly onTransition?: (t: KillTransition) => void;
}

export function stricter(a: KillState, b: KillState): KillState {
  return RANK[a] >= RANK[b] ? a : b;
}

export class KillSwitch {
  private global: KillScopeStatus = ACTIVE_STATUS;
  private readonly agents = new Map<string, KillScopeStatus>();
  private readonly listener: ((t: KillTransition) => void) | undefined;

  constructor(opts: KillSwitchOptions = {}) {
    this.listener = opts.onTransition;
  }

  /** The state an agent's orders face: the stricter of global and the agent's own. */
  effective(agentId: string): KillState {
    const g = this.global.state;
    if (g === 'HALTED' || this.agents.size === 0) return g;
    const a = this.agents.get(agentId);
    return a === undefined ? g : stricter(g, a.state);
  }

  /** Hot path: one or two map reads, no allocation. */
  allows(order: { readonly agentId: string; readonly reduceOnly?: boolean }, isReducing: boolean): boolean {
    const state = this.effective(order.agentId);
    if (state === 'ACTIVE') return true;
    if (state === 'REDUCING') return isReducing;
    return isReducing && order.agentId === FLATTEN_AGENT_ID && order.reduceOnly === true && this.flattenRequested();
  }

  private flattenRequested(): boolean {
    if (this.global.flatten) return true;
    for (const a of this.agents.values()) if (a.flatten) return true;
    return false;
  }

  scopeStatus(s: KillScope): KillScopeStatus {
    return s.scope === 'global' ? this.global : (this.agents.get(s.agentId) ?? ACTIVE_STATUS);
  }

  status(): KillSwitchStatus {
    const agents: Record<string, KillScopeStatus> = {};
    for (const k of [...this.agents.keys()].sort()) agents[k] = this.agents.get(k)!;
    return { global: this.global, agents };
  }

  trip(s: KillScope, to: 'REDUCING' | 'HALTED', opts: TripOptions): KillTransition | null {
    requireWho(opts);
    const cur = this.scopeStatus(s);
    if (RANK[to] <= RANK[cur.state]) return null;
    const t: KillTransition = {
      ...scopeOf(s),
      from: cur.state,
      to,
      by: opts.by,
      reason: opts.reason,
      ts: opts.ts,
      auto: opts.auto ?? false,
      cancelAll: to === 'HALTED' && (opts.cancelAll ?? false),
      flatten: to === 'HALTED' && (opts.flatten ?? false),
      ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
    };
    return this.commit(t);
  }

  override(s: KillScope, opts: OverrideOptions): KillTransition | null {
    requireWho(opts);
    const to = opts.to ?? 'ACTIVE';
    const cur = this.scopeStatus(s);
    if (RANK[to] >= RANK[cur.state]) return null;
    return this.commit({
      ...scopeOf(s),
      from: cur.state,
      to,
      by: opts.by,
      reason: opts.reason,
      ts: opts.ts,
      auto: false,
      cancelAll: false,
      flatten: false,
    });
  }

  /** Execute a command message from another process (already parsed or raw JSON). */
  apply(command: unknown): KillSwitchCommandResult {
    const c = KillSwitchCommandSchema.parse(command);
    let transition: KillTransition | null = null;
    if (c.type !== 'status') {
      const s: KillScope = c.scope === 'global' ? { scope: 'global' } : { scope: 'agent', agentId: c.agentId! };
      transition =
        c.type === 'trip'
          ? this.trip(s, c.to, { by: c.by, reason: c.reason, ts: c.ts, cancelAll: c.cancelAll, flatten: c.flatten })
          : this.override(s, { by: c.by, reason: c.reason, ts: c.ts, to: c.to });
    }
    return { transition, status: this.status() };
  }

  /**
   * Re-apply a journaled transition (journal fold). It is applied as recorded, without the
   * stricter/looser rules, so the folded state equals the state that produced the journal.
   */
  replay(t: KillTransition): void {
    const st: KillScopeStatus =
      t.to === 'ACTIVE'
        ? ACTIVE_STATUS
        : { state: t.to, since: t.ts, by: t.by, reason: t.reason, auto: t.auto, cancelAll: t.cancelAll, flatten: t.flatten };
    if (t.scope === 'global') this.global = st;
    else if (t.to === 'ACTIVE') this.agents.delete(t.agentId!);
    else this.agents.set(t.agentId!, st);
  }

  private commit(t: KillTransition): KillTransition {
    this.replay(t);
    this.listener?.(t);
    return t;
  }
}

function scopeOf(s: KillScope): { scope: 'global' | 'agent'; agentId?: string } {
  return s.scope === 'global' ? { scope: 'global' } : { scope: 'agent', agentId: s.agentId };
}

function requireWho(o: { by: string; reason: string }): void {
  if (!o.by || !o.by.trim()) throw new RangeError('a kill-switch transition must say who (by)');
  if (!o.reason || !o.reason.trim()) throw new RangeError('a kill-switch transition must say why (reason)');
}
