import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../datasets/store.ts';
import { generateBars } from '../../datasets/synth.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cs-synth-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cs(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/cs.js'), ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const JAN = ['--symbol', 'BTC/USDT', '--timeframe', '1h', '--from', '2024-01-01', '--to', '2024-02-01'];

describe('cs data synth (spawned)', () => {
  it('writes the generator output for the seed into the store and reports it as JSON', async () => {
    const db = join(dir, 'a.duckdb');
    const r = await cs(['data', 'synth', ...JAN, '--seed', '7', '--model', 'jump', '--vol', '0.8', '--db', db, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    // January 2024: 31 days × 24 hours.
    expect(out).toMatchObject({ exchange: 'synthetic', symbol: 'BTC/USDT', timeframe: '1h', seed: 7, rows: 744, first: '2024-01-01T00:00:00.000Z', last: '2024-01-31T23:00:00.000Z' });
    expect(out.model).toEqual({ kind: 'jump', drift: 0, vol: 0.8, jumpIntensity: 20, jumpMean: -0.02, jumpStd: 0.05 });

    const want = generateBars({ symbol: 'BTC/USDT', timeframeMs: 3_600_000, from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 1, 1), seed: 7, startPrice: 40_000, model: out.model as never });
    const store = await openStore(db, { readOnly: true });
    try {
      const { columns } = await store.loadBars({ exchange: 'synthetic', symbol: 'BTC/USDT', timeframe: '1h' }, {}, { cache: false });
      for (const f of ['ts', 'open', 'high', 'low', 'close', 'volume'] as const) expect(Array.from(columns[f])).toEqual(Array.from(want[f]));
    } finally {
      await store.close();
    }
  });

  it('prints a one-line summary without --json, and the regime model derives its switch odds from --regime-days', async () => {
    const r = await cs(['data', 'synth', ...JAN, '--model', 'regime', '--regime-days', '10,2', '--exchange', 'lab', '--db', join(dir, 'b.duckdb')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote 744 regime bars \(seed 1\) for lab BTC\/USDT 1h, 2024-01-01T00:00:00.000Z → 2024-01-31T23:00:00.000Z/);
    const j = await cs(['data', 'synth', ...JAN, '--model', 'regime', '--regime-days', '10,2', '--db', join(dir, 'b.duckdb'), '--json']);
    const model = (JSON.parse(j.stdout) as { model: { transition: number[][] } }).model;
    // 1h bars: leave calm with probability 1/(10·24), turbulent with 1/(2·24).
    expect(model.transition[0]![1]).toBeCloseTo(1 / 240, 12);
    expect(model.transition[1]![0]).toBeCloseTo(1 / 48, 12);
  });

  it('exits 2 on bad input and creates no database file', async () => {
    const db = join(dir, 'bad.duckdb');
    // Three kinds of failure (a range check, a zod field, a commander choice); each spawn costs seconds.
    const cases: [string[], RegExp][] = [
      [['--symbol', 'X', '--from', '2024-02-01', '--to', '2024-01-01'], /--to .* must be after --from/],
      [[...JAN, '--vol', '-1'], /--vol: must be ≥ 0/],
      [[...JAN, '--model', 'garch'], /garch/],
    ];
    for (const [args, msg] of cases) {
      const r = await cs(['data', 'synth', ...args, '--db', db]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    expect(existsSync(db)).toBe(false);
  });
});
