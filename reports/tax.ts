import { z } from 'zod';
import { InputError } from '../engine/errors.ts';
import type { Side } from '../engine/types.ts';
import {
  add, cmp, divRound, exact, formatCents, formatExact, isZero, min, mul, parseCents, parseExact, sign, sub, toCents, ZERO, type Exact,
} from './exact.ts';
import { holdingTerm, utcDate, utcYear, type HoldingTerm } from './holding-period.ts';

/**
 * Capital gains of spot crypto fills for Form 8949 and Schedule D (pure; no I/O).
 *
 * Matching. Every sell is matched to acquired units of the same ASSET (the base currency: BTC
 * bought on BTC/USDT and sold on BTC/USDC is one holding) by FIFO, LIFO, HIFO (highest cost per
 * unit, fee included; ties to the earliest lot) or specific identification (sell order id → the
 * buy orders and quantities the taxpayer named). A sell order left out of a specific
 * identification is matched FIFO, the rule the regulations apply when units are not adequately
 * identified (Treas. Reg. §1.1012-1(c)), and is listed in `unidentified`. Fills are taken in ts
 * order (ties keep the input order), over the whole history, so lots bought in earlier years are
 * there when a later year sells them. A sell with nothing left to match is a short sale, which
 * spot trading cannot produce: an InputError naming the fill.
 *
 * Money, exact. Quantities, prices and fees are read as decimals (numbers through `String(x)`),
 * never combined in floating point. A buy's cost basis is price × amount + fee and a sell's
 * proceeds are price × amount − fee, each computed exactly and rounded ONCE to cents, half away
 * from zero (half up: the amounts are positive). When a lot or a sale is split, each piece gets
 * round(remaining cents × piece qty / remaining qty) and the last piece gets the cents that are
 * left, so the pieces of a fill always add up to the fill's own cents: fees are shared pro rata
 * per unit, no cent is created or lost, and over a closed history the total gain is the same for
 * every method. A row's gain = its proceeds − its basis; totals are sums of rows (exact).
 *
 * Float residue. Fills written by the float64 engine can sell 1e-17 more than the exact decimal
 * holdings (0.1 + 0.2 bought, 0.3 sold): a shortfall of at most `dust` × the sell amount is not a
 * short sale, and a lot left with at most `dust` × its size is closed with the piece that took
 * the rest. Both are listed in `residues`; `dust: 0` turns this off.
 *
 * Money is in the quote currency, taken as US dollars: USD and USD stablecoins only. A pair
 * quoted in another asset (ETH/BTC) also disposes of the quote asset and needs dollar prices,
 * which fills do not carry: an InputError.
 */
export type TaxLotMethod = 'fifo' | 'lifo' | 'hifo' | 'specific';
export const TAX_LOT_METHODS: readonly TaxLotMethod[] = ['fifo', 'lifo', 'hifo', 'specific'];

/** The quote currencies read as dollars (stablecoins at $1). */
export const USD_QUOTES: readonly string[] = ['USD', 'USDT', 'USDC', 'BUSD', 'DAI', 'TUSD', 'USDP', 'FDUSD', 'PYUSD'];

export interface TaxFill {
  readonly orderId: string;
  readonly symbol: string;
  readonly side: Side;
  /** Base units, > 0. Decimal text is read exactly; a number through String(x). */
  readonly amount: number | string;
  readonly price: number | string;
  /** In quote currency, ≥ 0. */
  readonly fee: number | string;
  /** Epoch ms; the UTC date is the date acquired / sold. */
  readonly ts: number;
  /** Where the fill came from ("fills.csv:12", "journal seq 40"), for messages. */
  readonly ref?: string;
}

export interface SpecificLot {
  /** The buy order id of the lot. A buy order filled in several fills is one lot taken in fill order. */
  readonly lot: string;
  readonly qty: number | string;
}
/** Sell order id → the lots it sells, in order. The quantities must add up to the order's amount. */
export type SpecificIdentification = Readonly<Record<string, readonly SpecificLot[]>>;

export const specificIdentificationSchema = z.record(
  z.string().min(1),
  z.array(z.object({ lot: z.string().min(1), qty: z.union([z.string().min(1), z.number().positive()]) }).strict()).min(1),
);

export interface TaxOptions {
  readonly method: TaxLotMethod;
  readonly specific?: SpecificIdentification;
  /** Relative float residue tolerated (see above); default 1e-12, as the engine's portfolio. */
  readonly dust?: number;
}

/** One Form 8949 line: one sell fill matched to one lot. Money as exact decimal text, 2 places. */
export interface TaxRow {
  /** (a) e.g. "0.5 BTC" */
  readonly description: string;
  readonly asset: string;
  readonly quantity: string;
  /** (b) and (c), YYYY-MM-DD, UTC */
  readonly dateAcquired: string;
  readonly dateSold: string;
  /** (d) */
  readonly proceeds: string;
  /** (e) */
  readonly costBasis: string;
  /** (h) = (d) − (e) */
  readonly gain: string;
  readonly term: HoldingTerm;
  readonly taxYear: number;
  readonly symbol: string;
  readonly sellOrderId: string;
  readonly lotOrderId: string;
  readonly acquiredTs: number;
  readonly soldTs: number;
  /** Indexes into the input fills. */
  readonly sellFill: number;
  readonly buyFill: number;
}

export interface Residue {
  readonly kind: 'sell-exceeds-holdings' | 'lot-remainder';
  /** The sell (sell-exceeds-holdings) or the lot's buy (lot-remainder). */
  readonly orderId: string;
  readonly fill: number;
  /** The sell fill it belongs to. */
  readonly sellFill: number;
  /** The quantity left unmatched or closed with the piece. */
  readonly qty: string;
}

export interface OpenLot {
  readonly asset: string;
  readonly lotOrderId: string;
  readonly buyFill: number;
  readonly dateAcquired: string;
  readonly acquiredTs: number;
  readonly quantity: string;
  readonly costBasis: string;
}

/** Every disposal over the whole history. */
export interface TaxLedger {
  readonly method: TaxLotMethod;
  readonly rows: readonly TaxRow[];
  /** Tax years that have at least one disposal, ascending. */
  readonly years: readonly number[];
  /** Sell orders matched FIFO because the specific identification did not name them. */
  readonly unidentified: readonly string[];
  readonly residues: readonly Residue[];
  /** What is still held after the last fill. */
  readonly openLots: readonly OpenLot[];
}

export interface TaxTotals {
  readonly proceeds: string;
  readonly costBasis: string;
  /** (g): this report makes no adjustments */
  readonly adjustments: string;
  readonly gain: string;
  readonly rows: number;
}

export interface Form8949Part {
  readonly part: 'I' | 'II';
  readonly title: string;
  /** The check box: C/F through 2024, I/L (digital assets, no Form 1099-DA) from 2025. */
  readonly box: string;
  readonly rows: readonly TaxRow[];
  readonly totals: TaxTotals;
}

export interface ScheduleDLine extends TaxTotals {
  readonly label: string;
  /** The Schedule D line these totals go on, where the form's numbering is known (≤ 2024). */
  readonly line: string | null;
}

export interface TaxYearReport {
  readonly year: number;
  readonly method: TaxLotMethod;
  readonly timeZone: 'UTC';
  readonly partI: Form8949Part;
  readonly partII: Form8949Part;
  readonly scheduleD: {
    readonly shortTerm: ScheduleDLine;
    readonly longTerm: ScheduleDLine;
    /** Short-term gain + long-term gain. */
    readonly netGain: string;
  };
  readonly unidentified: readonly string[];
  readonly residues: readonly Residue[];
}

// ---------------------------------------------------------------------------------------------

interface ParsedFill {
  readonly index: number;
  /** Where the fill came from, for messages (built only when one is needed). */
  readonly ref: () => string;
  readonly orderId: string;
  readonly symbol: string;
  readonly asset: string;
  readonly side: Side;
  readonly amount: Exact;
  readonly ts: number;
  /** Cost basis (buy) or net proceeds (sell), in cents. */
  readonly cents: bigint;
  /** Buys: exact cost per unit, fee included (HIFO order). */
  readonly unitCost: Exact;
}

interface Lot {
  readonly fill: ParsedFill;
  remaining: Exact;
  cents: bigint;
}

interface Piece {
  readonly lot: Lot;
  qty: Exact;
  basis: bigint;
}

const fillShape = z.object({
  orderId: z.string().min(1, 'orderId is empty'),
  symbol: z.string().min(1),
  side: z.enum(['buy', 'sell']),
  amount: z.union([z.string(), z.number()]),
  price: z.union([z.string(), z.number()]),
  fee: z.union([z.string(), z.number()]),
  ts: z.number().int('ts must be integer epoch ms').min(0).max(8.64e15),
});

function describe(f: { ref?: string; index: number; orderId?: unknown; side?: unknown; amount?: unknown; symbol?: unknown; ts?: unknown }): string {
  const what = f.side && f.symbol ? `, ${String(f.side)} ${String(f.amount)} ${String(f.symbol)}` : '';
  const when = typeof f.ts === 'number' && Number.isFinite(f.ts) ? ` at ${new Date(f.ts).toISOString()}` : '';
  return `${f.ref ?? `fill ${f.index + 1}`} (order ${String(f.orderId ?? '?')}${what}${when})`;
}

function parseFill(raw: TaxFill, index: number): ParsedFill {
  const r = fillShape.safeParse(raw);
  const ref = (): string => describe({ ...(raw as object), index });
  if (!r.success) {
    const where = ref();
    const i = r.error.issues[0]!;
    throw new InputError(`${where}: ${i.path.join('.') || 'fill'}: ${i.message}`);
  }
  const f = r.data;
  const num = (field: 'amount' | 'price' | 'fee', positive: boolean): Exact => {
    const v = parseExact(f[field]);
    if (!v) throw new InputError(`${ref()}: ${field} "${String(f[field])}" is not a decimal number`);
    if (positive ? sign(v) <= 0 : sign(v) < 0) throw new InputError(`${ref()}: ${field} must be ${positive ? '> 0' : '≥ 0'}, got ${String(f[field])}`);
    return v;
  };
  const m = /^([^/:\s]+)\/([^/:\s]+)$/.exec(f.symbol);
  if (!m) throw new InputError(`${ref()}: symbol "${f.symbol}" is not a spot pair BASE/QUOTE (derivatives are not covered by these reports)`);
  const quote = m[2]!.toUpperCase();
  if (!USD_QUOTES.includes(quote)) {
    throw new InputError(`${ref()}: ${f.symbol} is quoted in ${m[2]}, not dollars; a trade against another crypto asset disposes of that asset too and needs dollar prices (quotes read as USD: ${USD_QUOTES.join(', ')})`);
  }
  const amount = num('amount', true);
  const price = num('price', false);
  const fee = num('fee', false);
  const notional = mul(price, amount);
  const value = f.side === 'buy' ? add(notional, fee) : sub(notional, fee);
  return {
    index, ref, orderId: f.orderId, symbol: f.symbol, asset: m[1]!.toUpperCase(), side: f.side, amount, ts: f.ts,
    cents: toCents(value),
    unitCost: f.side === 'buy' ? exact(value.n * amount.d, value.d * amount.n) : ZERO,
  };
}

/** round(cents × q / of), the pro-rata share of a remaining amount. */
const share = (cents: bigint, q: Exact, of: Exact): bigint => divRound(cents * q.n * of.d, q.d * of.n);

/** Matches every sell of the history to its lots and prices each match to the cent. */
export function matchLots(fills: readonly TaxFill[], opts: TaxOptions): TaxLedger {
  if (!TAX_LOT_METHODS.includes(opts.method)) throw new InputError(`lot method must be one of ${TAX_LOT_METHODS.join(', ')}, got "${String(opts.method)}"`);
  const dust = opts.dust ?? 1e-12;
  if (!(dust >= 0 && dust < 1e-3)) throw new InputError(`dust must be in [0, 0.001), got ${dust}`);
  const dustX = parseExact(dust)!;
  const parsed = fills.map(parseFill);
  const order = parsed.map((_, i) => i).sort((a, b) => parsed[a]!.ts - parsed[b]!.ts || a - b);

  // Specific identification: validated up front against the fills, so bad input changes nothing.
  const specQueues = new Map<string, { lot: string; qty: Exact }[]>();
  if (opts.method === 'specific') {
    const spec = specificIdentificationSchema.safeParse(opts.specific ?? {});
    if (!spec.success) {
      const i = spec.error.issues[0]!;
      throw new InputError(`specific identification: ${i.path.join('.') || '(root)'}: ${i.message}`);
    }
    const sellAmount = new Map<string, Exact>();
    const buyAsset = new Map<string, string>();
    const sellAsset = new Map<string, string>();
    for (const f of parsed) {
      if (f.side === 'sell') {
        sellAmount.set(f.orderId, add(sellAmount.get(f.orderId) ?? ZERO, f.amount));
        sellAsset.set(f.orderId, f.asset);
      } else buyAsset.set(f.orderId, f.asset);
    }
    for (const [sellId, lots] of Object.entries(spec.data)) {
      const total = sellAmount.get(sellId);
      if (!total) throw new InputError(`specific identification names sell order "${sellId}", which is not a sell in the fills`);
      let sum = ZERO;
      const queue = lots.map((l, k) => {
        const qty = parseExact(l.qty);
        if (!qty || sign(qty) <= 0) throw new InputError(`specific identification of sell order "${sellId}", entry ${k + 1}: qty "${String(l.qty)}" must be a decimal > 0`);
        const asset = buyAsset.get(l.lot);
        if (!asset) throw new InputError(`specific identification of sell order "${sellId}", entry ${k + 1}: lot "${l.lot}" is not a buy order in the fills`);
        if (asset !== sellAsset.get(sellId)) throw new InputError(`specific identification of sell order "${sellId}", entry ${k + 1}: lot "${l.lot}" bought ${asset}, the sell sold ${sellAsset.get(sellId)}`);
        sum = add(sum, qty);
        return { lot: l.lot, qty };
      });
      if (cmp(sum, total) !== 0) {
        throw new InputError(`specific identification of sell order "${sellId}" names ${formatExact(sum)} units, the order sold ${formatExact(total)}`);
      }
      specQueues.set(sellId, queue);
    }
  }

  const live = new Map<string, Lot[]>();
  const lotsOfOrder = new Map<string, Lot[]>();
  const rows: TaxRow[] = [];
  const residues: Residue[] = [];
  const unidentified = new Set<string>();

  const pickLot = (pool: Lot[], method: Exclude<TaxLotMethod, 'specific'>): Lot | undefined => {
    if (pool.length === 0) return undefined;
    if (method === 'fifo') return pool[0];
    if (method === 'lifo') return pool[pool.length - 1];
    let best = pool[0]!;
    for (const l of pool) if (cmp(l.fill.unitCost, best.fill.unitCost) > 0) best = l;
    return best;
  };

  /** Take q of a lot: its pro-rata basis; a dust remainder goes with it. */
  const take = (pool: Lot[], lot: Lot, q: Exact, sell: ParsedFill): Piece => {
    let basis = cmp(q, lot.remaining) === 0 ? lot.cents : share(lot.cents, q, lot.remaining);
    lot.remaining = sub(lot.remaining, q);
    lot.cents -= basis;
    if (sign(lot.remaining) > 0 && cmp(lot.remaining, mul(dustX, lot.fill.amount)) <= 0) {
      residues.push({ kind: 'lot-remainder', orderId: lot.fill.orderId, fill: lot.fill.index, sellFill: sell.index, qty: formatExact(lot.remaining) });
      q = add(q, lot.remaining);
      basis += lot.cents;
      lot.remaining = ZERO;
      lot.cents = 0n;
    }
    if (isZero(lot.remaining)) {
      const i = pool.indexOf(lot);
      if (i >= 0) pool.splice(i, 1);
    }
    return { lot, qty: q, basis };
  };

  for (const i of order) {
    const f = parsed[i]!;
    let pool = live.get(f.asset);
    if (!pool) live.set(f.asset, (pool = []));
    if (f.side === 'buy') {
      const lot: Lot = { fill: f, remaining: f.amount, cents: f.cents };
      pool.push(lot);
      const same = lotsOfOrder.get(f.orderId);
      if (same) same.push(lot);
      else lotsOfOrder.set(f.orderId, [lot]);
      continue;
    }
    const pieces: Piece[] = [];
    let need = f.amount;
    const queue = specQueues.get(f.orderId);
    if (queue) {
      while (sign(need) > 0 && queue.length > 0) {
        const entry = queue[0]!;
        const candidates = (lotsOfOrder.get(entry.lot) ?? []).filter((l) => sign(l.remaining) > 0);
        if (candidates.length === 0) {
          const bought = parsed.some((p) => p.orderId === entry.lot && p.side === 'buy' && p.ts <= f.ts);
          throw new InputError(`${f.ref()}: specific identification names lot "${entry.lot}", which ${bought ? 'has nothing left' : 'was not bought before this sale'}`);
        }
        const lot = candidates[0]!;
        const q = min(min(need, entry.qty), lot.remaining);
        pieces.push(take(pool, lot, q, f));
        need = sub(need, q);
        entry.qty = sub(entry.qty, q);
        if (isZero(entry.qty)) queue.shift();
      }
    } else {
      if (opts.method === 'specific') unidentified.add(f.orderId);
      const method = opts.method === 'specific' ? 'fifo' : opts.method;
      while (sign(need) > 0) {
        const lot = pickLot(pool, method);
        if (!lot) break;
        const q = min(need, lot.remaining);
        const piece = take(pool, lot, q, f);
        pieces.push(piece);
        need = sub(need, cmp(piece.qty, need) > 0 ? need : piece.qty);
      }
    }
    if (sign(need) > 0) {
      if (pieces.length > 0 && cmp(need, mul(dustX, f.amount)) <= 0) {
        residues.push({ kind: 'sell-exceeds-holdings', orderId: f.orderId, fill: f.index, sellFill: f.index, qty: formatExact(need) });
      } else {
        const held = pieces.reduce((s, p) => add(s, p.qty), ZERO);
        throw new InputError(
          `${f.ref()}: sells ${formatExact(f.amount)} ${f.asset} but only ${formatExact(held)} ${queue ? 'was identified and available' : 'is held'}; ` +
            'a short sale (a sell with no lot to match) is not possible in spot trading — are buys missing from the fills?',
        );
      }
    }
    // Proceeds shared over the pieces by quantity; the last piece takes what is left.
    let restCents = f.cents;
    let restQty = pieces.reduce((s, p) => add(s, p.qty), ZERO);
    pieces.forEach((p, k) => {
      const proceeds = k === pieces.length - 1 ? restCents : share(restCents, p.qty, restQty);
      restCents -= proceeds;
      restQty = sub(restQty, p.qty);
      const b = p.lot.fill;
      const quantity = formatExact(p.qty);
      rows.push({
        description: `${quantity} ${f.asset}`,
        asset: f.asset,
        quantity,
        dateAcquired: utcDate(b.ts),
        dateSold: utcDate(f.ts),
        proceeds: formatCents(proceeds),
        costBasis: formatCents(p.basis),
        gain: formatCents(proceeds - p.basis),
        term: holdingTerm(b.ts, f.ts),
        taxYear: utcYear(f.ts),
        symbol: f.symbol,
        sellOrderId: f.orderId,
        lotOrderId: b.orderId,
        acquiredTs: b.ts,
        soldTs: f.ts,
        sellFill: f.index,
        buyFill: b.index,
      });
    });
  }

  const openLots: OpenLot[] = [];
  for (const pool of live.values()) {
    for (const l of pool) {
      openLots.push({
        asset: l.fill.asset, lotOrderId: l.fill.orderId, buyFill: l.fill.index, dateAcquired: utcDate(l.fill.ts), acquiredTs: l.fill.ts,
        quantity: formatExact(l.remaining), costBasis: formatCents(l.cents),
      });
    }
  }
  openLots.sort((a, b) => a.acquiredTs - b.acquiredTs || a.buyFill - b.buyFill);
  return {
    method: opts.method,
    rows,
    years: [...new Set(rows.map((r) => r.taxYear))].sort((a, b) => a - b),
    unidentified: [...unidentified],
    residues,
    openLots,
  };
}

// ---------------------------------------------------------------------------------------------

const cents = parseCents;

function totalsOf(rows: readonly TaxRow[]): TaxTotals {
  let p = 0n;
  let b = 0n;
  for (const r of rows) {
    p += cents(r.proceeds);
    b += cents(r.costBasis);
  }
  return { proceeds: formatCents(p), costBasis: formatCents(b), adjustments: '0.00', gain: formatCents(p - b), rows: rows.length };
}

export const isValidTaxYear = (year: number): boolean => Number.isInteger(year) && year >= 2009 && year <= 9999;

/** Form 8949 Parts I and II and the Schedule D totals of one tax year (the year of the sale, UTC). */
export function taxYearReport(ledger: TaxLedger, year: number): TaxYearReport {
  if (!isValidTaxYear(year)) throw new InputError(`tax year must be a whole year from 2009 (the first bitcoin) on, got ${year}`);
  const inYear = ledger.rows
    .filter((r) => r.taxYear === year)
    .sort((a, b) => a.soldTs - b.soldTs || a.sellFill - b.sellFill);
  const short = inYear.filter((r) => r.term === 'short');
  const long = inYear.filter((r) => r.term === 'long');
  const digital = year >= 2025;
  const st = totalsOf(short);
  const lt = totalsOf(long);
  const sellIds = new Set(inYear.map((r) => r.sellOrderId));
  const sellFills = new Set(inYear.map((r) => r.sellFill));
  return {
    year,
    method: ledger.method,
    timeZone: 'UTC',
    partI: { part: 'I', title: 'Short-Term. Transactions involving capital assets you held 1 year or less', box: digital ? 'I' : 'C', rows: short, totals: st },
    partII: { part: 'II', title: 'Long-Term. Transactions involving capital assets you held more than 1 year', box: digital ? 'L' : 'F', rows: long, totals: lt },
    scheduleD: {
      shortTerm: { label: 'Short-term totals from Form 8949 Part I', line: digital ? null : '3', ...st },
      longTerm: { label: 'Long-term totals from Form 8949 Part II', line: digital ? null : '10', ...lt },
      netGain: formatCents(cents(st.gain) + cents(lt.gain)),
    },
    unidentified: ledger.unidentified.filter((id) => sellIds.has(id)),
    residues: ledger.residues.filter((r) => sellFills.has(r.sellFill)),
  };
}

/** matchLots over the whole history, then the report of one year. */
export function taxReport(fills: readonly TaxFill[], opts: TaxOptions & { readonly year: number }): TaxYearReport {
  if (!isValidTaxYear(opts.year)) throw new InputError(`tax year must be a whole year from 2009 (the first bitcoin) on, got ${opts.year}`);
  return taxYearReport(matchLots(fills, opts), opts.year);
}
