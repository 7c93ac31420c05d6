import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchLots, taxYearReport, type TaxFill, type TaxLotMethod } from '../../reports/tax.ts';
import { holdingTerm } from '../../reports/holding-period.ts';
import { cents } from './tax.support.ts';

/**
 * An independent calculation, written differently: every asset is a list of single units of
 * 0.001 (integers, no fractions), money in integer milli-cents, and each matching method is a way
 * of ordering that list (FIFO: take from the front; LIFO: from the back; HIFO: the list kept
 * sorted by cost per unit, dearest first). Rounding is integer division: half up to cents, and a
 * split shares remaining cents as floor((2·R·q + Q) / (2·Q)), the last piece taking what is left.
 * Fills are generated so their decimals are exact: amounts k/1000, prices and fees in cents.
 */
interface GenFill {
  readonly asset: 'BTC' | 'ETH';
  readonly side: 'buy' | 'sell';
  /** milli-units */
  readonly k: number;
  /** cents per unit */
  readonly priceC: number;
  /** cents */
  readonly feeC: number;
  readonly dayOffset: number;
}

const DAY = 86_400_000;
const T0 = Date.UTC(2022, 0, 1, 12);

/** A history whose sells never exceed what is held (random share of the holding); optionally closed at the end. */
const historyArb = (close: boolean) =>
  fc
    .array(
      fc.record({
        asset: fc.constantFrom('BTC' as const, 'ETH' as const),
        sell: fc.boolean(),
        k: fc.integer({ min: 1, max: 400 }),
        share: fc.double({ min: 0.01, max: 1, noNaN: true }),
        priceC: fc.integer({ min: 1, max: 9_000_000 }),
        feeBps: fc.integer({ min: 0, max: 50 }),
        gap: fc.integer({ min: 0, max: 200 }),
      }),
      { minLength: 1, maxLength: 30 },
    )
    .map((steps) => {
      const held = { BTC: 0, ETH: 0 };
      const out: GenFill[] = [];
      let d = 0;
      for (const s of steps) {
        d += s.gap;
        const k = s.sell ? Math.floor(held[s.asset] * s.share) : s.k;
        if (k <= 0) continue;
        const feeC = Math.floor((s.priceC * k * s.feeBps) / 1000 / 10_000);
        held[s.asset] += s.sell ? -k : k;
        out.push({ asset: s.asset, side: s.sell ? 'sell' : 'buy', k, priceC: s.priceC, feeC, dayOffset: d });
      }
      if (close) {
        for (const asset of ['BTC', 'ETH'] as const) {
          if (held[asset] > 0) out.push({ asset, side: 'sell', k: held[asset], priceC: 123_456, feeC: 7, dayOffset: d + 1 });
        }
      }
      return out;
    });

const toFills = (g: readonly GenFill[]): TaxFill[] =>
  g.map((f, i) => ({
    orderId: `o${i}`, symbol: `${f.asset}/${i % 2 ? 'USDT' : 'USD'}`, side: f.side,
    // k/1000 and c/100 as floats: String() of these is the exact decimal, which the report must read
    amount: f.k / 1000, price: f.priceC / 100, fee: f.feeC / 100, ts: T0 + f.dayOffset * DAY,
  }));

/** Half-up division of non-negative integers. */
const roundDiv = (n: bigint, d: bigint): bigint => (2n * n + d) / (2n * d);

interface RefRow {
  sell: number;
  lot: number;
  k: number;
  proceeds: bigint;
  basis: bigint;
}

function reference(g: readonly GenFill[], method: Exclude<TaxLotMethod, 'specific'>): RefRow[] {
  // basis of a buy in milli-cents: priceC × k (cents × milli-units) + fee × 1000
  const costMc = g.map((f) => BigInt(f.priceC) * BigInt(f.k) + (f.side === 'buy' ? 1n : -1n) * BigInt(f.feeC) * 1000n);
  const fillCents = costMc.map((mc) => roundDiv(mc, 1000n));
  const lotLeft = g.map((f) => ({ units: f.k, cents: 0n }));
  g.forEach((f, i) => (lotLeft[i]!.cents = fillCents[i]!));
  const units: Record<string, number[]> = { BTC: [], ETH: [] };
  const rows: RefRow[] = [];
  g.forEach((f, i) => {
    const list = units[f.asset]!;
    if (f.side === 'buy') {
      const block = new Array<number>(f.k).fill(i);
      if (method === 'hifo') {
        // dearer per unit first (cost_i / k_i compared crosswise); equal cost keeps the older lot first
        const dearer = (j: number) => costMc[j]! * BigInt(f.k) >= costMc[i]! * BigInt(g[j]!.k);
        let at = 0;
        while (at < list.length && dearer(list[at]!)) at++;
        list.splice(at, 0, ...block);
      } else list.push(...block);
      return;
    }
    const taken = method === 'lifo' ? list.splice(list.length - f.k, f.k).reverse() : list.splice(0, f.k);
    const pieces: { lot: number; k: number }[] = [];
    for (const lot of taken) {
      const last = pieces[pieces.length - 1];
      if (last && last.lot === lot) last.k++;
      else pieces.push({ lot, k: 1 });
    }
    let restCents = fillCents[i]!;
    let restK = f.k;
    for (const [n, p] of pieces.entries()) {
      const lot = lotLeft[p.lot]!;
      const basis = p.k === lot.units ? lot.cents : roundDiv(lot.cents * BigInt(p.k), BigInt(lot.units));
      lot.units -= p.k;
      lot.cents -= basis;
      const proceeds = n === pieces.length - 1 ? restCents : roundDiv(restCents * BigInt(p.k), BigInt(restK));
      restCents -= proceeds;
      restK -= p.k;
      rows.push({ sell: i, lot: p.lot, k: p.k, proceeds, basis });
    }
  });
  return rows;
}

const milli = (q: string): number => {
  const [i, fr = ''] = q.split('.');
  return Number(i) * 1000 + Number(fr.padEnd(3, '0'));
};

describe('tax lots against an independent per-unit calculation', () => {
  for (const method of ['fifo', 'lifo', 'hifo'] as const) {
    it(`${method}: the same rows, quantities and cents`, () => {
      fc.assert(
        fc.property(historyArb(false), (g) => {
          const ledger = matchLots(toFills(g), { method });
          const got = ledger.rows.map((r) => ({ sell: r.sellFill, lot: r.buyFill, k: milli(r.quantity), proceeds: cents(r.proceeds), basis: cents(r.costBasis) }));
          expect(got).toEqual(reference(g, method));
          expect(ledger.residues).toEqual([]);
          for (const r of ledger.rows) expect(cents(r.gain)).toBe(cents(r.proceeds) - cents(r.costBasis));
        }),
        { numRuns: 150 },
      );
    });
  }
});

describe('tax lot properties', () => {
  it('each unit sold is matched to exactly one acquired unit: Σ per sell = sell qty, Σ per buy + open = buy qty', () => {
    fc.assert(
      fc.property(historyArb(false), fc.constantFrom('fifo' as const, 'lifo' as const, 'hifo' as const), (g, method) => {
        const ledger = matchLots(toFills(g), { method });
        const bySell = new Map<number, number>();
        const byBuy = new Map<number, number>();
        for (const r of ledger.rows) {
          bySell.set(r.sellFill, (bySell.get(r.sellFill) ?? 0) + milli(r.quantity));
          byBuy.set(r.buyFill, (byBuy.get(r.buyFill) ?? 0) + milli(r.quantity));
          expect(g[r.buyFill]!.asset).toBe(g[r.sellFill]!.asset);
          expect(r.acquiredTs).toBeLessThanOrEqual(r.soldTs);
        }
        for (const o of ledger.openLots) byBuy.set(o.buyFill, (byBuy.get(o.buyFill) ?? 0) + milli(o.quantity));
        g.forEach((f, i) => {
          if (f.side === 'sell') expect(bySell.get(i)).toBe(f.k);
          else expect(byBuy.get(i)).toBe(f.k);
        });
      }),
      { numRuns: 150 },
    );
  });

  it('per year: Part totals are the exact sums of their rows, gain = proceeds − basis, and the years add up to the history', () => {
    fc.assert(
      fc.property(historyArb(false), fc.constantFrom('fifo' as const, 'lifo' as const, 'hifo' as const), (g, method) => {
        const ledger = matchLots(toFills(g), { method });
        let gain = 0n;
        for (const year of ledger.years) {
          const y = taxYearReport(ledger, year);
          for (const [part, line] of [[y.partI, y.scheduleD.shortTerm], [y.partII, y.scheduleD.longTerm]] as const) {
            const p = part.rows.reduce((s, r) => s + cents(r.proceeds), 0n);
            const b = part.rows.reduce((s, r) => s + cents(r.costBasis), 0n);
            const h = part.rows.reduce((s, r) => s + cents(r.gain), 0n);
            expect([cents(line.proceeds), cents(line.costBasis), cents(line.gain)]).toEqual([p, b, h]);
            expect(h).toBe(p - b);
            for (const r of part.rows) expect(r.term).toBe(part.part === 'I' ? 'short' : 'long');
          }
          gain += cents(y.scheduleD.netGain);
        }
        expect(gain).toBe(ledger.rows.reduce((s, r) => s + cents(r.gain), 0n));
      }),
      { numRuns: 100 },
    );
  });

  it('closed positions: FIFO, LIFO and HIFO total gain is the same, Σ sells\' cents − Σ buys\' cents', () => {
    fc.assert(
      fc.property(historyArb(true), (g) => {
        const fills = toFills(g);
        // each fill rounded once: (price × k ± fee × 1000) milli-cents → cents, half up
        const expected = g.reduce((s, f) => {
          const mc = BigInt(f.priceC) * BigInt(f.k) + (f.side === 'buy' ? 1n : -1n) * BigInt(f.feeC) * 1000n;
          return s + (f.side === 'sell' ? 1n : -1n) * roundDiv(mc, 1000n);
        }, 0n);
        for (const method of ['fifo', 'lifo', 'hifo'] as const) {
          const ledger = matchLots(fills, { method });
          expect(ledger.openLots).toEqual([]);
          expect(ledger.rows.reduce((s, r) => s + cents(r.gain), 0n), method).toBe(expected);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('specific identification that names the FIFO choice gives the FIFO report', () => {
    fc.assert(
      fc.property(historyArb(false), (g) => {
        const fills = toFills(g);
        const fifo = matchLots(fills, { method: 'fifo' });
        const spec: Record<string, { lot: string; qty: string }[]> = {};
        for (const r of fifo.rows) (spec[r.sellOrderId] ??= []).push({ lot: r.lotOrderId, qty: r.quantity });
        const specific = matchLots(fills, { method: 'specific', specific: spec });
        expect(specific.rows).toEqual(fifo.rows);
        expect(specific.unidentified).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });
});

describe('holding period against a calendar table', () => {
  const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  const leap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const dim = (y: number, m: number) => (m === 1 && leap(y) ? 29 : DAYS[m]!);
  /** Long-term iff the sale date is on or after (acquired + 1 day) + 1 year, Feb 29 → Mar 1. */
  const refLong = (a: { y: number; m: number; d: number }, s: { y: number; m: number; d: number }): boolean => {
    let { y, m, d } = a;
    d++;
    if (d > dim(y, m)) (d = 1), m++;
    if (m > 11) (m = 0), y++;
    y++;
    if (d > dim(y, m)) (d = 1), m++;
    return s.y * 10_000 + s.m * 100 + s.d >= y * 10_000 + m * 100 + d;
  };
  const date = fc.record({ y: fc.integer({ min: 2010, max: 2030 }), m: fc.integer({ min: 0, max: 11 }), d: fc.integer({ min: 1, max: 31 }) })
    .map((x) => ({ ...x, d: Math.min(x.d, dim(x.y, x.m)) }));

  it('matches the table rule on random dates and times of day', () => {
    fc.assert(
      fc.property(date, fc.integer({ min: 0, max: 800 }), fc.integer({ min: 0, max: DAY - 1 }), fc.integer({ min: 0, max: DAY - 1 }), (a, gap, ta, ts) => {
        const acq = Date.UTC(a.y, a.m, a.d) + ta;
        const soldDay = new Date(Date.UTC(a.y, a.m, a.d) + gap * DAY);
        const s = { y: soldDay.getUTCFullYear(), m: soldDay.getUTCMonth(), d: soldDay.getUTCDate() };
        expect(holdingTerm(acq, soldDay.getTime() + ts)).toBe(refLong(a, s) ? 'long' : 'short');
      }),
      { numRuns: 2000 },
    );
  });
});
