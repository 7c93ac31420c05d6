import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Engine, runColumnar, type BacktestOptions, type RunOutput } from '../../engine/backtest.ts';
import { Portfolio, type LotMethod } from '../../engine/portfolio.ts';
import { columnarOrder } from '../../engine/merge.ts';
import type { BarColumns } from '../../engine/types.ts';
import { brokerConfig, buildSeries, flatSeries, randomStrategy, seriesSpec, type RandomStrategyOptions } from './accounting.support.ts';

/**
 * Accounting properties over random bars and random strategies (every order type, TIF, flags,
 * fees, slippage, latency, volume caps, spot or margin). Each property recomputes the books
 * independently from the fills instead of trusting the portfolio's own sums.
 */

const SYMBOLS = ['AAA/USD', 'BBB/USD', 'CCC/USD'];
/** Fixed seed and run count keep the suite deterministic; CS_PROP_SEED / CS_PROP_RUNS explore further. */
const RUNS = Number(process.env.CS_PROP_RUNS ?? 150);
fc.configureGlobal({ seed: Number(process.env.CS_PROP_SEED ?? 20261125) });

type Log = NonNullable<RandomStrategyOptions['log']>;

/** runColumnar's loop, by hand, with a hook after every bar so the live portfolio can be inspected. */
function drive(opts: BacktestOptions, series: readonly BarColumns[], afterBar: (e: Engine) => void): RunOutput {
  const engine = new Engine(opts, series.map((s) => s.symbol));
  const { sym, row } = columnarOrder(series);
  engine.start(Math.min(...series.map((s) => s.ts[0]!)));
  for (let k = 0; k < sym.length; k++) {
    const s = series[sym[k]!]!;
    const i = row[k]!;
    engine.bar(s.symbol, s.ts[i]!, s.timeframeMs, s.open[i]!, s.high[i]!, s.low[i]!, s.close[i]!, s.volume[i]!);
    afterBar(engine);
  }
  return engine.finish();
}

const universe = fc.record({
  specs: fc.array(seriesSpec(), { minLength: 1, maxLength: 3 }),
  seed: fc.integer(),
  cash: fc.constantFrom(1_000, 10_000, 123_456.78),
  broker: brokerConfig,
});

const series = (specs: readonly Parameters<typeof buildSeries>[1][]) => specs.map((s, i) => buildSeries(SYMBOLS[i]!, s));
const flattenAt = (cols: readonly BarColumns[]) => Object.fromEntries(cols.map((c) => [c.symbol, c.length - 2]));
const newLog = (): Log => ({ fills: [], afterBar: [] });

/** Equity at each curve point rebuilt from the fills alone: start cash, then one point per close time. */
function rebuiltCurve(startCash: number, log: Log): { ts: number; equity: number; scale: number }[] {
  let cash = startCash;
  const qty = new Map<string, number>();
  const mark = new Map<string, number>();
  let next = 0;
  const out: { ts: number; equity: number; scale: number }[] = [];
  log.afterBar.forEach((e, i) => {
    mark.set(e.symbol, e.close);
    for (; next < e.fills; next++) {
      const f = log.fills[next]!;
      const signed = f.side === 'buy' ? f.amount : -f.amount;
      cash -= signed * f.price + f.fee;
      qty.set(f.symbol, (qty.get(f.symbol) ?? 0) + signed);
    }
    if (log.afterBar[i + 1]?.ts === e.ts) return; // several symbols close at this instant
    let equity = cash;
    let scale = Math.abs(cash) + startCash;
    for (const [s, q] of qty) {
      equity += q * mark.get(s)!;
      scale += Math.abs(q * mark.get(s)!);
    }
    out.push({ ts: e.ts, equity, scale });
  });
  return out;
}

describe('accounting properties (fast-check)', () => {
  it('cash + Σ qty × close = equity at every point of the curve, rebuilt from the fills', () => {
    fc.assert(
      fc.property(universe, ({ specs, seed, cash, broker }) => {
        const cols = series(specs);
        const log = newLog();
        const out = runColumnar({ strategy: randomStrategy({ cash, log }), seed, cash, broker }, cols);
        expect(log.fills).toEqual(out.fills);
        const pts = rebuiltCurve(cash, log);
        expect(out.curve.ts.length).toBe(pts.length + 1);
        expect(out.curve.ts[0]).toBe(0);
        expect(out.curve.equity[0]).toBe(cash);
        pts.forEach((p, k) => {
          expect(out.curve.ts[k + 1]).toBe(p.ts);
          expect(Math.abs(out.curve.equity[k + 1]! - p.equity)).toBeLessThanOrEqual(1e-9 * p.scale);
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('open lots sum to the position of every symbol after every bar, all with the position’s sign', () => {
    fc.assert(
      fc.property(universe, fc.constantFrom<LotMethod>('fifo', 'lifo', 'hifo'), ({ specs, seed, cash, broker }, lotMethod) => {
        const cols = series(specs);
        const opts = { strategy: randomStrategy({ cash }), seed, cash, broker, lotMethod };
        const out = drive(opts, cols, (engine) => {
          const p = engine.portfolio;
          for (const s of p.symbols()) {
            const q = p.qty(s);
            const lots = p.lots(s);
            const sum = lots.reduce((a, l) => a + l.qty, 0);
            const gross = lots.reduce((a, l) => a + Math.abs(l.qty), 0);
            expect(Math.abs(sum - q)).toBeLessThanOrEqual(1e-9 * Math.max(1e-9, gross));
            if (q === 0) expect(lots).toHaveLength(0);
            for (const l of lots) expect(Math.sign(l.qty)).toBe(Math.sign(q));
          }
        });
        // The hand-driven loop is the same run as the real driver.
        expect(out.resultHash).toBe(runColumnar({ ...opts, strategy: randomStrategy({ cash }) }, cols).resultHash);
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });

  it('every fee is ≥ 0 and equals amount × price × the maker or taker rate', () => {
    fc.assert(
      fc.property(universe, ({ specs, seed, cash, broker }) => {
        const out = runColumnar({ strategy: randomStrategy({ cash }), seed, cash, broker }, series(specs));
        let total = 0;
        for (const f of out.fills) {
          expect(f.fee).toBeGreaterThanOrEqual(0);
          const bps = f.liquidity === 'maker' ? broker.makerFeeBps! : broker.takerFeeBps!;
          expect(Math.abs(f.fee - (f.amount * f.price * bps) / 10_000)).toBeLessThanOrEqual(1e-12 * f.amount * f.price);
          total += f.fee;
        }
        expect(Math.abs(out.final.fees - total)).toBeLessThanOrEqual(1e-9 * (total + 1));
      }),
      { numRuns: RUNS },
    );
  });

  const flatBroker = { makerFeeBps: 0, takerFeeBps: 0, slippage: { kind: 'none' as const }, latencyMs: 0, maxVolumeShare: Infinity };

  it('a flat round trip with zero fees and slippage returns exactly the start cash (integer prices and sizes)', () => {
    let trips = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 4, max: 30 }),
        fc.integer(),
        fc.constantFrom('next-open' as const, 'close' as const),
        (price, n, seed, fillTiming) => {
          const cash = 1_000_000;
          const cols = [flatSeries('AAA/USD', price, n)];
          // Margin account: a spot cap would cut sizes to fractions, and exactness is the point here.
          const broker = { ...flatBroker, fillTiming, cashOnly: false };
          const out = runColumnar({ strategy: randomStrategy({ cash, flattenAt: flattenAt(cols), integerSizes: true }), seed, cash, broker }, cols);
          expect(out.final.positions.every((p) => p.qty === 0)).toBe(true);
          expect(out.final.cash).toBe(cash);
          expect(out.curve.equity.at(-1)).toBe(cash);
          trips += out.trades.length;
        },
      ),
      { numRuns: RUNS },
    );
    expect(trips).toBeGreaterThan(RUNS / 2);
  });

  it('… and within 1e-9 of it for prices and sizes that are not exactly representable', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.0001, max: 1e5, noNaN: true }), fc.integer({ min: 4, max: 30 }), fc.integer(), brokerConfig, (price, n, seed, b) => {
        const cash = 10_000.01;
        const cols = [flatSeries('AAA/USD', price, n)];
        const broker = { ...flatBroker, fillTiming: b.fillTiming!, cashOnly: b.cashOnly! };
        const out = runColumnar({ strategy: randomStrategy({ cash, flattenAt: flattenAt(cols) }), seed, cash, broker }, cols);
        expect(out.final.positions.every((p) => p.qty === 0)).toBe(true);
        expect(Math.abs(out.final.cash - cash)).toBeLessThanOrEqual(1e-9 * cash);
      }),
      { numRuns: RUNS },
    );
  });

  it('once flat, realised P&L does not depend on the lot method (FIFO = LIFO = HIFO = sells − buys)', () => {
    let lotOrderMattered = 0;
    // Longer, busier runs: lots at several prices, partly closed, are where the methods differ.
    const busy = fc.record({ specs: fc.array(seriesSpec(15, 40), { minLength: 1, maxLength: 2 }), seed: fc.integer(), cash: fc.constantFrom(1_000, 123_456.78), broker: brokerConfig });
    fc.assert(
      fc.property(busy, ({ specs, seed, cash, broker }) => {
        const cols = series(specs);
        const b = { ...broker, latencyMs: 0, maxVolumeShare: Infinity };
        const realised: Record<string, number[]> = {};
        const run = (lotMethod: LotMethod) =>
          drive({ strategy: randomStrategy({ cash, flattenAt: flattenAt(cols) }), params: { activity: 1 }, seed, cash, broker: b, lotMethod }, cols, (e) =>
            (realised[lotMethod] ??= []).push(e.portfolio.realizedPnl),
          );
        const [fifo, lifo, hifo] = (['fifo', 'lifo', 'hifo'] as const).map(run) as [RunOutput, RunOutput, RunOutput];
        expect(lifo.fills).toEqual(fifo.fills);
        expect(hifo.fills).toEqual(fifo.fills);
        for (const r of [fifo, lifo, hifo]) expect(r.final.positions.every((p) => p.qty === 0)).toBe(true);
        // Gross realised P&L of a flat book is what the sells brought in minus what the buys cost.
        let flow = 0;
        let notional = 0;
        for (const f of fifo.fills) {
          flow += (f.side === 'sell' ? 1 : -1) * f.amount * f.price;
          notional += f.amount * f.price;
        }
        const tol = 1e-9 * (notional + 1);
        for (const r of [fifo, lifo, hifo]) expect(Math.abs(r.final.realizedPnl - flow)).toBeLessThanOrEqual(tol);
        expect(Math.abs(lifo.final.realizedPnl - fifo.final.realizedPnl)).toBeLessThanOrEqual(tol);
        expect(Math.abs(hifo.final.realizedPnl - fifo.final.realizedPnl)).toBeLessThanOrEqual(tol);
        // Cash never looks at lots: it is bit-identical, and it is start + realised − fees.
        expect(lifo.final.cash).toBe(fifo.final.cash);
        expect(hifo.final.cash).toBe(fifo.final.cash);
        expect(Math.abs(fifo.final.cash - (cash + flow - fifo.final.fees))).toBeLessThanOrEqual(tol + 1e-9 * cash);
        // Runs where the methods realised different amounts along the way are the ones that test something.
        const path = (m: string) => JSON.stringify(realised[m]);
        if (path('fifo') !== path('lifo') || path('fifo') !== path('hifo')) lotOrderMattered++;
      }),
      { numRuns: 100 },
    );
    expect(lotOrderMattered).toBeGreaterThan(20);
  });

  it('replaying the run’s fills through a fresh Portfolio gives the same final snapshot', () => {
    fc.assert(
      fc.property(universe, fc.constantFrom<LotMethod>('fifo', 'lifo', 'hifo'), ({ specs, seed, cash, broker }, lotMethod) => {
        const cols = series(specs);
        const out = runColumnar({ strategy: randomStrategy({ cash }), seed, cash, broker, lotMethod }, cols);
        const fresh = new Portfolio({ cash, lotMethod });
        // The engine opens one book per symbol up front; the same order makes the totals sum alike.
        for (const c of cols) fresh.symbolIndex(c.symbol);
        for (const f of out.fills) fresh.applyFill(f);
        for (const c of cols) fresh.mark(c.symbol, c.close[c.length - 1]!);
        expect(fresh.snapshot()).toEqual(out.final);
      }),
      { numRuns: RUNS },
    );
  });

  it('the random strategies do exercise the broker (guards the properties against vacuity)', () => {
    const seen = { fills: 0, maker: 0, taker: 0, partial: 0, cancelled: 0, short: 0 };
    fc.assert(
      fc.property(universe, ({ specs, seed, cash, broker }) => {
        const out = runColumnar({ strategy: randomStrategy({ cash }), seed, cash, broker }, series(specs));
        seen.fills += out.fills.length;
        for (const f of out.fills) seen[f.liquidity]++;
        for (const o of out.orders) {
          if (o.status === 'cancelled') seen.cancelled++;
          if (o.filled > 0 && o.filled < o.amount) seen.partial++;
        }
        if (out.final.positions.some((p) => p.qty < 0)) seen.short++;
      }),
      { numRuns: 100, seed: 42 },
    );
    for (const [k, v] of Object.entries(seen)) expect(v, k).toBeGreaterThan(0);
  });
});

