import type { BarColumns, BarView, MarketEvent, MarketSpec } from './types.ts';
import { defaultMarket } from './types.ts';
import type { Fill, Order, OrderRequest, OrderType } from './orders.ts';
import type { DecisionAction, DecisionReason, DecisionRecord } from './decision.ts';
import type { AnyStrategy, BracketOptions, OrderOptions, PortfolioView, PositionView, SizeSpec, Sizing, StrategyContext } from './strategy.ts';
import { Portfolio, type LotMethod, type PortfolioSnapshot } from './portfolio.ts';
import { SimulatedBroker, defaultBrokerConfig, type BrokerConfig, type BrokerEvent, type SymbolBook } from './broker.ts';
import { createRng, type Rng } from './rng.ts';
import { roundAmount, roundPrice, checkMarketLimits } from './market.ts';
import { createIndicator, indicatorSpec, parseIndicatorParams } from './indicators/index.ts';
import type { IndicatorKernel } from './indicators/types.ts';
import { recycleColumns } from './indicators/column.ts';
import { columnarOrder, mergeStreams } from './merge.ts';
import { InputError, describeIssues } from './errors.ts';
import { FLATTEN_AGENT_ID, type KillScopeStatus, type KillSwitch } from './killswitch.ts';
import { canonicalJson, StreamHash } from './hash.ts';
import { DecisionLog, FillLog, OrderLog, grow, orderIdOf } from './run-log.ts';
import type { ClosedTrade } from './metrics.ts';

/**
 * The engine: a deterministic fold of market events through strategy → risk → broker → portfolio.
 * Both drivers (columnar bars, general events) call the same `bar()` step, so a strategy sees the
 * same sequence either way and the two paths give identical results.
 */

/** Where decisions, orders and fills are recorded (the audit journal implements it). */
export interface JournalSink {
  append(type: string, payload: unknown, ts: number): unknown;
}

/** A pre-trade check. The risk engine implements it; a rejection names the limit it hit. */
export interface OrderGate {
  check(order: GateOrder, view: EngineView): { ok: true } | { ok: false; breach: { limit: string; message: string } & Record<string, unknown> };
  /** Told about every fill and every bar close, to keep its counters. */
  onFill?(fill: Fill, view: EngineView): void;
  onMark?(ts: number, view: EngineView): void;
}

/** An order as the gate sees it: the request, who sends it, and a reference price. */
export interface GateOrder extends OrderRequest {
  readonly agentId: string;
  /** Limit/stop price, else the last close: what the notional limits are checked at. */
  readonly refPrice: number;
}

/** The engine state the gate may read; implemented by the engine without copying. */
export interface EngineView {
  readonly ts: number;
  readonly cash: number;
  equity(): number;
  qty(symbol: string): number;
  avgPrice(symbol: string): number;
  lastPrice(symbol: string): number;
  /** Time of the last market data seen for a symbol (a bar's close time). */
  lastDataTs(symbol: string): number;
  openOrderCount(agentId?: string): number;
  /** Unfilled quantity of open orders on one side of a symbol (position limits count them). */
  openQty(symbol: string, side: 'buy' | 'sell'): number;
}

export interface BacktestOptions {
  readonly strategy: AnyStrategy;
  /** Raw parameters; validated by the strategy's zod schema (bad ones → InputError). */
  readonly params?: Record<string, unknown>;
  readonly seed?: number;
  readonly cash?: number;
  readonly lotMethod?: LotMethod;
  readonly broker?: Partial<BrokerConfig>;
  readonly markets?: Readonly<Record<string, MarketSpec>>;
  readonly agentId?: string;
  readonly journal?: JournalSink;
  readonly gate?: OrderGate;
  /**
   * The kill switch the gate consults. The engine carries out what a HALT asks for: cancel the
   * open orders and/or flatten every position (reduce-only market orders from the kill switch).
   */
  readonly killSwitch?: KillSwitch;
  /** Recorded in the journal's run_start: what a result and a promotion are pinned to. */
  readonly provenance?: { readonly codeHash?: string; readonly datasetHash?: string; readonly source?: string };
}

export interface EquityCurve {
  /** Close time of each point; the first point is the start (first bar's open) at the starting cash. */
  readonly ts: Float64Array;
  readonly equity: Float64Array;
  /** Share of the points at which a position was open (the exposure metric). */
  readonly exposure: number;
}

export interface RunOutput {
  readonly strategy: string;
  readonly params: unknown;
  readonly seed: number;
  readonly startCash: number;
  readonly curve: EquityCurve;
  readonly trades: readonly ClosedTrade[];
  readonly fills: readonly Fill[];
  readonly decisions: readonly DecisionRecord[];
  readonly orders: readonly Order[];
  readonly final: PortfolioSnapshot;
  readonly tradedNotional: number;
  readonly barsProcessed: number;
  /** sha256 over the canonical encoding of everything above (curve by its bytes). */
  readonly resultHash: string;
}

class MutableBarView implements BarView {
  symbol = '';
  ts = 0;
  closeTs = 0;
  timeframeMs = 0;
  open = 0;
  high = 0;
  low = 0;
  close = 0;
  volume = 0;
  index = 0;
}

/** The request `place()` fills in for each order (see there). */
class OrderDraft implements OrderRequest {
  symbol = '';
  side: 'buy' | 'sell' = 'buy';
  type: OrderType = 'market';
  amount = 0;
  price: number | undefined = undefined;
  stopPrice: number | undefined = undefined;
  trailingAmount: number | undefined = undefined;
  trailingPercent: number | undefined = undefined;
  timeInForce: NonNullable<OrderRequest['timeInForce']> = 'GTC';
  reduceOnly = false;
  postOnly = false;
}

interface MutableColumns extends BarColumns {
  timeframeMs: number;
}

function oneRow(symbol: string): MutableColumns {
  const f = (): Float64Array => new Float64Array(1);
  return { symbol, timeframeMs: 0, length: 1, ts: f(), open: f(), high: f(), low: f(), close: f(), volume: f() };
}

interface IndicatorSlot {
  readonly name: string;
  readonly kind: string;
  readonly params: Readonly<Record<string, number>>;
  readonly outputs: readonly string[];
}

/** Per-symbol live state, indexed by the portfolio's symbol index. */
export class SymbolState {
  kernels: IndicatorKernel[] = [];
  /** Columnar path: indicator outputs precomputed over the whole series, [slot][output][row]. */
  batch: Float64Array[][] | null = null;
  /** A one-row column set the event path writes each bar into, so both paths share one step. */
  readonly scratch: MutableColumns;
  /**
   * Every indicator output as a column, in declaration order (the engine's `valueIx` and `outputIx` index it),
   * read at `row`: the whole precomputed series at the bar's index on the columnar path, a
   * one-value column the kernels write each bar on the event path. -1 before the first bar.
   */
  cols: Float64Array[] = [];
  row = -1;
  lastDataTs = -Infinity;
  barIndex = -1;
  readonly view: LivePosition;
  constructor(readonly symbol: string, readonly idx: number, portfolio: Portfolio, readonly book: SymbolBook) {
    this.scratch = oneRow(symbol);
    this.view = new LivePosition(symbol, portfolio);
    this.view.qty = portfolio.qtyAt(idx);
  }
}

/**
 * A strategy's live view of one position. `qty`, read by most strategies every bar, is a plain
 * field the engine refreshes on each fill of the symbol (the only thing that changes it): a getter
 * V8 does not inline returns a boxed float, an allocation per bar.
 */
class LivePosition implements PositionView {
  qty = 0;
  constructor(readonly symbol: string, private readonly portfolio: Portfolio) {}
  get avgPrice(): number {
    return this.portfolio.position(this.symbol).avgPrice;
  }
  get realizedPnl(): number {
    return this.portfolio.position(this.symbol).realizedPnl;
  }
  get unrealizedPnl(): number {
    return this.portfolio.position(this.symbol).unrealizedPnl;
  }
}

export class Engine implements EngineView {
  readonly portfolio: Portfolio;
  readonly broker: SimulatedBroker;
  readonly rng: Rng;
  readonly params: unknown;
  readonly seed: number;
  readonly agentId: string;
  ts = 0;
  private readonly strategy: AnyStrategy;
  private readonly ctx: StrategyContext<unknown> & ContextFields;
  private readonly journal: JournalSink | undefined;
  private readonly gate: OrderGate | undefined;
  private readonly killSwitch: KillSwitch | undefined;
  /** A gate that tracks marks, or a kill switch: only then does a mark call `marked()`. */
  private readonly watchesMarks: boolean;
  /** The HALT (its `since`) whose cancel/flatten has been carried out, per scope. */
  private readonly haltsHandled = new Map<string, number>();
  private readonly provenance: BacktestOptions['provenance'];
  private readonly markets: Readonly<Record<string, MarketSpec>>;
  private readonly defaultMarkets = new Map<string, MarketSpec>();
  private readonly states: SymbolState[] = [];
  private readonly stateBySymbol = new Map<string, SymbolState>();
  private readonly slots: IndicatorSlot[] = [];
  private readonly valueIx: Record<string, number> = {};
  private readonly outputIx: Record<string, Record<string, number>> = {};
  private readonly decisions: DecisionLog;
  private readonly orders: OrderLog;
  private readonly fills: FillLog;
  private readonly timers: number[] = [];
  private readonly view = new MutableBarView();
  private readonly draft = new OrderDraft();
  private current: SymbolState | null = null;
  private orderSeq = 0;
  private ocoSeq = 0;
  private started = false;
  private initialized = false;
  private barsProcessed = 0;
  // The curve, written in place (no per-point call with float arguments: they would be boxed).
  private curveTs: Float64Array;
  private curveEq: Float64Array;
  private curveLen = 0;
  private exposedPoints = 0;
  private lastRecordTs = -Infinity;
  /** Where `advance()` moves the clock to; a field, not an argument, for the same reason. */
  private nextTs = 0;

  constructor(opts: BacktestOptions, readonly symbols: readonly string[], capacityHint = 1024) {
    this.strategy = opts.strategy;
    const parsed = opts.strategy.params.safeParse(opts.params ?? {});
    if (!parsed.success) {
      throw new InputError(`invalid parameters for strategy "${opts.strategy.name}": ${describeIssues(parsed.error, '(params)')}`);
    }
    this.params = parsed.data;
    this.seed = opts.seed ?? 0;
    this.rng = createRng(this.seed);
    this.agentId = opts.agentId ?? opts.strategy.name;
    this.decisions = new DecisionLog(this.agentId);
    this.orders = new OrderLog(this.decisions);
    this.fills = new FillLog(this.orders);
    this.journal = opts.journal;
    this.gate = opts.gate;
    this.killSwitch = opts.killSwitch;
    this.watchesMarks = opts.gate?.onMark !== undefined || opts.killSwitch !== undefined;
    this.provenance = opts.provenance;
    this.markets = opts.markets ?? {};
    this.portfolio = new Portfolio({ cash: opts.cash ?? 10_000, ...(opts.lotMethod ? { lotMethod: opts.lotMethod } : {}) });
    const brokerConfig: BrokerConfig = { ...defaultBrokerConfig, ...opts.broker };
    this.broker = new SimulatedBroker(brokerConfig, this.portfolio, (s) => this.market(s), this.rng.fork('broker'), (e) => this.onBrokerEvent(e));
    for (const s of symbols) this.state(s);
    const cap = Math.max(16, capacityHint + 1);
    this.curveTs = new Float64Array(cap);
    this.curveEq = new Float64Array(cap);
    this.ctx = this.makeContext();
  }

  // ---- EngineView ------------------------------------------------------------------------
  get cash(): number {
    return this.portfolio.cash;
  }
  equity(): number {
    return this.portfolio.equity();
  }
  qty(symbol: string): number {
    return this.portfolio.qty(symbol);
  }
  avgPrice(symbol: string): number {
    return this.portfolio.position(symbol).avgPrice;
  }
  lastPrice(symbol: string): number {
    return this.portfolio.lastPrice(symbol);
  }
  lastDataTs(symbol: string): number {
    return this.stateBySymbol.get(symbol)?.lastDataTs ?? -Infinity;
  }
  openOrderCount(agentId?: string): number {
    let n = 0;
    for (const o of this.broker.openOrders()) if (agentId === undefined || o.agentId === agentId) n++;
    return n;
  }

  openQty(symbol: string, side: 'buy' | 'sell'): number {
    return this.broker.openQty(symbol, side);
  }

  market(symbol: string): MarketSpec {
    const m = this.markets[symbol];
    if (m !== undefined) return m;
    let d = this.defaultMarkets.get(symbol);
    if (d === undefined) this.defaultMarkets.set(symbol, (d = defaultMarket(symbol)));
    return d;
  }

  /** The strategy's live view of a position. */
  positionView(symbol: string): PositionView {
    return this.state(symbol).view;
  }

  /** The per-symbol handle the columnar driver passes to `barOf`. */
  handle(symbol: string): SymbolState {
    return this.state(symbol);
  }

  private state(symbol: string): SymbolState {
    let st = this.stateBySymbol.get(symbol);
    if (!st) {
      const idx = this.portfolio.symbolIndex(symbol);
      st = new SymbolState(symbol, idx, this.portfolio, this.broker.book(symbol));
      for (const slot of this.slots) addKernel(st, slot);
      this.states[idx] = st;
      this.stateBySymbol.set(symbol, st);
    }
    return st;
  }

  // ---- lifecycle -------------------------------------------------------------------------

  /** Call once before the first event: records the run start and runs the strategy's init. */
  start(startTs: number): void {
    if (this.started) return;
    this.started = true;
    this.ts = startTs;
    this.journal?.append('run_start', { strategy: this.strategy.name, agentId: this.agentId, params: this.params, seed: this.seed, cash: this.portfolio.startCash, lotMethod: this.portfolio.lotMethod, symbols: this.symbols, ...(this.provenance ?? {}) }, startTs);
    this.strategy.init?.(this.ctx);
    this.initialized = true;
    this.record();
  }

  /**
   * Columnar path: the strategy's indicators computed once over the whole series. Each value at
   * row i depends only on rows ≤ i and equals the incremental kernel's bit for bit (the indicator
   * tests prove both), so reading row i at bar i is the same as updating a kernel per bar.
   */
  attachColumns(st: SymbolState, cols: BarColumns): void {
    st.batch = this.slots.map((slot) => indicatorSpec(slot.kind).batch(cols, parseIndicatorParams(slot.kind, slot.params) as never));
    st.kernels = [];
    st.cols = st.batch.flat();
  }

  /**
   * One closed bar: resting orders meet its path, indicators and marks update, then the strategy
   * decides at the close. Orders it places reach the book after `latencyMs` — the next bar's open.
   */
  bar(symbol: string, ts: number, tf: number, o: number, h: number, l: number, c: number, v: number): void {
    const st = this.current !== null && this.current.symbol === symbol ? this.current : this.state(symbol);
    const row = st.scratch;
    row.timeframeMs = tf;
    row.ts[0] = ts;
    row.open[0] = o;
    row.high[0] = h;
    row.low[0] = l;
    row.close[0] = c;
    row.volume[0] = v;
    this.bars(st, row, 0, 1);
  }

  /**
   * The one bar step of both paths, over rows [from, to) of `cols`: the whole series of a
   * single-series columnar run, one row of a merged multi-series run, the one-row scratch of the
   * event path. Values are read from arrays, never passed as arguments: a float argument to a call
   * V8 does not inline is boxed, once per bar.
   *
   * The loop is here, not in the driver, so that V8 compiles it as a unit of its own: its inlining
   * budget (a fixed number of bytecodes per unit) then goes to the strategy's `onBar` and the
   * context reads inside it. When the driver's loop inlined a one-bar step, the step used up the
   * budget and `ctx.value()` stayed a call, its float boxed: ~20 MB of garbage a run.
   */
  bars(st: SymbolState, cols: BarColumns, from: number, to: number): void {
    const tf = cols.timeframeMs;
    const ctx = this.ctx;
    const view = this.view;
    for (let i = from; i < to; i++) {
      const ts = cols.ts[i]!;
      const closeTs = ts + tf;
      if (closeTs > this.ts) {
        this.nextTs = closeTs;
        this.advance();
      }
      this.focus(st);
      const c = cols.close[i]!;
      if (this.broker.hasOpenOrders) this.bookBar(st, cols, i);
      else st.book.lastClose = c;
      if (st.kernels.length > 0) updateKernels(st, cols, i);
      this.portfolio.markAt(st.idx, c);
      st.lastDataTs = closeTs;
      const row = ++st.barIndex;
      st.row = st.batch !== null ? row : 0;
      ctx.row = st.row;
      this.ts = closeTs;
      if (this.watchesMarks) this.marked(closeTs);
      view.symbol = st.symbol;
      view.ts = ts;
      view.closeTs = closeTs;
      view.timeframeMs = tf;
      view.open = cols.open[i]!;
      view.high = cols.high[i]!;
      view.low = cols.low[i]!;
      view.close = c;
      view.volume = cols.volume[i]!;
      view.index = row;
      this.barsProcessed++;
      this.strategy.onBar?.(ctx, view);
    }
  }

  /** Resting orders meet the bar (its own method: it is rare, and the bar step must stay small to be inlined whole). */
  private bookBar(st: SymbolState, cols: BarColumns, i: number): void {
    this.broker.onBookBar(st.book, cols.ts[i]!, cols.open[i]!, cols.high[i]!, cols.low[i]!, cols.close[i]!, cols.volume[i]!);
  }

  trade(symbol: string, ts: number, price: number, amount: number, event: MarketEvent & { kind: 'trade' }): void {
    if (ts > this.ts) {
      this.nextTs = ts;
      this.advance();
    }
    const st = this.state(symbol);
    this.focus(st);
    this.broker.onTrade(symbol, ts, price, amount);
    this.portfolio.markAt(st.idx, price);
    st.lastDataTs = ts;
    this.ts = ts;
    if (this.watchesMarks) this.marked(ts);
    this.strategy.onTrade?.(this.ctx, event);
  }

  quote(symbol: string, ts: number, bid: number, ask: number, event: MarketEvent & { kind: 'quote' }): void {
    if (ts > this.ts) {
      this.nextTs = ts;
      this.advance();
    }
    const st = this.state(symbol);
    this.focus(st);
    this.broker.onQuote(symbol, ts, bid, ask);
    this.portfolio.markAt(st.idx, (bid + ask) / 2);
    st.lastDataTs = ts;
    this.ts = ts;
    if (this.watchesMarks) this.marked(ts);
    this.strategy.onQuote?.(this.ctx, event);
  }

  /** `st` becomes the symbol the strategy's `value()` and `position()` read by default. */
  private focus(st: SymbolState): void {
    this.current = st;
    const ctx = this.ctx;
    ctx.cols = st.cols;
    ctx.row = st.row;
  }

  /** Market data moved the marks at `ts`: the gate tracks them, and a HALT is carried out. */
  private marked(ts: number): void {
    if (this.gate !== undefined) this.gate.onMark?.(ts, this);
    if (this.killSwitch !== undefined && this.killSwitch.effective(this.agentId) === 'HALTED') this.actOnHalt();
  }

  /** Time moves to `nextTs`: the previous instant's equity is final, and due timers fire. */
  private advance(): void {
    this.record();
    if (this.orders.dirty) this.orders.sweep();
    const timers = this.timers;
    while (timers.length > 0 && timers[0]! <= this.nextTs) {
      const due = timers.shift()!;
      this.ts = due;
      this.strategy.onTimer?.(this.ctx, due);
    }
  }

  /** The equity point of the current instant (once per instant). */
  private record(): void {
    const t = this.ts;
    if (t <= this.lastRecordTs) return;
    this.lastRecordTs = t;
    let n = this.curveLen;
    if (n === this.curveTs.length) {
      this.curveTs = grow(this.curveTs, 2 * n);
      this.curveEq = grow(this.curveEq, 2 * n);
    }
    this.curveTs[n] = t;
    if (this.portfolio.writeEquity(this.curveEq, n)) this.exposedPoints++;
    this.curveLen = ++n;
  }

  /**
   * A HALT that asks to cancel all and/or flatten is carried out once, at the first mark after it:
   * open orders are cancelled and every position is closed by reduce-only market orders sent as
   * the kill switch (they still pass the gate, which lets exactly these through while HALTED).
   */
  private actOnHalt(): void {
    const ks = this.killSwitch!;
    const scopes: [string, KillScopeStatus][] = [
      ['global', ks.scopeStatus({ scope: 'global' })],
      [`agent:${this.agentId}`, ks.scopeStatus({ scope: 'agent', agentId: this.agentId })],
    ];
    for (const [key, st] of scopes) {
      if (st.state !== 'HALTED' || st.since === null || this.haltsHandled.get(key) === st.since) continue;
      this.haltsHandled.set(key, st.since);
      if (st.cancelAll || st.flatten) {
        for (const o of this.broker.openOrders()) this.broker.cancel(o.id, this.ts, `kill switch HALTED by ${st.by ?? 'a limit'}: cancel all`);
      }
      if (st.flatten) {
        for (const symbol of this.portfolio.symbols()) {
          const q = this.portfolio.qty(symbol);
          if (q === 0) continue;
          const reason = { factors: { position: q }, confidence: 100, reasoning: `kill switch HALTED (${st.reason ?? 'no reason given'}): flatten` };
          this.place(symbol, q > 0 ? 'sell' : 'buy', { size: Math.abs(q), reduceOnly: true, reason }, 'close', { agentId: FLATTEN_AGENT_ID });
        }
      }
    }
  }

  finish(): RunOutput {
    this.record();
    // The indicator columns die with the run: the next run on the same length of data reuses them.
    for (const st of this.states) if (st.batch !== null) recycleColumns(st.cols);
    const n = this.curveLen;
    const cut = (a: Float64Array): Float64Array => (a.length === n ? a : a.slice(0, n));
    const curve: EquityCurve = { ts: cut(this.curveTs), equity: cut(this.curveEq), exposure: n === 0 ? 0 : this.exposedPoints / n };
    const final = this.portfolio.snapshot();
    this.journal?.append('run_end', { final, bars: this.barsProcessed }, this.ts);
    const decisions = this.decisions;
    const fills = this.fills;
    const portfolio = this.portfolio;
    // Decisions, fills and round trips are kept by column; their objects are built on first read.
    // Hashing megabytes of curve costs as much as the run: done on first read, then kept.
    let hash: string | undefined;
    const orders = this.orders;
    let orderList: Order[] | undefined;
    const out: RunOutput = {
      strategy: this.strategy.name,
      params: this.params,
      seed: this.seed,
      startCash: this.portfolio.startCash,
      get trades(): readonly ClosedTrade[] {
        return portfolio.closedTrades;
      },
      get fills(): readonly Fill[] {
        return fills.records();
      },
      get decisions(): readonly DecisionRecord[] {
        return decisions.records();
      },
      get orders(): readonly Order[] {
        return (orderList ??= orders.records());
      },
      final,
      tradedNotional: this.portfolio.tradedNotional,
      barsProcessed: this.barsProcessed,
      curve,
      get resultHash(): string {
        return (hash ??= hashRun(out, curve));
      },
    };
    return out;
  }

  // ---- orders ----------------------------------------------------------------------------

  /** Records a decision; returns its index in the log. */
  private decide(symbol: string, action: DecisionAction, reason: DecisionReason | undefined): number {
    const r = reason ?? NONE_REASON;
    const i = this.decisions.add(this.ts, symbol, action, r.factors ?? NONE, r.weights ?? NONE, clampConfidence(r.confidence), r.reasoning ?? '', r.detail);
    // The journal gets the record object itself, which the log then keeps up to date.
    if (this.journal !== undefined) this.journal.append('decision', this.decisions.record(i), this.ts);
    return i;
  }

  private refPrice(symbol: string): number {
    const p = this.portfolio.lastPrice(symbol);
    if (!(p > 0)) throw new InputError(`no price seen yet for ${symbol}: orders can only be placed after its first bar`);
    return p;
  }

  private resolveSize(symbol: string, side: 'buy' | 'sell', size: SizeSpec, price: number): number {
    const market = this.market(symbol);
    let qty: number;
    if (typeof size === 'number') qty = size;
    else if (size.kind === 'all-in') {
      const pos = this.portfolio.qty(symbol);
      if (side === 'sell' && pos > 0) qty = pos;
      else if (side === 'buy' && pos < 0) qty = -pos;
      else {
        const fee = this.broker.config.takerFeeBps / 10_000;
        qty = Math.max(0, side === 'buy' ? this.portfolio.cash : this.portfolio.equity()) / (price * (1 + fee));
      }
    } else if (size.kind === 'fraction') qty = (size.fraction * this.portfolio.equity()) / price;
    else qty = size.notional / price;
    if (!Number.isFinite(qty) || qty < 0) throw new InputError(`order size for ${symbol} is not a non-negative number (${qty})`);
    return roundAmount(qty, market.amountStep);
  }

  /** strategy → risk gate → broker. Returns the order id, or null when nothing was placed. */
  private place(
    symbol: string,
    side: 'buy' | 'sell',
    opts: OrderOptions,
    action: DecisionAction,
    extra?: { ocoGroup?: string; parentId?: string; hasChildren?: boolean; decision?: number; agentId?: string },
  ): string | null {
    const type: OrderType = opts.type ?? 'market';
    const market = this.market(symbol);
    const last = this.refPrice(symbol);
    const ref = opts.price ?? opts.stopPrice ?? last;
    const amount = this.resolveSize(symbol, side, opts.size, ref);
    // A relative size (all-in, a fraction) with nothing to size against — no cash, no equity — is
    // no order at all: nothing is placed, so there is no decision to record. (A strategy retrying
    // on every bar with no cash would otherwise journal a refusal per bar.)
    if (amount === 0 && typeof opts.size !== 'number' && extra?.decision === undefined) return null;
    const decision = extra?.decision ?? this.decide(symbol, action, opts.reason);
    // One request object, rewritten per order: the broker copies it into its order at once and
    // nothing keeps it (the journal and the gate get copies), so a new object per order was garbage.
    const req = this.draft;
    req.symbol = symbol;
    req.side = side;
    req.type = type;
    req.amount = amount;
    req.price = opts.price !== undefined ? roundPrice(opts.price, market.tickSize) : undefined;
    req.stopPrice = opts.stopPrice !== undefined ? roundPrice(opts.stopPrice, market.tickSize) : undefined;
    req.trailingAmount = opts.trailingAmount;
    req.trailingPercent = opts.trailingPercent;
    req.timeInForce = opts.timeInForce ?? 'GTC';
    req.reduceOnly = opts.reduceOnly === true;
    req.postOnly = opts.postOnly === true;
    const agentId = extra?.agentId ?? this.agentId;
    const seq = ++this.orderSeq;
    const id = orderIdOf(agentId, seq);
    const marketProblem = checkMarketLimits(market, amount, ref);
    if (marketProblem) return this.reject(decision, id, seq, agentId, req, { limit: 'market.precision', message: marketProblem });
    // Spelled out, not spread: a spread copy of `req` is built by a slow runtime path and comes
    // out in dictionary mode, which made every property read in the risk check slow too.
    const verdict = this.gate?.check(
      {
        agentId,
        refPrice: ref,
        symbol: req.symbol,
        side: req.side,
        type: req.type,
        amount: req.amount,
        price: req.price,
        stopPrice: req.stopPrice,
        trailingAmount: req.trailingAmount,
        trailingPercent: req.trailingPercent,
        timeInForce: req.timeInForce,
        reduceOnly: req.reduceOnly,
        postOnly: req.postOnly,
      },
      this,
    );
    if (verdict && !verdict.ok) return this.reject(decision, id, seq, agentId, req, verdict.breach);
    this.decisions.addOrder(decision, agentId, seq);
    const decisionId = this.decisions.id(decision);
    this.journal?.append('order_submitted', { id, decisionId, agentId, ...req, ...(extra?.ocoGroup ? { ocoGroup: extra.ocoGroup } : {}), ...(extra?.parentId ? { parentId: extra.parentId } : {}) }, this.ts);
    // Every field written, unused ones undefined: one shape, no spread (a spread builds the object slowly).
    const slot = this.orders.reserve(seq, decision, agentId, symbol);
    const order = this.broker.submit(req, { id, agentId, decisionId, now: this.ts, ocoGroup: extra?.ocoGroup, parentId: extra?.parentId, hasChildren: extra?.hasChildren === true, ref: slot });
    this.orders.attach(slot, order);
    return order.status === 'rejected' ? null : id;
  }

  private reject(decision: number, id: string, seq: number, agentId: string, req: OrderRequest, breach: { limit: string; message: string } & Record<string, unknown>): null {
    this.decisions.addOrder(decision, agentId, seq);
    this.decisions.setRejected(decision, breach.limit, breach.message);
    this.journal?.append('order_rejected', { id, decisionId: this.decisions.id(decision), agentId, ...req, breach }, this.ts);
    return null;
  }

  private onBrokerEvent(e: BrokerEvent): void {
    // Anything but an acceptance may finish an order: the next clock step folds it into the log.
    if (e.kind === 'accepted') {
      this.journal?.append('order_accepted', { id: e.order.id }, e.ts);
      return;
    }
    this.orders.dirty = true;
    // The order's place in the order log rides on it (`ref`): the log knows its decision.
    const di = this.orders.decisionOf(e.order.ref);
    const d = di >= 0 && di < this.decisions.length;
    switch (e.kind) {
      case 'rejected':
        if (d) this.decisions.setRejected(di, 'broker', e.reason);
        this.journal?.append('order_rejected', { id: e.order.id, decisionId: e.order.decisionId, agentId: e.order.agentId, breach: { limit: 'broker', message: e.reason } }, e.ts);
        break;
      case 'filled': {
        const st = this.states[this.portfolio.symbolIndex(e.fill.symbol)];
        if (st !== undefined) st.view.qty = this.portfolio.qtyAt(st.idx);
        this.fills.add(e.fill, e.order.ref);
        if (d) {
          const o = e.order;
          this.decisions.setFilled(di, o.status !== 'filled', o.avgPrice, o.filled, e.ts);
        }
        this.journal?.append('fill', e.fill, e.ts);
        this.gate?.onFill?.(e.fill, this);
        if (this.initialized) this.strategy.onFill?.(this.ctx, e.fill);
        break;
      }
      case 'cancelled':
        if (d) this.decisions.setCancelledIfOpen(di, e.ts);
        this.journal?.append('cancel', { id: e.order.id, reason: e.reason }, e.ts);
        break;
    }
  }

  // ---- the strategy's context -------------------------------------------------------------

  private makeContext(): StrategyContext<unknown> & ContextFields {
    // Data fields only, always in this order (one hidden class); the methods are shared.
    const ctx = Object.create(Engine.contextMethods) as ContextFields;
    ctx.engine = this;
    ctx.params = this.params;
    ctx.rng = this.rng.fork('strategy');
    ctx.symbols = this.symbols;
    ctx.agentId = this.agentId;
    ctx.portfolio = new LivePortfolio(this.portfolio, this);
    ctx.sizing = SIZING;
    ctx.cols = [];
    ctx.row = -1;
    ctx.valueIx = this.valueIx;
    ctx.outputIx = this.outputIx;
    return ctx as unknown as StrategyContext<unknown> & ContextFields;
  }

  /** An indicator read that is not the common case (another output, another symbol, the event path). */
  private valueSlow(name: string, output: string | undefined, symbol: string | undefined): number {
    const slot = slotOf(this.slots, name);
    const st = symbol === undefined ? this.current : this.stateBySymbol.get(symbol);
    if (!st) return NaN;
    let oi = 0;
    if (output !== undefined) {
      oi = this.slots[slot]!.outputs.indexOf(output);
      if (oi < 0) throw new InputError(`indicator "${name}" has no output "${output}" (has ${this.slots[slot]!.outputs.join(', ')})`);
    }
    const batch = st.batch;
    if (batch !== null) return st.barIndex < 0 ? NaN : batch[slot]![oi]![st.barIndex]!;
    return st.kernels[slot]!.value(oi);
  }

  /**
   * The strategy context's methods, on one prototype shared by every run. Closures made per run
   * were new functions each run: V8 had inlined the previous run's into the strategy, threw that
   * code away (a deopt per run), and once a call site had seen several it stopped inlining — so
   * `value()` and `qty` came back as boxed floats, an allocation per bar.
   */
  private static readonly contextMethods: ThisType<ContextFields> & Omit<StrategyContext<unknown>, 'params' | 'rng' | 'symbols' | 'agentId' | 'portfolio' | 'sizing'> = {
    get now() {
      return this.engine.ts;
    },
    get decisions() {
      return this.engine.decisions.records();
    },
    indicator(name, kind, params = {}) {
      const engine = this.engine;
      if (engine.initialized) throw new InputError('indicators must be declared in init()');
      if (engine.slots.some((sl) => sl.name === name)) throw new InputError(`indicator "${name}" declared twice`);
      if (name === '__proto__') throw new InputError('"__proto__" cannot name an indicator');
      const probe = createIndicator(kind, params);
      const slot: IndicatorSlot = { name, kind, params, outputs: probe.outputs };
      let flat = 0;
      for (const sl of engine.slots) flat += sl.outputs.length;
      engine.slots.push(slot);
      engine.valueIx[name] = flat;
      const byOutput: Record<string, number> = {};
      probe.outputs.forEach((o, k) => {
        if (o !== '__proto__') byOutput[o] = flat + k;
      });
      engine.outputIx[name] = byOutput;
      for (const st of engine.states) addKernel(st, slot);
    },
    // Small on purpose: V8 inlines it into the strategy, so the float it returns is not boxed. The
    // name (and output) → column lookups are loads from plain objects, which fold to one load each
    // for literal names. Anything else (another symbol, a name or output never declared, before the
    // first bar) reads undefined here and takes the slow path.
    value(name, output, symbol) {
      if (symbol === undefined) {
        const c = this.cols[output === undefined ? this.valueIx[name]! : this.outputIx[name]?.[output]!];
        // Only numbers flow out of this branch: a value that may be undefined would be boxed.
        if (c !== undefined && this.row >= 0) return c[this.row]!;
      }
      return this.engine.valueSlow(name, output, symbol);
    },
    position(s) {
      const st = this.engine.current;
      return st !== null && st.symbol === s ? st.view : this.engine.positionView(s);
    },
    openOrders(s) {
      return this.engine.broker.openOrders(s);
    },
    buy(s, o) {
      return this.engine.place(s, 'buy', o, 'buy');
    },
    sell(s, o) {
      return this.engine.place(s, 'sell', o, 'sell');
    },
    close(s, reason) {
      const engine = this.engine;
      const q = engine.portfolio.qty(s);
      if (q === 0) return null;
      return engine.place(s, q > 0 ? 'sell' : 'buy', { size: Math.abs(q), reduceOnly: true, reason }, 'close');
    },
    bracket(s, side, o) {
      return this.engine.bracket(s, side, o);
    },
    oco(s, a, b) {
      const engine = this.engine;
      const group = `OCO${++engine.ocoSeq}`;
      const d = engine.decide(s, a.side, a.reason ?? b.reason);
      const ia = engine.place(s, a.side, a, a.side, { ocoGroup: group, decision: d });
      const ib = engine.place(s, b.side, b, b.side, { ocoGroup: group, decision: d });
      if (ia === null || ib === null) {
        if (ia) engine.broker.cancel(ia, engine.ts, 'OCO partner rejected');
        if (ib) engine.broker.cancel(ib, engine.ts, 'OCO partner rejected');
        return null;
      }
      return [ia, ib];
    },
    cancel(id, reason) {
      const engine = this.engine;
      const o = engine.broker.order(id);
      if (!o) return false;
      engine.decide(o.symbol, 'cancel', reason);
      return engine.broker.cancel(id, engine.ts, reason?.reasoning ?? 'cancelled by strategy');
    },
    hold(s, reason) {
      const engine = this.engine;
      return engine.decisions.id(engine.decide(s, 'hold', reason));
    },
    cancelAll(s) {
      const engine = this.engine;
      let n = 0;
      for (const o of engine.broker.openOrders(s)) if (engine.broker.cancel(o.id, engine.ts, 'cancel all')) n++;
      return n;
    },
    setTimer(t) {
      const engine = this.engine;
      if (!(t > engine.ts)) return;
      const timers = engine.timers;
      let i = timers.length;
      while (i > 0 && timers[i - 1]! > t) i--;
      timers.splice(i, 0, t);
    },
  };

  private bracket(symbol: string, side: 'buy' | 'sell', o: BracketOptions): string | null {
    const exit = side === 'buy' ? 'sell' : 'buy';
    if (side === 'buy' ? !(o.stopLoss < o.takeProfit) : !(o.stopLoss > o.takeProfit)) {
      throw new InputError(`bracket ${side}: stop loss ${o.stopLoss} must be on the losing side of take profit ${o.takeProfit}`);
    }
    const d = this.decide(symbol, side, o.reason);
    const entryOpts: OrderOptions = { size: o.size, ...(o.entryPrice !== undefined ? { type: 'limit', price: o.entryPrice } : {}) };
    const entry = this.place(symbol, side, entryOpts, side, { decision: d, hasChildren: true });
    if (entry === null) return null;
    const amount = this.broker.order(entry)!.amount;
    const group = `OCO${++this.ocoSeq}`;
    this.place(symbol, exit, { size: amount, type: 'limit', price: o.takeProfit, reduceOnly: true }, exit, { ocoGroup: group, parentId: entry, decision: d });
    this.place(symbol, exit, { size: amount, type: 'stop', stopPrice: o.stopLoss, reduceOnly: true }, exit, { ocoGroup: group, parentId: entry, decision: d });
    return entry;
  }
}

const ALL_IN: SizeSpec = { kind: 'all-in' };
const SIZING: Sizing = Object.freeze({
  allIn: () => ALL_IN,
  fraction: (f: number): SizeSpec => ({ kind: 'fraction', fraction: f }),
  notional: (x: number): SizeSpec => ({ kind: 'notional', notional: x }),
  qty: (q: number): SizeSpec => q,
});

/** The per-run data of a strategy context; its methods are `Engine.contextMethods`. */
interface ContextFields {
  engine: Engine;
  params: unknown;
  rng: Rng;
  symbols: readonly string[];
  agentId: string;
  portfolio: PortfolioView;
  sizing: Sizing;
  /** The focused symbol's indicator columns and the row to read (see `SymbolState.cols`). */
  cols: Float64Array[];
  row: number;
  /**
   * Indicator name → column of its main output. `outputIx` has it too, under the output's name;
   * this index saves the most common read (`value(name)`) a second lookup and the output's name.
   */
  valueIx: Record<string, number>;
  /** Indicator name → output name → column. */
  outputIx: Record<string, Record<string, number>>;
}

/** A symbol's kernel for a newly declared indicator, with one NaN column per output. */
function addKernel(st: SymbolState, slot: IndicatorSlot): void {
  st.kernels.push(createIndicator(slot.kind, slot.params));
  for (let k = 0; k < slot.outputs.length; k++) st.cols.push(Float64Array.of(NaN));
}

/** The event path: each kernel takes the bar, and its outputs go to the symbol's one-value columns. */
function updateKernels(st: SymbolState, cols: BarColumns, i: number): void {
  const ks = st.kernels;
  const out = st.cols;
  let f = 0;
  for (let k = 0; k < ks.length; k++) {
    const kern = ks[k]!;
    kern.update(cols.open[i]!, cols.high[i]!, cols.low[i]!, cols.close[i]!, cols.volume[i]!, cols.ts[i]!);
    for (let o = 0; o < kern.outputs.length; o++) out[f++]![0] = kern.value(o);
  }
}

/**
 * A strategy declares a handful of indicators and names them with string literals, which are
 * interned: comparing by identity over a short array beats hashing the name on every read.
 */
function slotOf(slots: readonly IndicatorSlot[], name: string): number {
  for (let i = 0; i < slots.length; i++) if (slots[i]!.name === name) return i;
  throw new InputError(`indicator "${name}" was not declared in init()`);
}

/** The strategy's view of the portfolio (prototype getters, shared by every run). */
class LivePortfolio implements PortfolioView {
  constructor(private readonly portfolio: Portfolio, private readonly engine: Engine) {}
  get cash(): number {
    return this.portfolio.cash;
  }
  get equity(): number {
    return this.portfolio.equity();
  }
  position(symbol: string): PositionView {
    return this.engine.positionView(symbol);
  }
}

/** Shared by every decision that names no factors or weights (one object, not one per order). */
const NONE: Readonly<Record<string, never>> = Object.freeze({});
const NONE_REASON: DecisionReason = Object.freeze({});

function clampConfidence(c: number | undefined): number {
  if (c === undefined || !Number.isFinite(c)) return 50;
  return Math.min(100, Math.max(0, c));
}

/**
 * The result hash: canonical JSON for the small parts, exact float bytes for the bulky ones, and
 * records serialised in the fixed field order the engine builds them in (so no key sorting per row).
 */
function hashRun(body: Omit<RunOutput, 'curve' | 'resultHash'>, curve: EquityCurve): string {
  const h = new StreamHash();
  h.text(canonicalJson({ strategy: body.strategy, params: body.params, seed: body.seed, startCash: body.startCash, final: body.final, tradedNotional: body.tradedNotional, bars: body.barsProcessed }));
  h.floats(curve.ts).floats(curve.equity).text(String(curve.exposure));
  const f = new Float64Array(body.fills.length * 4);
  body.fills.forEach((x, i) => {
    f[i * 4] = x.ts;
    f[i * 4 + 1] = x.amount;
    f[i * 4 + 2] = x.price;
    f[i * 4 + 3] = x.fee;
  });
  h.floats(f).text(body.fills.map((x) => `${x.orderId}|${x.side}|${x.liquidity}`).join(','));
  // One update per block: many small native calls cost more than building the string.
  const t = new Float64Array(body.trades.length * 7);
  body.trades.forEach((x, i) => {
    const o = i * 7;
    t[o] = x.entryTs;
    t[o + 1] = x.exitTs;
    t[o + 2] = x.entryPrice;
    t[o + 3] = x.exitPrice;
    t[o + 4] = x.qty;
    t[o + 5] = x.pnl;
    t[o + 6] = x.fees;
  });
  h.floats(t);
  h.text(body.orders.map((o) => `${o.id}|${o.type}|${o.side}|${o.amount}|${o.status}|${o.filled}|${o.avgPrice}|${o.fees}`).join(';'));
  h.text(JSON.stringify(body.decisions));
  return h.digest();
}

// ---- drivers ------------------------------------------------------------------------------

/** The fast path: bars already in typed arrays; no object per bar. */
export function runColumnar(opts: BacktestOptions, series: readonly BarColumns[]): RunOutput {
  if (series.length === 0) throw new InputError('no data: give at least one bar series');
  let total = 0;
  for (const s of series) total += s.length;
  if (total === 0) throw new InputError('no bars in the requested range');
  // One equity point per distinct close time: for aligned series, the longest series' length.
  const engine = new Engine(opts, series.map((s) => s.symbol), Math.max(...series.map((s) => s.length)));
  engine.start(Math.min(...series.filter((s) => s.length > 0).map((s) => s.ts[0]!)));
  const handles = series.map((s) => engine.handle(s.symbol));
  series.forEach((s, j) => engine.attachColumns(handles[j]!, s));
  if (series.length === 1) engine.bars(handles[0]!, series[0]!, 0, series[0]!.length);
  else {
    // The merge order is only needed (and its two index columns only allocated) for several series.
    const { sym, row } = columnarOrder(series);
    for (let k = 0; k < total; k++) {
      const j = sym[k]!;
      const r = row[k]!;
      engine.bars(handles[j]!, series[j]!, r, r + 1);
    }
  }
  return engine.finish();
}

/** The general path: any ordered mix of bars, trades and quotes (recorded or live-like). */
export async function runEvents(
  opts: BacktestOptions,
  symbols: readonly string[],
  streams: readonly (AsyncIterable<MarketEvent> | Iterable<MarketEvent>)[],
): Promise<RunOutput> {
  const engine = new Engine(opts, symbols);
  let n = 0;
  for await (const e of mergeStreams(streams)) {
    if (n++ === 0) engine.start(e.ts);
    if (e.kind === 'bar') engine.bar(e.symbol, e.ts, e.timeframeMs, e.open, e.high, e.low, e.close, e.volume);
    else if (e.kind === 'trade') engine.trade(e.symbol, e.ts, e.price, e.amount, e);
    else engine.quote(e.symbol, e.ts, e.bid, e.ask, e);
  }
  if (n === 0) throw new InputError('no events to replay');
  return engine.finish();
}
