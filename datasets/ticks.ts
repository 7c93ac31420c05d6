import { z } from 'zod';
import { InputError, describeIssues } from '../engine/errors.ts';
import { streamDoubles } from './columns.ts';
import { appendColumns, type Store, type TimeRange } from './store.ts';

/**
 * Trades and quotes (best bid/ask) in the store, in columns like bars. Keyed by exchange, symbol,
 * ts and seq: `seq` orders events of the same millisecond (the exchange's trade id or update id
 * where it is numeric, else a counter), exactly the (ts, seq) order the engine merges by.
 */

export interface TickKey {
  readonly exchange: string;
  readonly symbol: string;
}

export interface TradeColumns {
  readonly symbol: string;
  readonly length: number;
  readonly ts: Float64Array;
  readonly seq: Float64Array;
  readonly price: Float64Array;
  readonly amount: Float64Array;
  /** Aggressor side: 1 buy, −1 sell, 0 not reported. */
  readonly side: Int8Array;
}

export interface QuoteColumns {
  readonly symbol: string;
  readonly length: number;
  readonly ts: Float64Array;
  readonly seq: Float64Array;
  readonly bid: Float64Array;
  readonly bidSize: Float64Array;
  readonly ask: Float64Array;
  readonly askSize: Float64Array;
}

const tickKey = z.object({ exchange: z.string().trim().min(1, 'exchange must not be empty'), symbol: z.string().trim().min(1, 'symbol must not be empty') });

function parseTickKey(key: TickKey): TickKey {
  const r = tickKey.safeParse(key);
  if (!r.success) throw new InputError(`tick key: ${describeIssues(r.error, '(key)')}`);
  return r.data;
}

/** Integer ts and seq, finite values, no (ts, seq) twice. */
function checkTicks(what: string, length: number, ts: Float64Array, seq: Float64Array, values: Record<string, Float64Array>): void {
  for (const [f, c] of Object.entries({ ts, seq, ...values })) {
    if (c.length !== length) throw new InputError(`${what}: column ${f} has ${c.length} values, expected ${length}`);
  }
  let sorted = true;
  for (let i = 0; i < length; i++) {
    if (!Number.isSafeInteger(ts[i]!)) throw new InputError(`${what} row ${i}: ts ${ts[i]} is not an integer epoch-ms timestamp`);
    if (!Number.isSafeInteger(seq[i]!)) throw new InputError(`${what} row ${i}: seq ${seq[i]} is not an integer`);
    for (const [f, c] of Object.entries(values)) if (!Number.isFinite(c[i]!)) throw new InputError(`${what} row ${i}, field ${f}: ${c[i]} is not a finite number`);
    if (i > 0 && (ts[i]! < ts[i - 1]! || (ts[i] === ts[i - 1] && seq[i]! <= seq[i - 1]!))) sorted = false;
  }
  if (sorted) return;
  const order = Array.from({ length }, (_, i) => i).sort((a, b) => ts[a]! - ts[b]! || seq[a]! - seq[b]!);
  for (let k = 1; k < length; k++) {
    const a = order[k - 1]!, b = order[k]!;
    if (ts[a] === ts[b] && seq[a] === seq[b]) throw new InputError(`${what} row ${b}: same (ts, seq) as row ${a}`);
  }
}

let stageSeq = 0;

async function writeTicks(store: Store, table: 'trades' | 'quotes', key: TickKey, cols: readonly Float64Array[], length: number, select: string): Promise<number> {
  if (store.readOnly) throw new InputError(`${store.path} is open read-only; writing needs a read-write store`);
  const stage = `_stage_${table}_${process.pid}_${++stageSeq}`;
  return store.withConnection(async (conn) => {
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${stage} (${cols.map((_, j) => `c${j} DOUBLE`).join(', ')})`);
    try {
      await appendColumns(conn, stage, cols, length);
      await conn.run('BEGIN TRANSACTION');
      try {
        const r = await conn.run(`INSERT OR REPLACE INTO ${table} SELECT $exchange, $symbol, ${select} FROM ${stage}`, { exchange: key.exchange, symbol: key.symbol });
        await conn.run('COMMIT');
        return Number(r.rowsChanged);
      } catch (err) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      await conn.run(`DROP TABLE IF EXISTS ${stage}`);
    }
  });
}

async function loadTicks(store: Store, table: 'trades' | 'quotes', key: TickKey, range: TimeRange, select: string, width: number): Promise<Float64Array[]> {
  const where =
    'exchange = $exchange AND symbol = $symbol' + (range.from !== undefined ? ' AND ts >= $from' : '') + (range.to !== undefined ? ' AND ts < $to' : '');
  const params = {
    exchange: key.exchange,
    symbol: key.symbol,
    ...(range.from !== undefined ? { from: BigInt(Math.ceil(range.from)) } : {}),
    ...(range.to !== undefined ? { to: BigInt(Math.ceil(range.to)) } : {}),
  };
  return store.withConnection(async (conn) => {
    const n = Number((await conn.runAndReadAll(`SELECT count(*)::DOUBLE FROM ${table} WHERE ${where}`, params)).getRows()[0]![0]);
    const out = Array.from({ length: width }, () => new Float64Array(n));
    const got = await streamDoubles(conn, `SELECT ${select} FROM ${table} WHERE ${where} ORDER BY ts, seq`, params, out, n);
    if (got !== n) throw new Error(`expected ${n} ${table}, read ${got}`);
    return out;
  });
}

/** Upserts trades: a stored (ts, seq) is replaced. All or nothing. */
export async function writeTrades(store: Store, rawKey: TickKey, t: Omit<TradeColumns, 'symbol'>): Promise<number> {
  const key = parseTickKey(rawKey);
  checkTicks('trades', t.length, t.ts, t.seq, { price: t.price, amount: t.amount });
  if (t.side.length !== t.length) throw new InputError(`trades: column side has ${t.side.length} values, expected ${t.length}`);
  const side = Float64Array.from(t.side);
  return writeTicks(store, 'trades', key, [t.ts, t.seq, t.price, t.amount, side], t.length, `c0::BIGINT, c1::BIGINT, c2, c3, CASE WHEN c4 > 0 THEN 'buy' WHEN c4 < 0 THEN 'sell' END`);
}

export async function loadTrades(store: Store, rawKey: TickKey, range: TimeRange = {}): Promise<TradeColumns> {
  const key = parseTickKey(rawKey);
  const [ts, seq, price, amount, side] = await loadTicks(store, 'trades', key, range, `ts::DOUBLE, seq::DOUBLE, price, amount, (CASE side WHEN 'buy' THEN 1 WHEN 'sell' THEN -1 ELSE 0 END)::DOUBLE`, 5);
  return { symbol: key.symbol, length: ts!.length, ts: ts!, seq: seq!, price: price!, amount: amount!, side: Int8Array.from(side!) };
}

/** Upserts best bid/ask quotes: a stored (ts, seq) is replaced. All or nothing. */
export async function writeQuotes(store: Store, rawKey: TickKey, q: Omit<QuoteColumns, 'symbol'>): Promise<number> {
  const key = parseTickKey(rawKey);
  checkTicks('quotes', q.length, q.ts, q.seq, { bid: q.bid, bidSize: q.bidSize, ask: q.ask, askSize: q.askSize });
  return writeTicks(store, 'quotes', key, [q.ts, q.seq, q.bid, q.bidSize, q.ask, q.askSize], q.length, 'c0::BIGINT, c1::BIGINT, c2, c3, c4, c5');
}

export async function loadQuotes(store: Store, rawKey: TickKey, range: TimeRange = {}): Promise<QuoteColumns> {
  const key = parseTickKey(rawKey);
  const [ts, seq, bid, bidSize, ask, askSize] = await loadTicks(store, 'quotes', key, range, 'ts::DOUBLE, seq::DOUBLE, bid, bid_size, ask, ask_size', 6);
  return { symbol: key.symbol, length: ts!.length, ts: ts!, seq: seq!, bid: bid!, bidSize: bidSize!, ask: ask!, askSize: askSize! };
}
