import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../engine/errors.ts';
import { verify, type JournalEntry } from '../../engine/journal.ts';
import { openStore } from '../../datasets/store.ts';
import { writeJournal } from '../../datasets/journal-store.ts';
import { readAuditParquet, writeAuditParquet } from '../../reports/audit-parquet.ts';
import { csInProcess as cs } from '../support/cli.ts';
import { clone, sampleJournal } from '../engine/journal.support.ts';

/** The sample journal: 17 entries, decisions d1..d4, orders o1..o4 (see test/engine/journal.support.ts). */
const entries = sampleJournal().entries();
let dir: string;
let c: DuckDBConnection;
let db: DuckDBInstance;
const f = (name: string): string => join(dir, name);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-audit-parquet-'));
  db = await DuckDBInstance.create(':memory:');
  c = await db.connect();
});
afterAll(() => {
  c.closeSync();
  db.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

/** Rows as DuckDB's own Parquet reader sees them (not through the module under test). */
async function rowsOf(path: string): Promise<Record<string, unknown>[]> {
  const r = await c.runAndReadAll(`SELECT *, payload::VARCHAR AS payload_text FROM read_parquet('${path}') ORDER BY seq`);
  return r.getRowObjectsJS() as Record<string, unknown>[];
}

const entriesOf = (rows: Record<string, unknown>[]): JournalEntry[] =>
  rows.map((r) => ({
    seq: Number(r.seq), ts: Number(r.ts), type: r.type, payload: JSON.parse(String(r.payload_text)), prevHash: String(r.prev_hash), hash: String(r.hash),
  }) as JournalEntry);

/** Canonical JSON written out here from the journal's documented rule (sorted keys), independent of engine/hash.ts. */
function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${sortedJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Copies a Parquet file with `select` applied, keeping its key-value metadata (a forger would). */
async function forge(src: string, dst: string, select: string): Promise<void> {
  const meta = await c.runAndReadAll(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${src}')`);
  const kv = (meta.getRowObjectsJS() as { k: string; v: string }[]).map((m) => `${m.k}: '${m.v}'`).join(', ');
  await c.run(`COPY (${select.replaceAll('$SRC', `read_parquet('${src}')`)}) TO '${dst}' (FORMAT parquet, KV_METADATA {${kv}})`);
}

describe('audit export as Parquet', () => {
  let file: string;
  beforeAll(async () => {
    file = f('audit.parquet');
    const r = await writeAuditParquet(entries, file, { source: 'sample' });
    expect(r).toEqual({ entries: 17, head: { seq: 17, hash: entries[16]!.hash } });
  });

  it('read back by DuckDB: one row per entry with the chain columns, and the chain verifies from the file alone', async () => {
    const rows = await rowsOf(file);
    expect(rows).toHaveLength(17);
    expect(Object.keys(rows[0]!).slice(0, 12)).toEqual(['run_id', 'seq', 'ts', 'time', 'type', 'payload', 'prev_hash', 'hash', 'decision_id', 'order_id', 'agent_id', 'symbol']);
    const back = entriesOf(rows);
    expect(back).toEqual(clone(entries));
    const v = verify(back);
    expect(v).toEqual({ ok: true, count: 17, head: { seq: 17, hash: entries[16]!.hash } });
    // The hash recomputed by hand from the row (sha256 of the sorted-key JSON of the five fields).
    const fill = rows[9]!;
    const text = sortedJson({ payload: JSON.parse(String(fill.payload_text)), prevHash: fill.prev_hash, seq: Number(fill.seq), ts: Number(fill.ts), type: fill.type });
    expect(createHash('sha256').update(text).digest('hex')).toBe(fill.hash);
    expect(fill.prev_hash).toBe(rows[8]!.hash);
  });

  it('auditor columns: every order entry and fill names its decision; the head is in the file metadata', async () => {
    const rows = await rowsOf(file);
    expect(rows.map((r) => [Number(r.seq), r.type, r.decision_id, r.order_id])).toEqual([
      [1, 'run_start', null, null], [2, 'decision', 'd1', null], [3, 'order_submitted', 'd1', 'o1'], [4, 'order_accepted', 'd1', 'o1'],
      [5, 'fill', 'd1', 'o1'], [6, 'fill', 'd1', 'o1'], [7, 'decision', 'd2', null], [8, 'order_submitted', 'd2', 'o2'],
      [9, 'order_accepted', 'd2', 'o2'], [10, 'fill', 'd2', 'o2'], [11, 'decision', 'd3', null], [12, 'order_submitted', 'd3', 'o3'],
      [13, 'order_accepted', 'd3', 'o3'], [14, 'decision', 'd4', null], [15, 'order_rejected', 'd4', 'o4'], [16, 'killswitch', null, null],
      [17, 'run_end', null, null],
    ]);
    expect(new Set(rows.map((r) => r.run_id))).toEqual(new Set(['r1']));
    expect((rows[4]!.time as Date).toISOString()).toBe('2024-01-01T00:02:00.000Z');
    const sql = await c.runAndReadAll(`SELECT payload->>'$.breach.limit' AS lim FROM read_parquet('${file}') WHERE type = 'order_rejected'`);
    expect(sql.getRowObjectsJS()).toEqual([{ lim: 'maxPositionNotional' }]);
    const meta = await c.runAndReadAll(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${file}') WHERE decode(key) LIKE 'head_%' ORDER BY 1`);
    expect(meta.getRowObjectsJS()).toEqual([{ k: 'head_hash', v: entries[16]!.hash }, { k: 'head_seq', v: '17' }]);
  });

  it('one changed row, a reordered file or a cut tail → verify fails and says where', async () => {
    const changed = f('changed.parquet');
    await forge(file, changed, `SELECT * REPLACE (CASE WHEN seq = 10 THEN replace(payload::VARCHAR, '"price":110', '"price":111')::JSON ELSE payload END AS payload) FROM $SRC ORDER BY seq`);
    const a = await readAuditParquet(changed);
    expect(verify(a.entries, { expectedHead: a.head! })).toMatchObject({ ok: false, index: 9, problem: 'hash-mismatch' });

    const cut = f('cut.parquet');
    await forge(file, cut, 'SELECT * FROM $SRC WHERE seq < 17 ORDER BY seq');
    const b = await readAuditParquet(cut);
    expect(verify(b.entries).ok).toBe(true); // the chain alone cannot see a cut tail…
    expect(verify(b.entries, { expectedHead: b.head! })).toMatchObject({ ok: false, problem: 'head-mismatch' }); // …the recorded head can

    const swapped = f('swapped.parquet');
    await forge(file, swapped, 'SELECT * FROM $SRC ORDER BY CASE seq WHEN 5 THEN 6 WHEN 6 THEN 5 ELSE seq END');
    expect(verify((await readAuditParquet(swapped)).entries)).toMatchObject({ ok: false, problem: 'reordered' });
  });

  it('an altered journal is refused and nothing is written; a file that is not an audit export is an InputError', async () => {
    const bad = clone(entries);
    (bad[4]!.payload as { fee: number }).fee = 0;
    const out = f('refused.parquet');
    await expect(writeAuditParquet(bad, out, { source: 'run r1' })).rejects.toThrow(/run r1: the journal does not verify \(hash-mismatch at entry 5/);
    expect(existsSync(out)).toBe(false);
    await c.run(`COPY (SELECT 1 AS x) TO '${f('other.parquet')}' (FORMAT parquet)`);
    await expect(readAuditParquet(f('other.parquet'))).rejects.toThrow(InputError);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('cs audit export --format parquet / cs audit verify', () => {
  let store: string;
  beforeAll(async () => {
    store = f('s.duckdb');
    const s = await openStore(store);
    await writeJournal(s, 'r1', entries);
    await s.close();
  });

  it('exports a stored run and re-verifies the file; a tampered file exits 1 naming the row', async () => {
    const out = f('cli.parquet');
    const r = await cs(['audit', 'export', '--run', 'r1', '--db', store, '--format', 'parquet', '--out', out]);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toContain(`wrote 17 journal entries of run r1 (head seq 17 ${entries[16]!.hash}) to ${out} (parquet)`);
    const ok = await cs(['audit', 'verify', out, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ ok: true, count: 17, runId: 'r1', recordedHead: { seq: 17 } });

    const bad = f('cli-bad.parquet');
    await forge(out, bad, `SELECT * REPLACE (CASE WHEN seq = 3 THEN replace(payload::VARCHAR, '"amount":1', '"amount":2')::JSON ELSE payload END AS payload) FROM $SRC ORDER BY seq`);
    const v = await cs(['audit', 'verify', bad]);
    expect(v.code).toBe(1);
    expect(v.err).toMatch(/hash-mismatch at row 3/);
    // the decision view reads the Parquet export too
    const d = await cs(['audit', 'decision', 'd2', '--file', out]);
    expect(d.code).toBe(0);
    expect(d.out).toContain('decision d2: sell BTC/USDT by a1');
  });

  it('bad input: parquet without --out, or verify of a missing file → exit 2', async () => {
    const a = await cs(['audit', 'export', '--run', 'r1', '--db', store, '--format', 'parquet']);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/--out/);
    const b = await cs(['audit', 'verify', f('nope.parquet')]);
    expect(b.code).toBe(2);
  });
});
