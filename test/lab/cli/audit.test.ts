import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../../datasets/store.ts';
import { exportJournal, writeJournal } from '../../../datasets/journal-store.ts';
import { csInProcess as cs } from '../../support/cli.ts';
import { sampleJournal } from '../../engine/journal.support.ts';
import { Journal } from '../../../engine/journal.ts';

let dir: string;
let db: string;
const f = (name: string): string => join(dir, name);
const entries = sampleJournal().entries();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-audit-cli-'));
  db = f('a.duckdb');
  const store = await openStore(db);
  await writeJournal(store, 'r1', entries);
  await store.close();
  await exportJournal(entries, 'jsonl', f('live.jsonl'));
  const lines = readFileSync(f('live.jsonl'), 'utf8').split('\n');
  writeFileSync(f('altered.jsonl'), lines.map((l, i) => (i === 9 ? l.replace('"price":110', '"price":111') : l)).join('\n'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cs audit export', () => {
  it('--run --format csv --out: the decision rows, and a summary naming the chain head', async () => {
    const out = f('d.csv');
    const r = await cs(['audit', 'export', '--run', 'r1', '--db', db, '--format', 'csv', '--out', out]);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toContain(`wrote 4 decision records of run r1 (17 entries, head seq 17 ${entries[16]!.hash})`);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\r\n');
    expect(lines).toHaveLength(5);
    expect(lines[1]).toMatch(/^decision,r1,d1,2024-01-01T00:01:00\.000Z,/);
    // a journal whose run_start does not name the run gets the id it is stored under
    const j = new Journal();
    j.append('decision', { id: 'd', ts: 0, agentId: 'a', symbol: 'BTC/USDT', action: 'hold', factors: {}, weights: {}, confidence: 1, reasoning: '', orderIds: [] }, 0);
    const store = await openStore(db);
    await writeJournal(store, 'r2', j.entries());
    await store.close();
    const r2 = await cs(['audit', 'export', '--run', 'r2', '--db', db, '--json']);
    expect(JSON.parse(r2.out).history.runId).toBe('r2');
  });

  it('--file (a live JSONL journal), JSONL on stdout: the same history as from the store', async () => {
    const a = await cs(['audit', 'export', '--file', f('live.jsonl')]);
    const b = await cs(['audit', 'export', '--run', 'r1', '--db', db, '--format', 'jsonl']);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.out).toBe(b.out);
    expect(JSON.parse(a.out.split('\n')[0]!)).toMatchObject({ kind: 'audit-export', journalEntries: 17, records: 4 });
  });

  it('--json: the summary and the history', async () => {
    const r = await cs(['audit', 'export', '--run', 'r1', '--db', db, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ source: 'run r1', records: 4, head: { seq: 17 } });
    expect(j.history.records.map((x: { decisionId: string }) => x.decisionId)).toEqual(['d1', 'd2', 'd3', 'd4']);
  });

  it('an altered journal, a missing run or file, no source: exit 2, a clear message, no file', async () => {
    const out = f('never.csv');
    const cases: [string[], RegExp][] = [
      [['--file', f('altered.jsonl')], /altered\.jsonl: the journal does not verify \(hash-mismatch at entry 10/],
      [['--run', 'nope', '--db', db], /no journal for run "nope"/],
      [['--file', f('missing.jsonl')], /missing\.jsonl: no such journal file/],
      [[], /give exactly one of --run <run-id> or --file/],
      [['--run', 'r1', '--db', f('none.duckdb')], /no such store/],
    ];
    for (const [args, msg] of cases) {
      const r = await cs(['audit', 'export', ...args, '--format', 'csv', '--out', out]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(msg);
      expect(existsSync(out)).toBe(false);
    }
  });
});
