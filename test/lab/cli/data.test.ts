import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../../lab/cli/main.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
const SHARED = resolve(ROOT, '../shared/datasets');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cs(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile('node', ['bin/cs.js', ...args], { cwd: ROOT, maxBuffer: 64 << 20, env: { ...process.env, CS_DB: '' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

let dir: string;
let db: string;
const KEY = ['--exchange', 'binance', '--symbol', 'BTC/USDT', '--timeframe', '1h'];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cs-data-cli-'));
  db = join(dir, 'cli.duckdb');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cs data', () => {
  it('import → ls → validate → export → resample', async () => {
    const imp = await cs('data', 'import', join(SHARED, 'binance-spot/BTCUSDT_1h.csv'), ...KEY, '--db', db, '--json');
    expect(imp.stderr).toBe('');
    expect(imp.code).toBe(0);
    expect(JSON.parse(imp.stdout)).toMatchObject({ rows: 34_349, first: Date.UTC(2022, 0, 1), format: 'csv' });

    const ls = await cs('data', 'ls', '--db', db, '--json');
    expect(JSON.parse(ls.stdout)).toEqual([{ exchange: 'binance', symbol: 'BTC/USDT', timeframe: '1h', rows: 34_349, first: Date.UTC(2022, 0, 1), last: Date.UTC(2025, 11, 2, 5) }]);

    const val = await cs('data', 'validate', ...KEY, '--db', db, '--json');
    expect(val.code).toBe(0);
    const report = JSON.parse(val.stdout);
    expect(report.ok).toBe(true);
    expect(report.datasetHash).toMatch(/^[0-9a-f]{64}$/);
    expect(report.checks.gaps.examples[0].time).toBe('2023-03-24T13:00:00.000Z');

    const out = join(dir, 'jan.csv');
    const exp = await cs('data', 'export', out, ...KEY, '--from', '2024-01-01', '--to', '2024-01-02', '--db', db);
    expect(exp.code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(25);
    expect(lines[1]).toBe('2024-01-01T00:00:00.000Z,42283.58,42554.57,42261.02,42475.23,1271.68108');

    const rs = await cs('data', 'resample', '--exchange', 'binance', '--symbol', 'BTC/USDT', '--from-timeframe', '1h', '--to', '1d', '--db', db, '--json');
    expect(rs.code).toBe(0);
    const r = JSON.parse(rs.stdout);
    expect(r.timeframe).toBe('1d');
    expect(r.first).toBe(Date.UTC(2022, 0, 1));
    // The source ends 2025-12-02 05:00, so 2025-12-02 is unfinished and dropped.
    expect(r.last).toBe(Date.UTC(2025, 11, 1));
  });

  it('a malformed file: exit 2, the file, line and field on stderr, nothing stored', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'timestamp,open,high,low,close,volume\n2024-01-01 00:00:00,1,2,0.5,1.5,3\n2024-01-01 01:00:00,1,2,0.5,x1,3\n');
    const other = join(dir, 'other.duckdb');
    const r = await cs('data', 'import', bad, '--exchange', 'x', '--symbol', 'BTC/USDT', '--timeframe', '1h', '--db', other);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: bad.csv line 3, field close: 'x1' is not a number\n");
    const ls = await cs('data', 'ls', '--db', other, '--json');
    expect(JSON.parse(ls.stdout)).toEqual([]);
  });

  it('validate exits 1 and prints the report when the data has errors', async () => {
    const f = join(dir, 'ohlc.csv');
    writeFileSync(f, 'timestamp,open,high,low,close,volume\n2024-01-01 00:00:00,10,11,9,10,1\n2024-01-01 01:00:00,10,9.5,9,10,1\n');
    const k = ['--exchange', 'x', '--symbol', 'ETH/USDT', '--timeframe', '1h', '--db', db];
    expect((await cs('data', 'import', f, ...k)).code).toBe(0);
    const r = await cs('data', 'validate', ...k);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ERR  ohlcInconsistent: 1/);
    expect(r.stdout).toMatch(/row 1 2024-01-01T01:00:00.000Z: high 9.5 < max\(open, close\) 10/);
    expect(r.stderr).toMatch(/^check failed: /);
  });

  it('bad usage exits 2: unknown timeframe, unknown dataset', async () => {
    const tf = await cs('data', 'validate', '--exchange', 'x', '--symbol', 'BTC/USDT', '--timeframe', 'hourly', '--db', db);
    expect(tf.code).toBe(2);
    expect(tf.stderr).toMatch(/--timeframe: must look like 1m/);
    const none = await cs('data', 'validate', '--exchange', 'nope', '--symbol', 'BTC/USDT', '--timeframe', '1h', '--db', db);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no bars for nope BTC\/USDT 1h/);
  });

  it('every data subcommand has --help with --json (in-process)', async () => {
    for (const sub of ['import', 'validate', 'ls', 'export', 'resample']) {
      let out = '';
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out += String(chunk);
        return true;
      });
      try {
        expect(await main(['node', 'cs', 'data', sub, '--help'])).toBe(0);
      } finally {
        spy.mockRestore();
      }
      expect(out).toMatch(/--json/);
      expect(out).toMatch(new RegExp(`Usage: cs data ${sub}`));
    }
  });

  describe('a database held by another process', () => {
    let holder: ChildProcess | undefined;
    afterAll(() => {
      if (holder?.pid) process.kill(holder.pid);
    });
    it('exit 2 with the file named', async () => {
      const locked = join(dir, 'locked.duckdb');
      const script = `import { DuckDBInstance } from '@duckdb/node-api';
        const db = await DuckDBInstance.create(process.argv[1]);
        await (await db.connect()).run('CREATE TABLE t (x INTEGER)');
        process.stdout.write('ready\\n');
        globalThis.holdOpen = db; // reachable for ever: a collected instance would release the file lock
        setInterval(() => {}, 1000);`;
      holder = spawn(process.execPath, ['--input-type=module', '-e', script, locked], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((ready) => holder!.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && ready()));
      const r = await cs('data', 'import', join(SHARED, 'binance-spot/BTCUSDT_1d.csv'), '--exchange', 'b', '--symbol', 'BTC/USDT', '--timeframe', '1d', '--db', locked);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(locked);
      expect(r.stderr).toMatch(/another process has this database open/);
    });
  });
});
