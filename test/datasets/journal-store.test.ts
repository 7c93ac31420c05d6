import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { InputError } from '../../engine/errors.ts';
import { verify } from '../../engine/journal.ts';
import { openStore } from '../../datasets/store.ts';
import { exportJournal, FileJournal, listJournalRuns, readJournal, readJournalFile, writeJournal } from '../../datasets/journal-store.ts';
import { sampleJournal } from '../engine/journal.support.ts';

const dir = mkdtempSync(join(tmpdir(), 'cs-journal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('DuckDB journal table', () => {
  it('writes a run and reads back identical, verifiable entries; SQL can query payloads', async () => {
    const store = await openStore(join(dir, 'j.duckdb'));
    try {
      const es = sampleJournal().entries();
      expect(await writeJournal(store, 'r1', es)).toBe(es.length);
      const back = await readJournal(store, 'r1');
      expect(back).toEqual(es);
      expect(verify(back).ok).toBe(true);
      expect(await listJournalRuns(store)).toEqual([{ runId: 'r1', entries: es.length, firstTs: es[0]!.ts, lastTs: es.at(-1)!.ts }]);
      const limit = await store.withConnection((c) =>
        c.runAndReadAll("SELECT payload->>'$.breach.limit' FROM journal WHERE type = 'order_rejected'"));
      expect(limit.getRows()).toEqual([['maxPositionNotional']]);
      await expect(writeJournal(store, 'r1', es)).rejects.toThrow(/already has a journal/);
      expect(await readJournal(store, 'nope')).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('refuses a broken chain and writes nothing', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const es = [...sampleJournal().entries()];
    es.splice(3, 1);
    await expect(writeJournal(c, 'bad', es)).rejects.toThrow(InputError);
    expect(await readJournal(c, 'bad')).toEqual([]);
    c.closeSync();
    db.closeSync();
  });

  it('exports JSONL, CSV and Parquet', async () => {
    const es = sampleJournal().entries();
    await exportJournal(es, 'jsonl', join(dir, 'e.jsonl'));
    expect((await readJournalFile(join(dir, 'e.jsonl'))).entries).toEqual(es);
    await exportJournal(es, 'csv', join(dir, 'e.csv'), 'r1');
    const csv = readFileSync(join(dir, 'e.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('run_id,seq,ts,type,payload,prev_hash,hash');
    expect(csv).toHaveLength(es.length + 1);
    await exportJournal(es, 'parquet', join(dir, 'e.parquet'), 'r1');
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const r = await c.runAndReadAll(`SELECT count(*), max(seq), min(hash) FROM '${join(dir, 'e.parquet')}'`);
    expect(r.getRows()[0]!.map(Number).slice(0, 2)).toEqual([es.length, es.length]);
    c.closeSync();
    db.closeSync();
  });
});

describe('JSONL file journal', () => {
  it('appends durably, group-commits a tick, and continues the chain on reopen', async () => {
    const path = join(dir, 'live.jsonl');
    const j = await FileJournal.open(path);
    expect(j.opened).toEqual({ entries: 0, truncatedBytes: 0 });
    const acks = await Promise.all([1, 2, 3].map((i) => j.append('cancel', { id: `o${i}` }, i)));
    expect(acks.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(4); // on disk when acknowledged
    await j.close();
    const k = await FileJournal.open(path);
    expect(k.head).toEqual({ seq: 3, hash: acks[2]!.hash });
    await k.append('cancel', { id: 'o4' }, 4);
    await k.close();
    const r = await readJournalFile(path);
    expect(r.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(verify(r.entries).ok).toBe(true);
  });

  it('cuts a torn last line on reopen and keeps every complete entry', async () => {
    const path = join(dir, 'torn.jsonl');
    const es = sampleJournal().entries();
    const lines = es.map((e) => JSON.stringify(e) + '\n');
    writeFileSync(path, lines.slice(0, 5).join('') + lines[5]!.slice(0, 40));
    expect((await readJournalFile(path)).tornBytes).toBe(40);
    const j = await FileJournal.open(path);
    expect(j.opened).toEqual({ entries: 5, truncatedBytes: 40 });
    expect(statSync(path).size).toBe(lines.slice(0, 5).join('').length);
    const e6 = await j.append(es[5]!.type, es[5]!.payload as never, es[5]!.ts);
    expect(e6).toEqual(es[5]); // the same chain continues
    await j.close();
  });

  it('refuses to open a tampered file, naming the line, and changes nothing', async () => {
    const path = join(dir, 'tampered.jsonl');
    const es = sampleJournal().entries().map((e) => JSON.parse(JSON.stringify(e)));
    es[2].ts += 1;
    writeFileSync(path, es.map((e) => JSON.stringify(e) + '\n').join('') + '{"torn');
    const before = readFileSync(path);
    await expect(FileJournal.open(path)).rejects.toThrow(/tampered\.jsonl:3: hash-mismatch, seq 3:/);
    expect(readFileSync(path)).toEqual(before);
    appendFileSync(join(dir, 'garbage.jsonl'), 'nope\n{}\n');
    await expect(FileJournal.open(join(dir, 'garbage.jsonl'))).rejects.toThrow(/garbage\.jsonl:1/);
  });
});

describe('export of a damaged journal', () => {
  it('still writes CSV and Parquet (for inspection), duplicates included', async () => {
    const es = [...sampleJournal().entries()];
    es.splice(3, 0, es[2]!); // a duplicated entry
    await exportJournal(es, 'csv', join(dir, 'damaged.csv'), 'r9');
    expect(readFileSync(join(dir, 'damaged.csv'), 'utf8').trim().split('\n')).toHaveLength(es.length + 1);
  });
});
