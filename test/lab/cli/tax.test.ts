import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../../datasets/store.ts';
import { writeJournal } from '../../../datasets/journal-store.ts';
import { saveRun } from '../../../datasets/runs.ts';
import { generateBars } from '../../../datasets/synth.ts';
import { csInProcess as cs } from '../../support/cli.ts';
import { sampleJournal } from '../../engine/journal.support.ts';
import { cents } from '../../reports/tax.support.ts';

let dir: string;
let db: string;
const f = (name: string): string => join(dir, name);

// The hand-worked history of test/reports/tax.test.ts, as a user's CSV export.
const FILLS_CSV = [
  'orderId,symbol,side,amount,price,fee,ts',
  'b1,BTC/USD,buy,1,17000,10,2023-01-10T12:00:00Z',
  'b2,BTC/USD,buy,1,27000,15,2023-06-01T12:00:00Z',
  'b3,BTC/USD,buy,1,26000,13,2023-09-01T12:00:00Z',
  's1,BTC/USD,sell,1.5,62000,20,2024-03-01T12:00:00Z',
].join('\n') + '\n';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-tax-cli-'));
  db = f('t.duckdb');
  writeFileSync(f('fills.csv'), FILLS_CSV);
  writeFileSync(f('short.csv'), 'orderId,symbol,side,amount,price,fee,ts\nb,BTC/USD,buy,1,10,0,2024-01-01\ns,BTC/USD,sell,2,10,0,2024-01-02\n');
  writeFileSync(f('spec.json'), JSON.stringify({ s1: [{ lot: 'b3', qty: '0.5' }, { lot: 'b1', qty: '1' }] }));
  writeFileSync(f('bad-spec.json'), JSON.stringify({ s1: [{ lot: 'b1', qty: '1' }] }));
  const store = await openStore(db);
  await writeJournal(store, 'r1', sampleJournal().entries());
  await saveRun(store, {
    runId: 'nojournal', strategy: 's', strategySource: 's', codeHash: 'c', params: {}, seed: 1, symbols: ['BTC/USDT'], timeframe: '1d',
    fromTs: 0, toTs: 1, datasetHash: 'd', resultHash: 'r', metrics: {}, trades: [],
    curve: { ts: new Float64Array([0]), equity: new Float64Array([1]), benchmark: new Float64Array([1]) },
  });
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** CSV cells of a simple file (no quoted cells in these reports). */
const csv = (text: string): string[][] => text.trim().split('\r\n').map((l) => l.split(','));

describe('cs tax', () => {
  it('CSV on stdout: a column per Form 8949 field, Part I then Part II, dates as the form writes them', async () => {
    const r = await cs(['tax', '--year', '2024', '--method', 'fifo', '--fills', f('fills.csv')]);
    expect([r.code, r.err]).toEqual([0, '']);
    const [head, ...rows] = csv(r.out);
    expect(head!.slice(2, 10)).toEqual([
      '(a) Description of property', '(b) Date acquired', '(c) Date sold or disposed of', '(d) Proceeds (sales price)',
      '(e) Cost or other basis', '(f) Code(s)', '(g) Amount of adjustment', '(h) Gain or (loss)',
    ]);
    // worked in test/reports/tax.test.ts: 0.5 of b2 short, 1 of b1 long
    expect(rows.map((x) => x.slice(0, 10))).toEqual([
      ['I', 'C', '0.5 BTC', '06/01/2023', '03/01/2024', '30993.33', '13507.50', '', '', '17485.83'],
      ['II', 'F', '1 BTC', '01/10/2023', '03/01/2024', '61986.67', '17010.00', '', '', '44976.67'],
    ]);
  });

  it('--json: the report, whose totals are the exact sums of its rows', async () => {
    const r = await cs(['tax', '--year', '2024', '--method', 'hifo', '--fills', f('fills.csv'), '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ year: 2024, method: 'hifo', timeZone: 'UTC', scheduleD: { netGain: '52958.50' } });
    const rows = [...j.partI.rows, ...j.partII.rows] as { proceeds: string; costBasis: string; gain: string }[];
    const sum = (k: 'proceeds' | 'costBasis' | 'gain') => rows.reduce((s, x) => s + cents(x[k]), 0n);
    expect([sum('proceeds'), sum('costBasis'), sum('gain')]).toEqual([9298000n, 4002150n, 5295850n]);
  });

  it('--format html --out: one self-contained page with both parts and the Schedule D totals', async () => {
    const out = f('tax-2024.html');
    const r = await cs(['tax', '--year', '2024', '--method', 'specific', '--specific', f('spec.json'), '--fills', f('fills.csv'), '--format', 'html', '--out', out]);
    expect([r.code, r.err]).toEqual([0, '']);
    // specific: 0.5 of b3 short (gain 17,986.83), 1 of b1 long (44,976.67): net 62,963.50
    expect(r.out).toMatch(/wrote tax year 2024 \(specific\) to .*tax-2024\.html \(html\): short-term 1 rows, gain 17986\.83; long-term 1 rows, gain 44976\.67; net 62963\.50/);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|https?:\/\//);
    for (const s of ['Part I', 'Part II', 'Short-term totals from Form 8949 Part I (Schedule D line 3)', '62963.50', '0.5 BTC', '09/01/2023']) expect(html).toContain(s);
  });

  it('--run: the fills of a run journal in the store', async () => {
    const r = await cs(['tax', '--year', '2024', '--run', 'r1', '--db', db, '--json']);
    expect([r.code, r.err]).toEqual([0, '']);
    // sample journal: 2 × 0.5 BTC @ 100 + 0.05; sell 0.4 @ 110 − 0.044 → 43.96 − 40.04 = 3.92
    const j = JSON.parse(r.out);
    expect(j.partI.rows.map((x: { description: string; proceeds: string; costBasis: string; gain: string }) => [x.description, x.proceeds, x.costBasis, x.gain]))
      .toEqual([['0.4 BTC', '43.96', '40.04', '3.92']]);
  });

  it('bad year, method, file, specific file, short sale, missing journal: exit 2, a clear message, no file written', async () => {
    const out = f('never.csv');
    const cases: [string[], RegExp][] = [
      [['--year', '24', '--fills', f('fills.csv')], /--year: expects a 4-digit year/],
      [['--year', '1999', '--fills', f('fills.csv')], /--year: must be 2009 or later/],
      [['--year', '2024', '--method', 'avg', '--fills', f('fills.csv')], /argument 'avg' is invalid/],
      [['--year', '2024', '--fills', f('missing.csv')], /--fills .*missing\.csv: no such file/],
      [['--year', '2024', '--fills', f('spec.json')], /spec\.json:1: orderId/],
      [['--year', '2024', '--fills', f('short.csv')], /short\.csv:3 \(order s.*short sale/],
      [['--year', '2024', '--method', 'specific', '--fills', f('fills.csv')], /--specific <json file> goes with --method specific/],
      [['--year', '2024', '--method', 'specific', '--specific', f('bad-spec.json'), '--fills', f('fills.csv')], /names 1 units, the order sold 1\.5/],
      [['--year', '2024', '--fills', f('fills.csv'), '--run', 'r1'], /exactly one of --run <run-id> or --fills/],
      [['--year', '2024', '--run', 'nojournal', '--db', db], /run nojournal was stored without a journal/],
      [['--year', '2024', '--run', 'zzz', '--db', db], /no run "zzz"/],
      [['--year', '2024', '--run', 'r1', '--db', f('none.duckdb')], /no such store/],
    ];
    for (const [args, msg] of cases) {
      const r = await cs(['tax', ...args, '--out', out]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(msg);
      expect(existsSync(out), args.join(' ')).toBe(false);
    }
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    // an existing report is left as it was
    writeFileSync(f('keep.csv'), 'keep');
    const r = await cs(['tax', '--year', '2024', '--fills', f('short.csv'), '--out', f('keep.csv')]);
    expect([r.code, readFileSync(f('keep.csv'), 'utf8')]).toEqual([2, 'keep']);
  });

  it('--help names every option', async () => {
    const r = await cs(['tax', '--help']);
    expect(r.code).toBe(0);
    for (const o of ['--year', '--method', '--specific', '--run', '--fills', '--format', '--out', '--db', '--json']) expect(r.out).toContain(o);
  });
});

describe('cs backtest, then cs tax --run on its journal', () => {
  it('every year of a three-year run: rows for every round trip, gains equal to the engine\'s net trade P&L within rounding', async () => {
    const btDb = f('bt.duckdb');
    const store = await openStore(btDb);
    const bars = generateBars({ symbol: 'BTC/USDT', timeframeMs: 86_400_000, from: Date.UTC(2021, 0, 1), to: Date.UTC(2024, 0, 1), seed: 3, model: { kind: 'gbm', drift: 0, vol: 0.8 } });
    await store.writeBars({ exchange: 'synthetic', symbol: 'BTC/USDT', timeframe: '1d' }, bars);
    await store.close();
    const bt = await cs(['backtest', '--strategy', 'sma-cross', '--symbol', 'BTC/USDT', '--timeframe', '1d', '--param', 'fast=5', '--param', 'slow=20', '--db', btDb, '--json']);
    expect([bt.code, bt.err]).toEqual([0, '']);
    const run = JSON.parse(bt.out) as { runId: string; trades: { exitTime: string; pnl: number }[] };
    expect(run.trades.length).toBeGreaterThan(10);
    for (const year of [2021, 2022, 2023]) {
      const r = await cs(['tax', '--year', String(year), '--run', run.runId, '--db', btDb, '--json']);
      expect([r.code, r.err], String(year)).toEqual([0, '']);
      const rep = JSON.parse(r.out);
      const rows = [...rep.partI.rows, ...rep.partII.rows] as { gain: string; dateSold: string }[];
      // sma-cross goes all in and all out: one buy and one sell per round trip, so one row each
      const trades = run.trades.filter((t) => t.exitTime.startsWith(String(year)));
      expect(rows.length, String(year)).toBe(trades.length);
      // the engine sums floats; each row rounds basis and proceeds once: at most a cent apart per row
      const engineCents = trades.reduce((s, t) => s + t.pnl, 0) * 100;
      expect(Math.abs(Number(cents(rep.scheduleD.netGain)) - engineCents), String(year)).toBeLessThanOrEqual(rows.length + 1e-6);
    }
  });
});
