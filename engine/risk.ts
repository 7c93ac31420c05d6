import { z } from 'zod';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { InputError } from './errors.ts';
import { DAY_MS, timeframeToMs } from './timeframe.ts';
import type { Side } from './types.ts';
import type { OrderType } from './orders.ts';
import type { KillSwitch } from './killswitch.ts';
import type { EngineView, OrderGate } from './backtest.ts';
import { portfolioSigma, type RollingCovariance } from './var.ts';
import { normalInv } from './overfitting.ts';

/**
 * Constraint engine: every order passes `RiskEngine.check` before the broker sees it.
 *
 * Config (zod; JSON/YAML text via `parseRiskConfigText`, or an object via `RiskConfigSchema`):
 *   top-level limits are the GLOBAL scope; `agents.<id>` and `symbols.<symbol>` add scoped limits.
 *   ALL matching scopes apply (global, then the order's agent, then its symbol), so a scope can only
 *   tighten, never loosen, what another says. Keys may be camelCase or snake_case.
 *   Values: money as 5000, "5000 USD", "$5,000"; fractions as 0.2, -0.2, "20%", "-20%"; loss
 *   limits in either sign (the magnitude counts); durations as ms or "30s"/"5m".
 *
 * Interface for the engine:
 *   - `check(order, view)` is pure (reads the view and its own counters, changes nothing) and
 *     allocates only when it rejects. `view` is a `RiskView` the engine implements over its own
 *     state; every method is a lookup.
 *   - `onMark(ts, equity, agentId?)` once per bar/mark BEFORE strategies run: rolls the UTC day
 *     (day-start equity = first mark of the day), tracks peak equity, latches the daily-loss
 *     breach for the rest of the day and trips the kill switch on a hard limit (daily loss,
 *     drawdown) when one is attached. Without `agentId` it is the portfolio's equity.
 *   - `onOrderAccepted(order, ts)` when an order passed `check` and went to the broker: it counts
 *     toward `maxTradesPerHour` (counted at acceptance, not fill, so a burst of orders in one bar
 *     cannot slip past the limit before the first of them fills).
 *   - `riskGate(risk)` (bottom of this file) does all three for engine/backtest.ts's OrderGate.
 *
 * Increasing vs reducing: the position is taken as the worst case in the order's direction
 * (position plus every open order on the same side, `openBuyQty`/`openSellQty`); an order is
 * reducing when |after| < |before| without crossing zero, or when it is reduce-only (brokers cap
 * those at the position: the simulated one does, and so must any other). Reducing orders are exempt from the
 * exposure limits (position, order notional, trades/hour, daily loss, drawdown, VaR, symbols,
 * long-only, data age) so a position can always be cut; price band and open-order count apply to all.
 * Missing data fails closed: no last price → rejected, not waved through.
 */

// ---------------------------------------------------------------------------------------------
// Config

const MONEY = /^\s*([+-])?\s*\$?\s*([0-9][0-9,_]*(?:\.[0-9]+)?)\s*(?:[A-Za-z]{3,5})?\s*$/;
const PERCENT = /^\s*([+-]?[0-9]+(?:\.[0-9]+)?)\s*%\s*$/;

function fail(ctx: z.RefinementCtx, input: unknown, message: string): never {
  ctx.issues.push({ code: 'custom', input, message });
  return z.NEVER;
}

/** A currency amount; the sign is kept (loss limits use the magnitude). */
const money = z.union([
  z.number().refine(Number.isFinite, 'must be a finite number'),
  z.string().transform((s, ctx) => {
    const m = MONEY.exec(s);
    if (!m) return fail(ctx, s, `cannot read "${s}" as an amount (e.g. 5000, "5000 USD")`);
    return (m[1] === '-' ? -1 : 1) * Number(m[2]!.replace(/[,_]/g, ''));
  }),
]);
const positiveMoney = money.refine((v) => v > 0, 'must be positive');
const lossMagnitude = money.refine((v) => v !== 0, 'must not be zero').transform(Math.abs);

/** A fraction of equity: 0.2, -0.2, "20%" or "-20%" → 0.2. Plain numbers above 1 are refused as ambiguous. */
const fraction = z
  .union([
    z.number().refine((v) => Math.abs(v) <= 1, 'a plain number is a fraction (0.2 = 20%); write "20%" for percent'),
    z.string().transform((s, ctx) => {
      const m = PERCENT.exec(s);
      if (!m) return fail(ctx, s, `cannot read "${s}" as a percentage (e.g. "20%" or 0.2)`);
      return Number(m[1]) / 100;
    }),
  ])
  .transform(Math.abs)
  .refine((v) => v > 0 && v <= 1, 'must be between 0% and 100% (exclusive of 0)');

/** A percentage in percent units (the field name says Pct): 5 or "5%" → 5. */
const percent = z
  .union([
    z.number(),
    z.string().transform((s, ctx) => {
      const m = PERCENT.exec(s);
      return m ? Number(m[1]) : fail(ctx, s, `cannot read "${s}" as a percentage (e.g. 5 or "5%")`);
    }),
  ])
  .refine((v) => v > 0 && Number.isFinite(v), 'must be a positive percentage');

const durationMs = z
  .union([
    z.number().int(),
    z.string().transform((s, ctx) => {
      try {
        return timeframeToMs(s.trim());
      } catch {
        return fail(ctx, s, `cannot read "${s}" as a duration (ms, or e.g. "30s", "5m", "1h")`);
      }
    }),
  ])
  .refine((v) => v > 0, 'must be positive');

const count = z.number().int().min(0);

const camel = (k: string): string => k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
function camelizeKeys(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[camel(k)] = x;
  return out;
}

const symbolLimitFields = {
  maxPositionQty: z.number().positive().optional(),
  maxPositionNotional: positiveMoney.optional(),
  maxOrderNotional: positiveMoney.optional(),
  maxTradesPerHour: count.optional(),
  priceBandPct: percent.optional(),
  maxDataAgeMs: durationMs.optional(),
  maxOpenOrders: count.optional(),
  longOnly: z.boolean().optional(),
};
const limitFields = {
  ...symbolLimitFields,
  maxDailyLoss: lossMagnitude.optional(),
  maxDrawdown: fraction.optional(),
  allowedSymbols: z.array(z.string().trim().min(1)).min(1).optional(),
  /** 1-day VaR as a fraction of equity ("5%" or 0.05) at `varConfidence`. */
  maxVar: fraction.optional(),
  varConfidence: z.number().gt(0.5).lt(1).optional(),
};

export const SymbolLimitsSchema = z.preprocess(camelizeKeys, z.strictObject(symbolLimitFields));
export const LimitsSchema = z.preprocess(camelizeKeys, z.strictObject(limitFields));

const tripTarget = z.enum(['REDUCING', 'HALTED', 'none']);
export const KillSwitchPolicySchema = z.preprocess(
  camelizeKeys,
  z.strictObject({
    /** What a daily-loss breach trips (default REDUCING: close out, but open nothing new). */
    onDailyLoss: tripTarget.default('REDUCING'),
    onDrawdown: tripTarget.default('HALTED'),
    cancelAllOnHalt: z.boolean().default(true),
    /** A drawdown stop that leaves the position open is no stop: an automatic HALT flattens by default. */
    flattenOnHalt: z.boolean().default(true),
  }),
);

export const RiskConfigSchema = z.preprocess(
  camelizeKeys,
  z.strictObject({
    ...limitFields,
    agents: z.record(z.string().min(1), LimitsSchema).optional(),
    symbols: z.record(z.string().min(1), SymbolLimitsSchema).optional(),
    killSwitch: KillSwitchPolicySchema.optional(),
  }),
);

export type Limits = z.output<typeof LimitsSchema>;
export type SymbolLimits = z.output<typeof SymbolLimitsSchema>;
export type RiskConfig = z.output<typeof RiskConfigSchema>;
export type KillSwitchPolicy = z.output<typeof KillSwitchPolicySchema>;

/** Parse YAML or JSON text. A syntax error → InputError with source:line:col; a bad field → ZodError. */
export function parseRiskConfigText(text: string, source = 'risk config'): RiskConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      throw new InputError(`${source}${pos ? `:${pos.line}:${pos.col}` : ''}: ${err.message.split('\n')[0]}`, { cause: err });
    }
    throw err;
  }
  return RiskConfigSchema.parse(raw ?? {});
}

// ---------------------------------------------------------------------------------------------
// Engine interfaces

/** What `check` needs of an order: an engine `Order` satisfies it. */
export interface RiskOrder {
  readonly agentId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly amount: number;
  readonly price?: number;
  readonly stopPrice?: number;
  readonly reduceOnly?: boolean;
}

/** A read-only view of the engine's state at the replay clock. Implement it once; no allocation. */
export interface RiskView {
  /** Replay clock (epoch ms); never the wall clock. */
  readonly ts: number;
  /** Current portfolio equity (cash + marked positions). */
  readonly equity: number;
  /** Signed position (base units). */
  positionQty(symbol: string): number;
  /** Unfilled amount of open buy / sell orders in the symbol (positive numbers). */
  openBuyQty(symbol: string): number;
  openSellQty(symbol: string): number;
  /** Open orders, filtered by agent and/or symbol (null = any). */
  openOrderCount(agentId: string | null, symbol: string | null): number;
  /** Last trade price and the time it was seen; NaN when none. */
  lastPrice(symbol: string): number;
  lastPriceTs(symbol: string): number;
  /**
   * 1-day VaR as a fraction of equity if the order (signed base qty) filled at the last price.
   * Needed only with `maxVar`; without it such a config rejects increasing orders (fails closed).
   */
  varAfter?(symbol: string, signedQty: number, confidence: number): number;
}

// A type alias, not an interface, so it fits the engine gate's `Record<string, unknown>` breach.
export type Breach = {
  /** The config field that said no (e.g. "maxPositionNotional"), or "killSwitch" / "marketData". */
  readonly limit: string;
  /** "global", "agent:<id>" or "symbol:<symbol>". */
  readonly scope: string;
  readonly limitValue: number | string;
  readonly attempted: number | string;
  readonly current: number | string;
  readonly message: string;
};

export type RiskResult = { readonly ok: true } | { readonly ok: false; readonly breach: Breach };

const OK: RiskResult = Object.freeze({ ok: true });
const HOUR_MS = 3_600_000;
/** 1 − 120/150 is 0.19999999999999996 in floats: reaching the drawdown limit exactly must count. */
const DD_EPS = 1e-12;

/** True when the fill takes |position| down without crossing zero. */
export function isReducing(before: number, after: number): boolean {
  return before > 0 ? after >= 0 && after < before : before < 0 ? after <= 0 && after > before : false;
}

/** The last N accepted-order times in a ring: "N in the past hour?" is one comparison. */
class TradeWindow {
  private readonly ring: Float64Array;
  private head = 0;
  private n = 0;
  constructor(readonly limit: number) {
    this.ring = new Float64Array(Math.max(1, limit));
  }
  add(ts: number): void {
    this.ring[this.head] = ts;
    this.head = (this.head + 1) % this.ring.length;
    if (this.n < this.ring.length) this.n++;
  }
  /** Would one more at `ts` exceed the limit? */
  full(ts: number): boolean {
    if (this.limit === 0) return true;
    if (this.n < this.limit) return false;
    return this.ring[this.head]! > ts - HOUR_MS; // head = oldest of the last `limit`
  }
  countSince(ts: number): number {
    let c = 0;
    for (let i = 0; i < this.n; i++) if (this.ring[i]! > ts - HOUR_MS) c++;
    return c;
  }
}

class EquityTracker {
  day = Number.NaN;
  dayStart = Number.NaN;
  peak = -Infinity;
  last = Number.NaN;
  mark(ts: number, equity: number): void {
    const day = Math.floor(ts / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      this.dayStart = equity;
    }
    if (equity > this.peak) this.peak = equity;
    this.last = equity;
  }
}

interface Scope {
  readonly name: string;
  readonly kind: 'global' | 'agent' | 'symbol';
  readonly key: string | null;
  /** Every limit key present (undefined when unset), in one order: one hidden class for all scopes. */
  readonly limits: Limits;
  readonly active: boolean;
  readonly trades: TradeWindow | null;
  readonly allowed: ReadonlySet<string> | null;
  /**
   * Latches: the UTC day this scope's daily loss limit was hit (it stays hit for the rest of that
   * day even if equity recovers), and whether it is in drawdown breach (a trip happens on entering
   * the breach, not on every bar while in it).
   */
  lossDay: number;
  inDrawdown: boolean;
}

interface Resolved {
  readonly scopes: readonly Scope[];
  readonly checks: readonly string[];
}

const LIMIT_KEYS = Object.keys(limitFields) as (keyof Limits)[];

export interface RiskEngineOptions {
  /** Checked first on every order; tripped by hard limits in `onMark`. */
  readonly killSwitch?: KillSwitch;
}

export class RiskEngine {
  readonly config: RiskConfig;
  readonly policy: KillSwitchPolicy;
  private readonly killSwitch: KillSwitch | undefined;
  private readonly global: Scope;
  private readonly agentScopes = new Map<string, Scope>();
  private readonly symbolScopes = new Map<string, Scope>();
  private readonly resolved = new Map<string, Map<string, Resolved>>();
  private readonly globalEquity = new EquityTracker();
  private readonly agentEquity = new Map<string, EquityTracker>();
  /** The last (agent, symbol) resolved: orders come in runs from one strategy and symbol. */
  private lastAgent = '';
  private lastSymbol = '';
  private lastResolved: Resolved | null = null;

  constructor(config: RiskConfig, opts: RiskEngineOptions = {}) {
    this.config = config;
    this.policy = config.killSwitch ?? KillSwitchPolicySchema.parse({});
    this.killSwitch = opts.killSwitch;
    const { agents, symbols, killSwitch: _k, ...globalLimits } = config;
    this.global = makeScope('global', 'global', null, globalLimits);
    for (const [id, l] of Object.entries(agents ?? {})) this.agentScopes.set(id, makeScope(`agent:${id}`, 'agent', id, l));
    for (const [s, l] of Object.entries(symbols ?? {})) this.symbolScopes.set(s, makeScope(`symbol:${s}`, 'symbol', s, l));
  }

  /** Validate an object or YAML/JSON text into an engine. */
  static from(config: unknown, opts: RiskEngineOptions = {}): RiskEngine {
    return new RiskEngine(typeof config === 'string' ? parseRiskConfigText(config) : RiskConfigSchema.parse(config), opts);
  }

  private resolve(agentId: string, symbol: string): Resolved {
    if (agentId === this.lastAgent && symbol === this.lastSymbol && this.lastResolved !== null) return this.lastResolved;
    let bySym = this.resolved.get(agentId);
    if (!bySym) this.resolved.set(agentId, (bySym = new Map()));
    let r = bySym.get(symbol);
    if (!r) {
      const scopes = [this.global, this.agentScopes.get(agentId), this.symbolScopes.get(symbol)].filter(
        (s): s is Scope => s !== undefined && s.active,
      );
      const checks: string[] = this.killSwitch ? ['killSwitch'] : [];
      for (const s of scopes) for (const k of LIMIT_KEYS) if (s.limits[k] !== undefined && k !== 'varConfidence') checks.push(`${s.name}.${k}`);
      r = { scopes, checks };
      bySym.set(symbol, r);
    }
    this.lastAgent = agentId;
    this.lastSymbol = symbol;
    return (this.lastResolved = r);
  }

  /** The checks an order of this agent in this symbol goes through (for the journal's accepted entry). */
  appliedChecks(agentId: string, symbol: string): readonly string[] {
    return this.resolve(agentId, symbol).checks;
  }

  check(order: RiskOrder, view: RiskView): RiskResult {
    const sym = order.symbol;
    const buy = order.side === 'buy';
    const pos = view.positionQty(sym);
    const before = buy ? pos + view.openBuyQty(sym) : pos - view.openSellQty(sym);
    const after = before + (buy ? order.amount : -order.amount);
    // The broker contract caps a reduce-only order at the position, so it can never add exposure
    // (bracket exits are placed before their entry fills, from a flat position).
    const reducing = order.reduceOnly === true || isReducing(before, after);
    const ks = this.killSwitch;
    if (ks !== undefined && !ks.allows(order, reducing)) return this.killBreach(order, reducing);
    const { scopes } = this.resolve(order.agentId, sym);
    for (let i = 0; i < scopes.length; i++) {
      const b = this.checkScope(scopes[i]!, order, view, before, after, reducing);
      if (b !== null) return { ok: false, breach: b };
    }
    return OK;
  }

  private checkScope(s: Scope, o: RiskOrder, view: RiskView, before: number, after: number, reducing: boolean): Breach | null {
    const L = s.limits;
    const sym = o.symbol;
    const last = view.lastPrice(sym);
    const ordPrice = o.price ?? o.stopPrice;

    if (L.priceBandPct !== undefined && ordPrice !== undefined) {
      if (!(last > 0)) return noPrice(s, 'priceBandPct', sym);
      // Compared as a price distance so that exactly ±N% is inside the band despite float division.
      if (Math.abs(ordPrice - last) > (last * L.priceBandPct) / 100) {
        const dev = Math.abs(ordPrice / last - 1) * 100;
        return mk('priceBandPct', s, L.priceBandPct, ordPrice, last,
          `order price ${ordPrice} is ${round(dev)}% from the last trade ${last}; the band is ±${L.priceBandPct}%`);
      }
    }
    if (L.maxOpenOrders !== undefined) {
      const open = view.openOrderCount(s.kind === 'agent' ? o.agentId : null, s.kind === 'symbol' ? sym : null);
      if (open + 1 > L.maxOpenOrders) {
        return mk('maxOpenOrders', s, L.maxOpenOrders, open + 1, open, `${open} open orders already; the limit is ${L.maxOpenOrders}`);
      }
    }
    if (reducing) return null;

    if (s.allowed !== null && !s.allowed.has(sym)) {
      return mk('allowedSymbols', s, [...s.allowed].join(','), sym, sym, `${sym} is not an allowed symbol (${[...s.allowed].join(', ')})`);
    }
    if (L.longOnly === true && after < 0) {
      return mk('longOnly', s, 0, after, before, `long-only: the order would leave a short position of ${after} ${sym}`);
    }
    if (L.maxDataAgeMs !== undefined) {
      const age = view.ts - view.lastPriceTs(sym);
      if (!(age <= L.maxDataAgeMs)) {
        return mk('maxDataAgeMs', s, L.maxDataAgeMs, view.ts, Number.isFinite(age) ? age : 'none',
          Number.isFinite(age) ? `market data for ${sym} is ${age} ms old; the limit is ${L.maxDataAgeMs} ms` : `no market data for ${sym}`);
      }
    }
    const px = ordPrice ?? last;
    if (L.maxOrderNotional !== undefined) {
      if (!(px > 0)) return noPrice(s, 'maxOrderNotional', sym);
      const n = o.amount * px;
      if (n > L.maxOrderNotional) {
        return mk('maxOrderNotional', s, L.maxOrderNotional, n, 'n/a', `order notional ${round(n)} exceeds ${L.maxOrderNotional}`);
      }
    }
    if (L.maxPositionQty !== undefined && Math.abs(after) > L.maxPositionQty) {
      return mk('maxPositionQty', s, L.maxPositionQty, Math.abs(after), Math.abs(before),
        `position in ${sym} would reach ${Math.abs(after)} (open orders included); the limit is ${L.maxPositionQty}`);
    }
    if (L.maxPositionNotional !== undefined) {
      // The higher of last and order price: a limit buy above the last trade may fill up there.
      const mark = ordPrice !== undefined && !(ordPrice <= last) ? ordPrice : last;
      if (!(mark > 0)) return noPrice(s, 'maxPositionNotional', sym);
      const n = Math.abs(after) * mark;
      if (n > L.maxPositionNotional) {
        return mk('maxPositionNotional', s, L.maxPositionNotional, n, Math.abs(before) * mark,
          `position in ${sym} would be worth ${round(n)} (open orders included); the limit is ${L.maxPositionNotional}`);
      }
    }
    if (s.trades !== null && s.trades.full(view.ts)) {
      const c = s.trades.countSince(view.ts);
      return mk('maxTradesPerHour', s, s.trades.limit, c + 1, c, `${c} orders in the past hour; the limit is ${s.trades.limit}`);
    }
    if (L.maxDailyLoss !== undefined || L.maxDrawdown !== undefined) {
      const t = this.trackerFor(s);
      const eq = t === this.globalEquity ? view.equity : t.last;
      if (L.maxDailyLoss !== undefined) {
        const pnl = eq - t.dayStart;
        if (pnl <= -L.maxDailyLoss || s.lossDay === t.day) {
          return mk('maxDailyLoss', s, -L.maxDailyLoss, 'risk-increasing order', round(pnl),
            `daily loss limit ${-L.maxDailyLoss} reached today (P&L ${round(pnl)}); only reducing orders until the next UTC day`);
        }
      }
      if (L.maxDrawdown !== undefined) {
        const dd = drawdown(eq, t.peak);
        if (dd >= L.maxDrawdown - DD_EPS) {
          return mk('maxDrawdown', s, -L.maxDrawdown, 'risk-increasing order', -round(dd),
            `drawdown ${round(dd * 100)}% from peak ${round(t.peak)} reached the limit ${L.maxDrawdown * 100}%`);
        }
      }
    }
    if (L.maxVar !== undefined) {
      const conf = L.varConfidence ?? 0.99;
      if (view.varAfter === undefined) {
        return mk('maxVar', s, L.maxVar, 'unknown', 'unknown', 'maxVar is set but the engine provides no VaR estimate');
      }
      const v = view.varAfter(sym, after - before, conf);
      if (v !== v) return mk('maxVar', s, L.maxVar, 'unknown', 'unknown', 'no VaR estimate yet (too little price history)');
      if (!(v <= L.maxVar)) {
        return mk('maxVar', s, L.maxVar, v, 'n/a', `1-day ${conf * 100}% VaR would be ${round(v * 100)}% of equity; the limit is ${L.maxVar * 100}%`);
      }
    }
    return null;
  }

  private trackerFor(s: Scope): EquityTracker {
    return s.kind === 'agent' ? (this.agentEquity.get(s.key!) ?? this.globalEquity) : this.globalEquity;
  }

  private killBreach(o: RiskOrder, reducing: boolean): RiskResult {
    const ks = this.killSwitch!;
    const g = ks.scopeStatus({ scope: 'global' }).state;
    const state = ks.effective(o.agentId);
    const scope = g === state ? 'global' : `agent:${o.agentId}`;
    return {
      ok: false,
      breach: mk('killSwitch', { name: scope }, state, reducing ? 'reduce' : 'increase', state,
        state === 'HALTED' ? `kill switch HALTED (${scope}): no orders accepted` : `kill switch REDUCING (${scope}): only position-reducing orders accepted`),
    };
  }

  onOrderAccepted(order: { readonly agentId: string; readonly symbol: string }, ts: number): void {
    const { scopes } = this.resolve(order.agentId, order.symbol);
    for (let i = 0; i < scopes.length; i++) scopes[i]!.trades?.add(ts);
  }

  /** Equity mark; see the header. Portfolio-level without `agentId`. */
  onMark(ts: number, equity: number, agentId?: string): void {
    if (agentId === undefined) {
      this.globalEquity.mark(ts, equity);
      this.hardLimits(this.global, this.globalEquity, ts);
      for (const s of this.agentScopes.values()) if (!this.agentEquity.has(s.key!)) this.hardLimits(s, this.globalEquity, ts);
    } else {
      let t = this.agentEquity.get(agentId);
      if (!t) this.agentEquity.set(agentId, (t = new EquityTracker()));
      t.mark(ts, equity);
      const s = this.agentScopes.get(agentId);
      if (s) this.hardLimits(s, t, ts);
    }
  }

  private hardLimits(s: Scope, t: EquityTracker, ts: number): void {
    const L = s.limits;
    if (L.maxDailyLoss !== undefined && t.last - t.dayStart <= -L.maxDailyLoss) {
      if (s.lossDay !== t.day) {
        s.lossDay = t.day;
        this.autoTrip(s, this.policy.onDailyLoss, 'maxDailyLoss', ts,
          `daily loss ${round(t.last - t.dayStart)} reached the limit ${-L.maxDailyLoss}`);
      }
    }
    if (L.maxDrawdown !== undefined) {
      const dd = drawdown(t.last, t.peak);
      if (dd >= L.maxDrawdown - DD_EPS) {
        if (!s.inDrawdown) {
          s.inDrawdown = true;
          this.autoTrip(s, this.policy.onDrawdown, 'maxDrawdown', ts,
            `drawdown ${round(dd * 100)}% from peak ${round(t.peak)} reached the limit ${L.maxDrawdown * 100}%`);
        }
      } else s.inDrawdown = false;
    }
  }

  private autoTrip(s: Scope, to: KillSwitchPolicy['onDrawdown'], limit: string, ts: number, reason: string): void {
    if (!this.killSwitch || to === 'none') return;
    const halt = to === 'HALTED';
    this.killSwitch.trip(s.kind === 'agent' ? { scope: 'agent', agentId: s.key! } : { scope: 'global' }, to, {
      by: 'risk-engine',
      reason: `${s.name} ${reason}`,
      ts,
      auto: true,
      limit,
      cancelAll: halt && this.policy.cancelAllOnHalt,
      flatten: halt && this.policy.flattenOnHalt,
    });
  }
}

function makeScope(name: string, kind: Scope['kind'], key: string | null, limits: Limits): Scope {
  const all: Record<string, unknown> = {};
  for (const k of LIMIT_KEYS) all[k] = limits[k];
  const clean = all as Limits;
  return {
    name,
    kind,
    key,
    limits: clean,
    active: LIMIT_KEYS.some((k) => limits[k] !== undefined),
    trades: clean.maxTradesPerHour !== undefined ? new TradeWindow(clean.maxTradesPerHour) : null,
    allowed: clean.allowedSymbols ? new Set(clean.allowedSymbols) : null,
    lossDay: Number.NaN,
    inDrawdown: false,
  };
}

function drawdown(equity: number, peak: number): number {
  return peak > 0 && equity < peak ? 1 - equity / peak : 0;
}

function mk(limit: string, s: { name: string }, limitValue: number | string, attempted: number | string, current: number | string, message: string): Breach {
  return { limit, scope: s.name, limitValue, attempted, current, message: `${s.name} ${limit}: ${message}` };
}

function noPrice(s: Scope, limit: string, sym: string): Breach {
  return mk('marketData', s, limit, 'none', 'none', `no last price for ${sym}, so ${limit} cannot be checked`);
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

// ---------------------------------------------------------------------------------------------
// The engine's order gate (engine/backtest.ts OrderGate) over a RiskEngine.

/** RiskView over the engine's EngineView; one instance, re-pointed per call (no allocation). */
class EngineRiskView implements RiskView {
  engine!: EngineView;
  private readonly w: Float64Array;
  private readonly z = new Map<number, number>();
  constructor(private readonly cov: RollingCovariance | undefined) {
    this.w = new Float64Array(cov?.symbols.length ?? 0);
    if (cov === undefined) this.varAfter = undefined;
  }
  /** Parametric 1-day VaR / equity after the order, with the rolling covariance; NaN without one. */
  varAfter?(symbol: string, signedQty: number, confidence: number): number {
    const cov = this.cov!.covariance();
    if (cov === null) return Number.NaN;
    const syms = this.cov!.symbols;
    const w = this.w;
    for (let i = 0; i < syms.length; i++) {
      const s = syms[i]!;
      w[i] = (this.engine.qty(s) + (s === symbol ? signedQty : 0)) * this.engine.lastPrice(s);
    }
    let z = this.z.get(confidence);
    if (z === undefined) this.z.set(confidence, (z = normalInv(confidence)));
    return (z * portfolioSigma(w, cov)) / this.engine.equity();
  }
  get ts(): number {
    return this.engine.ts;
  }
  get equity(): number {
    return this.engine.equity();
  }
  positionQty(symbol: string): number {
    return this.engine.qty(symbol);
  }
  openBuyQty(symbol: string): number {
    return this.engine.openQty(symbol, 'buy');
  }
  openSellQty(symbol: string): number {
    return this.engine.openQty(symbol, 'sell');
  }
  openOrderCount(agentId: string | null): number {
    return this.engine.openOrderCount(agentId ?? undefined);
  }
  lastPrice(symbol: string): number {
    return this.engine.lastPrice(symbol);
  }
  lastPriceTs(symbol: string): number {
    return this.engine.lastDataTs(symbol);
  }
}

/**
 * Plug a RiskEngine into the backtest engine: `{ gate: riskGate(risk) }`. An order that passes
 * counts toward the hourly limit at once; every mark feeds daily-loss and drawdown tracking.
 * Resting orders count toward position limits through the view's `openQty(symbol, side)`;
 * per-symbol open-order counts fall back to the agent's count.
 * `maxVar` needs `covariance` (a RollingCovariance over the run's symbols): VaR is then the
 * parametric 1-day figure of all positions plus the order; with too little history (or without
 * it) increasing orders are refused, since the limit cannot be shown to hold.
 */
export function riskGate(risk: RiskEngine, opts: { readonly covariance?: RollingCovariance } = {}): OrderGate {
  const cov = opts.covariance;
  const view = new EngineRiskView(cov);
  return {
    check(order, engine) {
      view.engine = engine;
      const r = risk.check(order, view);
      if (r.ok) risk.onOrderAccepted(order, engine.ts);
      return r;
    },
    onMark(ts, engine) {
      cov?.update(ts, (s) => engine.lastPrice(s));
      risk.onMark(ts, engine.equity());
    },
  };
}
