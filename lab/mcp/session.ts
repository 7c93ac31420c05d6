import { z } from 'zod';
import { Engine, type JournalSink } from '../../engine/backtest.ts';
import { InputError, describeIssues } from '../../engine/errors.ts';
import { Journal, journalKillSwitch, type JournalEntry } from '../../engine/journal.ts';
import { KillSwitch, type KillSwitchStatus } from '../../engine/killswitch.ts';
import { RiskConfigSchema, RiskEngine, riskGate, type RiskConfig } from '../../engine/risk.ts';
import type { BrokerConfig } from '../../engine/broker.ts';
import type { DecisionRecord } from '../../engine/decision.ts';
import type { Fill, OrderType } from '../../engine/orders.ts';
import type { StrategyContext } from '../../engine/strategy.ts';
import type { BarColumns } from '../../engine/types.ts';
import type { SentimentReading } from '../../engine/agents/types.ts';
import { timeframeToMs } from '../../engine/timeframe.ts';
import type { Store } from '../../datasets/store.ts';
import { pickExchange } from '../backtest.ts';
import { lastClosedBar } from '../agents/scoring.ts';
import { analyzeSentiment } from '../agents/sentiment.ts';
import { InProcessClaims, type Claim, type ClaimStore } from '../../live/claims.ts';
import { placeWithClaim } from '../../live/claims-order.ts';
import { DecisionListing, type DecisionFilter, type ListedDecision } from './decision-listing.ts';
import type { EventBus } from '../../live/bus/bus.ts';
import type { BusEvent } from '../../live/bus/events.ts';

/**
 * One MCP trading session: what the tools read and where place_order trades.
 *
 * - A replay session has a replay clock. Every read is fenced at it: a bar is visible once it has
 *   closed (open time + timeframe ≤ clock), a sentiment reading once it is stamped ≤ clock, and a
 *   backtest only sees bars that closed by then. A market order is decided at the clock and fills
 *   at the next bar's open; the clock then moves to that bar's close (never past `to`).
 * - A paper session's clock is the wall clock; orders fill at once at the last stored close.
 * There is no live route: every fill is simulated.
 *
 * Each agent (the `agentId` a tool call names) trades its own paper account: an engine with the
 * session's cash, the risk engine (one per account, same config) and ONE kill switch shared by all
 * accounts. Orders that open or add to a position go through the claim-aware path first.
 */
export type SessionClock = { readonly kind: 'replay'; readonly at: number; readonly to?: number } | { readonly kind: 'paper' };

/** A journal the session writes: the in-memory Journal or the durable FileJournal (its append returns a promise). */
export interface SessionJournal extends JournalSink {
  entries(): readonly JournalEntry[];
}

/** Default: lab/agents/sentiment.ts over the store's Fear & Greed and headline tables. */
export type SentimentProvider = (symbol: string, at: number) => SentimentReading | null | Promise<SentimentReading | null>;

export interface SessionOptions {
  readonly store: Store;
  readonly clock: SessionClock;
  /** The bars orders fill on (default 1h). */
  readonly timeframe?: string;
  readonly exchange?: string;
  readonly cash?: number;
  readonly risk?: unknown;
  readonly journal?: SessionJournal;
  readonly claims?: ClaimStore;
  /** Wall-clock life of a claim (default 15 min), renewed whenever its agent calls place_order or get_portfolio. */
  readonly claimTtlMs?: number;
  readonly sentiment?: SentimentProvider;
  readonly broker?: Partial<BrokerConfig>;
  /**
   * Every journal entry is also published here (after it is journaled), so agents in other
   * processes see the session's decisions, orders and fills. A bus failure never fails an order.
   */
  readonly bus?: EventBus;
  readonly busSource?: string;
  readonly onBusError?: (err: unknown) => void;
  /** Wall clock for paper sessions (tests inject one). */
  readonly now?: () => number;
}

export interface OrderInput {
  readonly agentId: string;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly type: 'market' | 'limit';
  /** Base quantity; or `notional` in quote currency. */
  readonly amount?: number;
  readonly notional?: number;
  readonly price?: number;
  readonly reduceOnly?: boolean;
  readonly reasoning?: string;
  readonly confidence?: number;
}

export interface OrderResult {
  readonly status: 'filled' | 'partially_filled' | 'open' | 'rejected' | 'cancelled';
  readonly orderId: string | null;
  readonly decisionId: string | null;
  readonly agentId: string;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly amount: number;
  readonly price?: number;
  readonly fee?: number;
  /** For rejections: the limit that said no ("maxOrderNotional", "claim", "killSwitch"…) and why. */
  readonly limit?: string;
  readonly message?: string;
  readonly clock: number;
}

interface Account {
  readonly engine: Engine;
  readonly ctx: StrategyContext<unknown>;
  /** Index of the last bar fed, per symbol. */
  readonly fed: Map<string, number>;
  readonly claims: Map<string, Claim>;
}

export class TradingSession {
  readonly timeframe: string;
  readonly tfMs: number;
  readonly killSwitch: KillSwitch;
  readonly journal: SessionJournal;
  readonly riskConfig: RiskConfig;
  private clockAt: number;
  private readonly accounts = new Map<string, Account>();
  private readonly bars = new Map<string, Promise<BarColumns>>();
  private readonly claims: ClaimStore;
  private readonly pending: Promise<unknown>[] = [];
  private rejectSeq = 0;
  /**
   * Fees of the fills journaled while a place_order runs, by order id, one map per call in flight:
   * the order it places is new, so its fills so far are all in its map. What it reports is read
   * there, not by scanning the journal (O(journal) per order), which may also hold a reopened
   * journal's earlier sessions, whose order ids the fresh accounts repeat.
   */
  private readonly callFees = new Set<Map<string, number>>();
  /**
   * get_decisions' index, caught up from the journal's entries on each call rather than fed by the
   * sink: a reopened journal also holds earlier sessions' entries, which the sink never sees.
   */
  private readonly listing = new DecisionListing();
  /** Tool calls run one at a time: an order moves the shared clock. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly opts: SessionOptions) {
    this.timeframe = opts.timeframe ?? '1h';
    try {
      this.tfMs = timeframeToMs(this.timeframe);
    } catch (err) {
      throw new InputError(`--timeframe: ${(err as Error).message}`);
    }
    const parsed = RiskConfigSchema.safeParse(opts.risk ?? {});
    if (!parsed.success) throw new InputError(`risk config: ${describeIssues(parsed.error, '(config)')}`);
    this.riskConfig = parsed.data;
    this.journal = opts.journal ?? new Journal();
    const sink = this.sink();
    this.killSwitch = new KillSwitch({ onTransition: journalKillSwitch(sink) });
    this.clockAt = opts.clock.kind === 'replay' ? opts.clock.at : this.wallClock();
    // Claim TTLs guard against agents that died holding one: a wall-clock matter even in a replay.
    this.claims = opts.claims ?? new InProcessClaims(opts.now);
  }

  get mode(): 'replay' | 'paper' {
    return this.opts.clock.kind;
  }

  /** The replay clock (epoch ms); the wall clock in a paper session. */
  get clock(): number {
    return this.opts.clock.kind === 'replay' ? this.clockAt : this.wallClock();
  }

  private wallClock(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Runs tool calls one after another (the clock and the accounts are shared). */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Journal appends; a durable journal's pending writes are awaited before a tool answers. */
  private sink(): JournalSink {
    return {
      append: (type, payload, ts) => {
        if (type === 'fill') {
          const f = payload as Fill;
          for (const fees of this.callFees) fees.set(f.orderId, (fees.get(f.orderId) ?? 0) + f.fee);
        }
        const r = (this.journal.append as (t: string, p: unknown, ts: number) => unknown)(type, payload, ts);
        if (r instanceof Promise) this.pending.push(r);
        const bus = this.opts.bus;
        if (bus !== undefined) {
          const publish = (e: JournalEntry): Promise<unknown> =>
            bus.publish({ type: e.type, ts: e.ts, source: this.opts.busSource ?? 'mcp', payload: e.payload } as BusEvent).catch((err: unknown) => this.opts.onBusError?.(err));
          this.pending.push(r instanceof Promise ? r.then((e: JournalEntry) => publish(e)) : publish(r as JournalEntry));
        }
        return r;
      },
    };
  }

  async flush(): Promise<void> {
    while (this.pending.length > 0) await Promise.all(this.pending.splice(0));
  }

  // ---- market data ------------------------------------------------------------------------

  private async series(symbol: string, timeframe = this.timeframe, exchange = this.opts.exchange): Promise<BarColumns> {
    const key = `${exchange ?? ''}|${symbol}|${timeframe}`;
    let p = this.bars.get(key);
    if (!p) {
      p = (async () => {
        const ex = exchange ?? (await pickExchange(this.opts.store, symbol, timeframe));
        const to = this.opts.clock.kind === 'replay' && this.opts.clock.to !== undefined ? { to: this.opts.clock.to } : {};
        return (await this.opts.store.loadBars({ exchange: ex, symbol, timeframe }, to, { cache: false })).columns;
      })();
      this.bars.set(key, p);
      p.catch(() => this.bars.delete(key));
    }
    return p;
  }

  /** The last `limit` bars that closed by the clock. */
  async marketData(symbol: string, opts: { timeframe?: string; exchange?: string; limit: number }): Promise<{ timeframe: string; bars: { ts: number; open: number; high: number; low: number; close: number; volume: number }[] }> {
    const timeframe = opts.timeframe ?? this.timeframe;
    const c = await this.series(symbol, timeframe, opts.exchange);
    const last = lastClosedBar(c, this.clock);
    const bars = [];
    for (let i = Math.max(0, last - opts.limit + 1); i <= last; i++) {
      bars.push({ ts: c.ts[i]!, open: c.open[i]!, high: c.high[i]!, low: c.low[i]!, close: c.close[i]!, volume: c.volume[i]! });
    }
    return { timeframe, bars };
  }

  async sentiment(symbol: string): Promise<SentimentReading | null> {
    const at = this.clock;
    const provider = this.opts.sentiment ?? ((s: string, t: number) => analyzeSentiment(this.opts.store, s, t));
    const r = (await provider(symbol, at)) ?? null;
    // Fenced here too: a provider that leaks the future is caught at the boundary, not trusted.
    return r !== null && r.ts <= at ? r : null;
  }

  // ---- accounts and orders ----------------------------------------------------------------

  private account(agentId: string): Account {
    let a = this.accounts.get(agentId);
    if (a) return a;
    let ctx: StrategyContext<unknown> | undefined;
    const engine = new Engine(
      {
        // The tools drive this account; the strategy only hands its context over.
        strategy: { name: 'mcp', params: z.object({}), init: (c: StrategyContext<unknown>) => void (ctx = c) },
        agentId,
        cash: this.opts.cash ?? 10_000,
        broker: { ...(this.mode === 'paper' ? { fillTiming: 'close' as const } : {}), ...this.opts.broker },
        journal: this.sink(),
        gate: riskGate(new RiskEngine(this.riskConfig, { killSwitch: this.killSwitch })),
        killSwitch: this.killSwitch,
        provenance: { source: `mcp:${this.mode}` },
      },
      [],
    );
    engine.start(this.clock);
    a = { engine, ctx: ctx!, fed: new Map(), claims: new Map() };
    this.accounts.set(agentId, a);
    return a;
  }

  /** Feed an account every bar of its symbols that closed by `at`, in time order. */
  private async catchUp(a: Account, at: number, extra?: string): Promise<void> {
    const symbols = new Set(a.fed.keys());
    if (extra !== undefined) symbols.add(extra);
    const due: { symbol: string; c: BarColumns; i: number }[] = [];
    for (const s of symbols) {
      const c = await this.series(s);
      const last = lastClosedBar(c, at);
      // A symbol new to the account starts at its latest closed bar (that is its first price).
      const from = a.fed.has(s) ? a.fed.get(s)! + 1 : Math.max(0, last);
      for (let i = from; i <= last; i++) due.push({ symbol: s, c, i });
      if (last >= 0) a.fed.set(s, Math.max(a.fed.get(s) ?? -1, last));
    }
    due.sort((x, y) => x.c.ts[x.i]! - y.c.ts[y.i]! || (x.symbol < y.symbol ? -1 : 1));
    for (const d of due) a.engine.bar(d.symbol, d.c.ts[d.i]!, d.c.timeframeMs, d.c.open[d.i]!, d.c.high[d.i]!, d.c.low[d.i]!, d.c.close[d.i]!, d.c.volume[d.i]!);
  }

  private async moveClock(to: number): Promise<void> {
    this.clockAt = to;
    for (const a of this.accounts.values()) await this.catchUp(a, to);
  }

  async placeOrder(o: OrderInput): Promise<OrderResult> {
    const c = await this.series(o.symbol);
    const at = this.clock;
    const last = lastClosedBar(c, at);
    if (last < 0) throw new InputError(`no ${o.symbol} ${this.timeframe} bar has closed by ${new Date(at).toISOString()}: nothing to price the order at`);
    if ((o.amount === undefined) === (o.notional === undefined)) throw new InputError('give exactly one of amount (base units) or notional (quote currency)');
    if (o.type === 'limit' && o.price === undefined) throw new InputError('a limit order needs a price');
    const fees = new Map<string, number>();
    this.callFees.add(fees);
    try {
      return await this.place(o, c, at, last, fees);
    } finally {
      this.callFees.delete(fees);
    }
  }

  private async place(o: OrderInput, c: BarColumns, at: number, last: number, fees: ReadonlyMap<string, number>): Promise<OrderResult> {
    const a = this.account(o.agentId);
    await this.renewClaims(a, o.agentId);
    await this.catchUp(a, at, o.symbol);
    const qty = a.engine.qty(o.symbol);
    const opening = o.reduceOnly !== true && (o.side === 'buy' ? qty >= 0 : qty <= 0);
    const size = o.amount ?? { kind: 'notional' as const, notional: o.notional! };
    const refPrice = o.price ?? c.close[last]!;
    const placed = await placeWithClaim(
      this.claims,
      this.sink(),
      {
        id: `${o.agentId}-claim-${++this.rejectSeq}`, agentId: o.agentId, symbol: o.symbol, side: o.side, type: o.type as OrderType, amount: o.amount ?? o.notional! / refPrice, opening, ts: a.engine.ts,
        decision: { id: `${o.agentId}-claim-D${this.rejectSeq}`, ts: a.engine.ts, agentId: o.agentId, symbol: o.symbol, action: o.side, factors: { via: 'mcp' }, weights: {}, confidence: o.confidence ?? 50, reasoning: o.reasoning ?? '' },
      },
      this.claimTtl,
      () => {
        const reason = { reasoning: o.reasoning ?? '', confidence: o.confidence ?? 50, factors: { via: 'mcp' } };
        const opts = { size, type: o.type as OrderType, ...(o.price !== undefined ? { price: o.price } : {}), ...(o.reduceOnly ? { reduceOnly: true } : {}), reason };
        const before = a.ctx.decisions.length;
        const id = o.side === 'buy' ? a.ctx.buy(o.symbol, opts) : a.ctx.sell(o.symbol, opts);
        const decision = a.ctx.decisions.length > before ? a.ctx.decisions[a.ctx.decisions.length - 1]! : null;
        return { id, decision };
      },
    );
    if (!placed.ok) {
      await this.flush();
      return { status: 'rejected', orderId: null, decisionId: `${o.agentId}-claim-D${this.rejectSeq}`, agentId: o.agentId, symbol: o.symbol, side: o.side, amount: o.amount ?? o.notional! / refPrice, limit: 'claim', message: placed.breach.message, clock: this.clock };
    }
    if (placed.claim) a.claims.set(`${o.symbol}|${o.side}`, placed.claim);
    const { id, decision } = placed.result;
    if (id !== null && this.opts.clock.kind === 'replay') {
      // Decided at the clock; the next bar's open is where it can first fill.
      const next = last + 1;
      const close = next < c.length ? c.ts[next]! + c.timeframeMs : Infinity;
      if (close <= (this.opts.clock.to ?? Infinity)) await this.moveClock(close);
    }
    await this.releaseFlat(a);
    await this.flush();
    return this.describe(o, id, decision, fees);
  }

  private get claimTtl(): number {
    return this.opts.claimTtlMs ?? 15 * 60_000;
  }

  /** The agent is alive: extend the claims it holds. */
  private async renewClaims(a: Account, agentId: string): Promise<void> {
    for (const c of a.claims.values()) await this.claims.claim({ symbol: c.symbol, side: c.side }, agentId, this.claimTtl);
  }

  /** A position back at zero needs no claim: let the other agents have the trade. */
  private async releaseFlat(a: Account): Promise<void> {
    for (const [k, claim] of a.claims) {
      if (a.engine.qty(claim.symbol) === 0 && a.engine.openOrderCount() === 0) {
        await this.claims.release(claim);
        a.claims.delete(k);
      }
    }
  }

  private describe(o: OrderInput, id: string | null, d: DecisionRecord | null, fees: ReadonlyMap<string, number>): OrderResult {
    const base = { orderId: id, decisionId: d?.id ?? null, agentId: o.agentId, symbol: o.symbol, side: o.side, clock: this.clock };
    const out = d?.outcome;
    const amount = o.amount ?? 0;
    if (out === undefined) {
      // Nothing recorded yet: the order rests (or the size rounded to nothing: no decision at all).
      if (id === null) return { ...base, status: 'rejected', amount, limit: 'size', message: 'the order size rounds to zero at the market precision' };
      return { ...base, status: 'open', amount: this.accounts.get(o.agentId)!.engine.broker.order(id)?.amount ?? amount };
    }
    switch (out.status) {
      case 'rejected':
        return { ...base, status: 'rejected', amount, limit: out.limit, message: out.message };
      case 'filled':
      case 'partially_filled': {
        const fee = id !== null ? (fees.get(id) ?? 0) : 0;
        return { ...base, status: out.status, amount: out.amount, price: out.price, fee };
      }
      default:
        return { ...base, status: 'cancelled', amount };
    }
  }

  /** The agent's paper account marked at the clock (an agent that never traded has the starting cash). */
  async portfolio(agentId: string): Promise<{ cash: number; equity: number; realizedPnl: number; fees: number; positions: { symbol: string; qty: number; avgPrice: number; lastPrice: number; unrealizedPnl: number }[]; openOrders: { id: string; symbol: string; side: string; type: string; amount: number; filled: number; price: number | null }[] }> {
    const a = this.accounts.get(agentId);
    if (!a) return { cash: this.opts.cash ?? 10_000, equity: this.opts.cash ?? 10_000, realizedPnl: 0, fees: 0, positions: [], openOrders: [] };
    await this.renewClaims(a, agentId);
    await this.catchUp(a, this.clock);
    const snap = a.engine.portfolio.snapshot();
    return {
      cash: snap.cash,
      equity: a.engine.equity(),
      realizedPnl: snap.realizedPnl,
      fees: snap.fees,
      positions: snap.positions.filter((p) => p.qty !== 0).map((p) => ({ symbol: p.symbol, qty: p.qty, avgPrice: p.avgPrice, lastPrice: p.lastPrice, unrealizedPnl: (p.lastPrice - p.avgPrice) * p.qty })),
      openOrders: a.engine.broker.openOrders().map((x) => ({ id: x.id, symbol: x.symbol, side: x.side, type: x.type, amount: x.amount, filled: x.filled, price: x.price ?? null })),
    };
  }

  /** Journaled decisions (newest last) with what became of their orders. */
  decisions(filter: DecisionFilter): ListedDecision[] {
    this.listing.catchUp(this.journal.entries());
    return this.listing.select(this.clock, filter);
  }

  killSwitchStatus(): KillSwitchStatus {
    return this.killSwitch.status();
  }

  /** The last bar open time a backtest may use so that every bar it sees has closed by the clock. */
  backtestBound(timeframe: string): number {
    return this.clock - timeframeToMs(timeframe) + 1;
  }

  async close(): Promise<void> {
    await this.flush();
    if (!this.opts.claims) await this.claims.close();
  }
}
