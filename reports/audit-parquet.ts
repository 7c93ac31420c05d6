import { rename, rm } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { z } from 'zod';
import { appendEntryColumns } from '../datasets/journal-store.ts';
import { InputError, describeIssues } from '../engine/errors.ts';
import { verify, type ChainHead, type EntryType, type JournalEntry } from '../engine/journal.ts';

/**
 * The audit export as Parquet: the journal itself, one row per entry, with the hash-chain columns
 * (seq, ts, type, payload JSON, prev_hash, hash) so anyone can re-verify the chain from the file
 * alone (`cs audit verify x.parquet`, or by hand: hash = sha256 of the canonical JSON of
 * {payload, prevHash, seq, ts, type}). Beside them, columns an auditor filters on without parsing
 * JSON: time, decision_id (the decision an order or fill belongs to), order_id, agent_id, symbol.
 * The chain head and entry count go into the file's key-value metadata, so a file cut short after
 * export is caught too (verify against that head). Written by DuckDB's Parquet writer.
 */
export const AUDIT_PARQUET_FORMAT = 'cryptosentinel-audit-journal';

const COLUMNS_SQL = `run_id VARCHAR, seq BIGINT NOT NULL, ts BIGINT NOT NULL, type VARCHAR NOT NULL, payload JSON NOT NULL,
  prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL, decision_id VARCHAR, order_id VARCHAR, agent_id VARCHAR, symbol VARCHAR`;

interface Links {
  decisionId: string | null;
  orderId: string | null;
  agentId: string | null;
  symbol: string | null;
}

/** Which decision and order each entry belongs to (fills name only their order). */
function linksOf(entries: readonly JournalEntry[]): Links[] {
  const decisionOfOrder = new Map<string, string>();
  for (const e of entries) {
    if (e.type === 'decision') for (const id of e.payload.orderIds) decisionOfOrder.set(id, e.payload.id);
    else if ((e.type === 'order_submitted' || e.type === 'order_rejected') && e.payload.decisionId) decisionOfOrder.set(e.payload.id, e.payload.decisionId);
  }
  return entries.map((e): Links => {
    switch (e.type) {
      case 'decision':
        return { decisionId: e.payload.id, orderId: null, agentId: e.payload.agentId, symbol: e.payload.symbol };
      case 'order_submitted':
      case 'order_rejected':
        return { decisionId: decisionOfOrder.get(e.payload.id) ?? null, orderId: e.payload.id, agentId: e.payload.agentId ?? null, symbol: e.payload.symbol ?? null };
      case 'order_accepted':
      case 'cancel':
        return { decisionId: decisionOfOrder.get(e.payload.id) ?? null, orderId: e.payload.id, agentId: null, symbol: null };
      case 'fill':
        return { decisionId: decisionOfOrder.get(e.payload.orderId) ?? null, orderId: e.payload.orderId, agentId: e.payload.agentId, symbol: e.payload.symbol };
      default:
        return { decisionId: null, orderId: null, agentId: null, symbol: null };
    }
  });
}

const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

async function withDuckDb<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    return await fn(c);
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

export interface AuditParquetResult {
  readonly entries: number;
  readonly head: ChainHead;
}

/**
 * Writes the journal as Parquet at `outPath`, whole or not at all (a temporary file renamed into
 * place). A journal whose chain does not verify is refused: no export from an altered record.
 */
export async function writeAuditParquet(entries: readonly JournalEntry[], outPath: string, opts: { runId?: string | null; source?: string } = {}): Promise<AuditParquetResult> {
  const v = verify(entries);
  if (!v.ok) throw new InputError(`${opts.source ?? 'journal'}: the journal does not verify (${v.problem} at entry ${v.index + 1}, ${v.message}); no audit export from an altered record`);
  const start = entries.find((e) => e.type === 'run_start');
  const runId = opts.runId ?? (start?.type === 'run_start' ? start.payload.runId : undefined) ?? null;
  const links = linksOf(entries);
  const tmp = `${outPath}.${process.pid}.tmp`;
  try {
    await withDuckDb(async (c) => {
      await c.run(`CREATE TABLE audit (${COLUMNS_SQL})`);
      const ap = await c.createAppender('audit');
      const text = (s: string | null) => (s === null ? ap.appendNull() : ap.appendVarchar(s));
      entries.forEach((e, i) => {
        const l = links[i]!;
        text(runId);
        appendEntryColumns(ap, e);
        text(l.decisionId);
        text(l.orderId);
        text(l.agentId);
        text(l.symbol);
        ap.endRow();
      });
      ap.flushSync();
      ap.closeSync();
      const kv = { format: AUDIT_PARQUET_FORMAT, version: '1', run_id: runId ?? '', entries: String(entries.length), head_seq: String(v.head.seq), head_hash: v.head.hash };
      const kvSql = Object.entries(kv).map(([k, x]) => `${k}: ${sqlString(x)}`).join(', ');
      await c.run(
        `COPY (SELECT run_id, seq, ts, epoch_ms(ts) AS time, type, payload, prev_hash, hash, decision_id, order_id, agent_id, symbol FROM audit ORDER BY seq)
         TO ${sqlString(tmp)} (FORMAT parquet, KV_METADATA {${kvSql}})`,
      );
    });
    await rename(tmp, outPath);
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof InputError) throw err;
    throw new InputError(`--out ${outPath}: ${(err as Error).message}`);
  }
  return { entries: entries.length, head: v.head };
}

const Row = z.object({
  seq: z.bigint(),
  ts: z.bigint(),
  type: z.string(),
  payload: z.string(),
  prev_hash: z.string(),
  hash: z.string(),
  run_id: z.string().nullable(),
});

export interface AuditParquetFile {
  readonly runId: string | null;
  readonly entries: JournalEntry[];
  /** The head recorded at export time (null when the file has no such metadata). */
  readonly head: ChainHead | null;
}

/** Reads an audit Parquet file back into journal entries (in file order: verify judges the order). */
export async function readAuditParquet(path: string): Promise<AuditParquetFile> {
  return withDuckDb(async (c) => {
    let rows: Record<string, unknown>[];
    let kv: Record<string, string>;
    try {
      const meta = await c.runAndReadAll(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${sqlString(path)})`);
      kv = Object.fromEntries((meta.getRowObjectsJS() as { k: string; v: string }[]).map((r) => [r.k, r.v]));
      const r = await c.runAndReadAll(`SELECT run_id, seq, ts, type, payload::VARCHAR AS payload, prev_hash, hash FROM read_parquet(${sqlString(path)})`);
      rows = r.getRowObjectsJS() as Record<string, unknown>[];
    } catch (err) {
      throw new InputError(`${path}: not an audit Parquet file with the journal columns (run_id, seq, ts, type, payload, prev_hash, hash): ${(err as Error).message.split('\n')[0]}`);
    }
    const entries = rows.map((raw, i) => {
      const p = Row.safeParse(raw);
      if (!p.success) throw new InputError(`${path}: row ${i + 1}: ${describeIssues(p.error, '(row)')}`);
      let payload: unknown;
      try {
        payload = JSON.parse(p.data.payload);
      } catch {
        throw new InputError(`${path}: row ${i + 1}: payload is not JSON`);
      }
      return { seq: Number(p.data.seq), ts: Number(p.data.ts), type: p.data.type as EntryType, payload, prevHash: p.data.prev_hash, hash: p.data.hash } as JournalEntry;
    });
    const headSeq = Number(kv.head_seq);
    const head = kv.head_hash && Number.isInteger(headSeq) ? { seq: headSeq, hash: kv.head_hash } : null;
    const runId = (rows[0]?.run_id as string | null | undefined) ?? (kv.run_id || null);
    return { runId, entries, head };
  });
}
