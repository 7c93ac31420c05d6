import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../lab/cli/main.ts';
import { openStore } from '../../../datasets/store.ts';
import { exportJournal, readJournalFile, writeJournal } from '../../../datasets/journal-store.ts';
import { verify } from '../../../engine/journal.ts';
import { sampleJournal } from '../../engine/journal.support.ts';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The real CLI entry, in process, with stdout/stderr captured. */
async function cs(...args: string[]): Promise<Run> {
  let stdout = '', stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  const saved = process.exitCode;
  try {
    const code = await main(['node', 'cs', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = saved;
  }
}

let dir: string;
let db: string;
let file: string;
const es = sampleJournal().entries();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-journal-cli-'));
  db = join(dir, 'j.duckdb');
  file = join(dir, 'live.jsonl');
  const store = await openStore(db);
  await writeJournal(store, 'r1', es);
  await writeJournal(store, 'r2', es.slice(0, 4));
  await store.close();
  await exportJournal(es, 'jsonl', file);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cs journal', () => {
  it('verify: ok for every run in the store and for a file', async () => {
    const r = await cs('journal', 'verify', '--db', db);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(new RegExp(`^ok run r1: ${es.length} entries`, "m"));
    expect(r.stdout).toMatch(/^ok run r2: 4 entries/m);
    const j = await cs('journal', 'verify', '--file', file, '--json');
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: true, results: [{ ok: true, count: es.length }] });
  });

  it('verify: exit 1 and the line when an entry was changed, removed or reordered', async () => {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const cases: [string, string[], RegExp][] = [
      ['changed', lines.map((l, i) => (i === 9 ? l.replace('"amount":0.4', '"amount":4') : l)), /hash-mismatch at line 10/],
      ['removed', lines.filter((_, i) => i !== 9), /seq-gap at line 10/],
      ['reordered', [...lines.slice(0, 2), lines[3]!, lines[2]!, ...lines.slice(4)], /reordered at line 3/],
    ];
    for (const [name, content, where] of cases) {
      expect(content.join('\n'), name).not.toBe(lines.join('\n'));
      const f = join(dir, `${name}.jsonl`);
      writeFileSync(f, content.join('\n') + '\n');
      const r = await cs('journal', 'verify', '--file', f);
      expect(r.code, name).toBe(1);
      expect(r.stderr, name).toMatch(where);
    }
  });

  it('why: decision, factors, weights, confidence, reasoning, checks and fills of an order', async () => {
    const r = await cs('journal', 'why', 'o1', '--db', db, '--run', 'r1');
    expect(r.code).toBe(0);
    for (const s of ['decision d1: buy BTC/USDT, confidence 62', 'factor rsi = 27.4 (weight 0.7)', 'reasoning: RSI oversold',
      'killSwitch, global.maxPositionNotional', 'fill: buy 0.5 @ 100']) expect(r.stdout).toContain(s);
    const rej = await cs('journal', 'why', 'o4', '--file', file, '--json');
    expect(JSON.parse(rej.stdout)).toMatchObject({ orderId: 'o4', rejected: { breach: { limit: 'maxPositionNotional' } }, decision: { id: 'd4' } });
    const byTime = await cs('journal', 'why', '2024-01-01T00:03:00Z', '--file', file, '--json');
    expect(JSON.parse(byTime.stdout).orderId).toBe('o2');
    const none = await cs('journal', 'why', 'nope', '--file', file);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no order "nope"');
  });

  it('export: jsonl that verifies, csv with a header', async () => {
    const out = join(dir, 'out.jsonl');
    expect((await cs('journal', 'export', '--format', 'jsonl', '--out', out, '--db', db, '--run', 'r1')).code).toBe(0);
    expect(verify((await readJournalFile(out)).entries)).toMatchObject({ ok: true, count: es.length });
    const csv = join(dir, 'out.csv');
    expect((await cs('journal', 'export', '--format', 'csv', '--out', csv, '--file', file)).code).toBe(0);
    expect(readFileSync(csv, 'utf8').split('\n')[0]).toBe('run_id,seq,ts,type,payload,prev_hash,hash');
    const bad = await cs('journal', 'export', '--format', 'xml', '--out', csv, '--file', file);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--format');
    const two = await cs('journal', 'export', '--format', 'csv', '--out', csv, '--db', db);
    expect([two.code, two.stderr]).toEqual([2, 'error: the store has 2 runs: choose one with --run\n']);
  });
});

describe('cs kill', () => {
  it('trips, refuses an override without a reason, overrides, and journals each transition', async () => {
    const f = join(dir, 'kill.jsonl');
    const trip = await cs('kill', 'trip', '--file', f, '--by', 'alice', '--reason', 'runaway agent', '--cancel-all', '--json');
    expect(trip.code).toBe(0);
    expect(JSON.parse(trip.stdout)).toMatchObject({ changed: true, transition: { from: 'ACTIVE', to: 'HALTED', by: 'alice', cancelAll: true }, head: { seq: 1 } });
    expect((await cs('kill', 'trip', '--file', f, '--by', 'bob', '--reason', 'again', '--to', 'reducing')).stdout).toMatch(/^no change: global: HALTED/);
    const noWhy = await cs('kill', 'override', '--file', f, '--by', 'carol', '--reason', '  ');
    expect(noWhy.code).toBe(2);
    expect(JSON.parse((await cs('kill', 'status', '--file', f, '--json')).stdout).global.state).toBe('HALTED');
    expect((await cs('kill', 'override', '--file', f, '--by', 'carol', '--reason', 'root cause fixed')).code).toBe(0);
    expect((await cs('kill', 'trip', '--file', f, '--agent', 'bot', '--to', 'reducing', '--by', 'dan', '--reason', 'watch it')).code).toBe(0);
    const st = await cs('kill', 'status', '--file', f);
    expect(st.stdout).toMatch(/^global: ACTIVE$/m);
    expect(st.stdout).toMatch(/^agent bot: REDUCING .* by dan: watch it$/m);
    const { entries } = await readJournalFile(f);
    expect(entries.map((e) => `${e.type}:${(e.payload as { to: string }).to}`)).toEqual(['killswitch:HALTED', 'override:ACTIVE', 'killswitch:REDUCING']);
    expect(verify(entries).ok).toBe(true);
  });

  it('refuses to act on a tampered journal', async () => {
    const f = join(dir, 'kill-bad.jsonl');
    await cs('kill', 'trip', '--file', f, '--by', 'alice', '--reason', 'stop');
    writeFileSync(f, readFileSync(f, 'utf8').replace('"HALTED"', '"REDUCING"'));
    expect((await cs('kill', 'status', '--file', f)).code).toBe(1);
    const o = await cs('kill', 'override', '--file', f, '--by', 'eve', '--reason', 'sneaky');
    expect(o.code).toBe(2);
    expect(o.stderr).toContain('hash-mismatch');
  });
});
