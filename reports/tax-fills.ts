import { z } from 'zod';
import { InputError } from '../engine/errors.ts';
import { verify, type JournalEntry } from '../engine/journal.ts';
import type { TaxFill } from './tax.ts';

/**
 * Fills for the tax report from outside text (pure: the caller reads the file). Numbers are kept
 * as the text the file has, so "0.1" stays exactly 0.1 and never passes through a float.
 *
 * - CSV with a header: order id (orderId | order_id | order | id), symbol, side, amount (amount |
 *   qty | quantity), price, fee, time (ts | timestamp | time | datetime | date: epoch ms or ISO
 *   8601, UTC when no zone is given). Other columns are ignored.
 * - JSONL: one fill object per line with the same fields, or a journal (entries with type and
 *   payload, as `cs journal export --format jsonl` and live journals write them): the chain is
 *   verified and the `fill` entries are used.
 */
const COLUMNS = {
  orderId: ['orderid', 'order_id', 'order', 'id'],
  symbol: ['symbol', 'pair', 'market'],
  side: ['side'],
  amount: ['amount', 'qty', 'quantity'],
  price: ['price'],
  fee: ['fee', 'fees', 'fee_quote'],
  ts: ['ts', 'timestamp', 'time', 'datetime', 'date'],
} as const;
type Field = keyof typeof COLUMNS;

/** Epoch ms from digits, or from ISO 8601 text (a time without a zone is UTC). */
export function parseFillTime(v: string | number, where: string): number {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new InputError(`${where}: ts ${v} is not an integer epoch ms`);
    return v;
  }
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : /[zZ]$|[+-]\d{2}:?\d{2}$/.test(s) ? s : `${s}Z`;
  const t = Date.parse(iso);
  if (!/^\d{4}-\d{2}-\d{2}/.test(s) || !Number.isFinite(t)) throw new InputError(`${where}: cannot read time "${v}" (use epoch ms or ISO 8601, e.g. 2024-03-01T12:00:00Z)`);
  return t;
}

/** Split CSV text into records (RFC 4180 quotes), each with the line it starts on. */
function csvRecords(text: string, source: string): { line: number; cells: string[] }[] {
  const out: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') (cell += '"'), i++;
        else quoted = false;
      } else {
        if (ch === '\n') line++;
        cell += ch;
      }
      continue;
    }
    if (ch === '"' && cell === '') (quoted = true), (any = true);
    else if (ch === ',') cells.push(cell), (cell = ''), (any = true);
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      if (any || cell !== '') cells.push(cell), out.push({ line: start, cells });
      cells = [];
      cell = '';
      any = false;
      line++;
      start = line;
    } else (cell += ch), (any = true);
  }
  if (quoted) throw new InputError(`${source}:${start}: a quoted field is not closed`);
  if (any || cell !== '') cells.push(cell), out.push({ line: start, cells });
  return out;
}

export function parseFillsCsv(text: string, source: string): TaxFill[] {
  const records = csvRecords(text.replace(/^\uFEFF/, ''), source);
  if (records.length === 0) throw new InputError(`${source}: empty file`);
  const header = records[0]!.cells.map((h) => h.trim().toLowerCase());
  const col = {} as Record<Field, number>;
  for (const [field, names] of Object.entries(COLUMNS) as [Field, readonly string[]][]) {
    const i = header.findIndex((h) => names.includes(h));
    if (i < 0) throw new InputError(`${source}:1: no ${field} column (accepted names: ${names.join(', ')}); header is "${header.join(',')}"`);
    col[field] = i;
  }
  return records.slice(1).map(({ line, cells }) => {
    const where = `${source}:${line}`;
    if (cells.length !== header.length) throw new InputError(`${where}: ${cells.length} fields, the header has ${header.length}`);
    const get = (f: Field): string => cells[col[f]]!.trim();
    const side = get('side').toLowerCase();
    if (side !== 'buy' && side !== 'sell') throw new InputError(`${where}: side must be buy or sell, got "${get('side')}"`);
    return {
      orderId: get('orderId'), symbol: get('symbol'), side, amount: get('amount'), price: get('price'), fee: get('fee') || '0',
      ts: parseFillTime(get('ts'), `${where}: ${header[col.ts]}`), ref: where,
    };
  });
}

const jsonFill = z.object({
  orderId: z.string().min(1),
  symbol: z.string().min(1),
  side: z.enum(['buy', 'sell']),
  amount: z.union([z.string(), z.number()]),
  price: z.union([z.string(), z.number()]),
  fee: z.union([z.string(), z.number()]).default(0),
  ts: z.union([z.string(), z.number()]),
});

export function parseFillsJsonl(text: string, source: string): TaxFill[] {
  const lines = text.split('\n');
  const objects: { line: number; value: unknown }[] = [];
  lines.forEach((l, i) => {
    if (!l.trim()) return;
    try {
      objects.push({ line: i + 1, value: JSON.parse(l) });
    } catch {
      throw new InputError(`${source}:${i + 1}: not a JSON object`);
    }
  });
  if (objects.length === 0) throw new InputError(`${source}: no fills (empty file)`);
  const isEntry = (v: unknown): boolean => typeof v === 'object' && v !== null && 'payload' in v && 'type' in v && 'hash' in v;
  if (objects.every((o) => isEntry(o.value))) {
    return fillsFromJournal(objects.map((o) => o.value as JournalEntry), source, (i) => `${source}:${objects[i]!.line}`);
  }
  return objects.map(({ line, value }) => {
    const where = `${source}:${line}`;
    const r = jsonFill.safeParse(value);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new InputError(`${where}: ${i.path.join('.') || 'fill'}: ${i.message}`);
    }
    return { ...r.data, ts: parseFillTime(r.data.ts, `${where}: ts`), ref: where };
  });
}

/** The fills of a journal, after checking its hash chain (a report must not come from an altered record). */
export function fillsFromJournal(entries: readonly JournalEntry[], source: string, refOf?: (index: number) => string): TaxFill[] {
  const v = verify(entries);
  if (!v.ok) throw new InputError(`${source}: the journal does not verify (${v.problem} at entry ${v.index + 1}, ${v.message}); no report from an altered record`);
  const fills: TaxFill[] = [];
  entries.forEach((e, i) => {
    if (e.type !== 'fill') return;
    const f = e.payload;
    fills.push({
      orderId: f.orderId, symbol: f.symbol, side: f.side, amount: f.amount, price: f.price, fee: f.fee, ts: f.ts,
      ref: refOf ? refOf(i) : `${source} seq ${e.seq}`,
    });
  });
  return fills;
}

/** A JSON array of fill objects; each error names the element ("fills.json[3]"). */
export function parseFillsJsonArray(text: string, source: string): TaxFill[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${source}: not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(value)) throw new InputError(`${source}: expected an array of fills`);
  return value.map((v, i) => {
    const where = `${source}[${i}]`;
    const r = jsonFill.safeParse(v);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new InputError(`${where}: ${issue.path.join('.') || 'fill'}: ${issue.message}`);
    }
    return { ...r.data, ts: parseFillTime(r.data.ts, `${where}: ts`), ref: where };
  });
}

/** By file extension: .csv → CSV; .jsonl/.ndjson/.json → JSONL, or a JSON array when the text is one. */
export function parseFills(text: string, source: string): TaxFill[] {
  if (/\.csv$/i.test(source)) return parseFillsCsv(text, source);
  if (/\.json$/i.test(source) && text.trimStart().startsWith('[')) return parseFillsJsonArray(text, source);
  if (/\.(jsonl|ndjson|json)$/i.test(source)) return parseFillsJsonl(text, source);
  throw new InputError(`${source}: unknown fills format (use a .csv or .jsonl file)`);
}
