import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../datasets/store.ts';
import { listRuns } from '../../datasets/runs.ts';
import { generateBars } from '../../datasets/synth.ts';
import { csInProcess, csSpawn, csSpawnAsync, ROOT } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'cs-backtest-'));
const db = join(dir, 'bt.duckdb');
const FROM = Date.UTC(2024, 0, 1);
const TO = Date.UTC(2024, 6, 1);

beforeAll(async () => {
  const store = await openStore(db);
  try {
    const bars = generateBars({ symbol: 'BTC/USDT', timeframeMs: 3_600_000, from: FROM, to: TO, seed: 7, model: { kind: 'gbm', drift: 0.2, vol: 0.7 } });
    await store.writeBars({ exchange: 'synthetic', symbol: 'BTC/USDT', timeframe: '1h' }, bars);
    // A second dataset with an impossible bar (high below close) for the bad-data refusal.
    const bad = generateBars({ symbol: 'BAD/USDT', timeframeMs: 3_600_000, from: FROM, to: TO, seed: 8, model: { kind: 'gbm', drift: 0, vol: 0.5 } });
    (bad.high as Float64Array)[100] = bad.close[100]! * 0.9;
    await store.writeBars({ exchange: 'synthetic', symbol: 'BAD/USDT', timeframe: '1h' }, bad);
  } finally {
    await store.close();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = ['backtest', '--symbol', 'BTC/USDT', '--timeframe', '1h', '--db', db];

async function runCount(): Promise<number> {
  const store = await openStore(db);
  try {
    return (await listRuns(store)).length;
  } finally {
    await store.close();
  }
}

describe('cs backtest', () => {
  it('prints the JSON result the issue names, and equal runs give equal hashes', async () => {
    const a = await csInProcess([...base, '--strategy', 'sma-cross', '--param', 'fast=10', '--param', 'slow=30', '--json']);
    expect(a.err).toBe('');
    expect(a.code).toBe(0);
    const r = JSON.parse(a.out);
    for (const k of ['metrics', 'trades', 'seed', 'datasetHash', 'params', 'resultHash']) expect(r).toHaveProperty(k);
    expect(r.params).toEqual({ fast: 10, slow: 30 });
    for (const m of ['totalReturn', 'cagr', 'volatility', 'sharpe', 'sortino', 'calmar', 'maxDrawdown', 'maxDrawdownDuration', 'winRate', 'profitFactor', 'expectancy', 'exposure', 'turnover', 'numTrades', 'avgHoldingTime', 'benchmark']) {
      expect(r.metrics).toHaveProperty(m);
    }
    expect(r.metrics.numTrades).toBe(r.trades.length);
    expect(r.trades.length).toBeGreaterThan(0);
    const b = await csInProcess([...base, '--strategy', 'sma-cross', '--param', 'fast=10', '--param', 'slow=30', '--json']);
    expect(b.code).toBe(0);
    expect(JSON.parse(b.out).resultHash).toBe(r.resultHash);
    const c = await csInProcess([...base, '--strategy', 'sma-cross', '--param', 'fast=12', '--param', 'slow=30', '--json']);
    expect(JSON.parse(c.out).resultHash).not.toBe(r.resultHash);
  });

  it('buy-and-hold matches its own benchmark less the entry fee', async () => {
    const r = JSON.parse((await csInProcess([...base, '--strategy', 'buy-and-hold', '--fee-bps', '0', '--json'])).out);
    // With no fee the strategy buys at the first bar's close, the benchmark at its open: the
    // returns differ only by that first bar's move, so they must be close, not equal.
    expect(Math.abs(r.metrics.totalReturn - r.metrics.benchmark.totalReturn)).toBeLessThan(0.05);
    expect(r.metrics.numTrades).toBe(0);
  });

  it('runs a user strategy file given by path (through the real bin, tsx-loaded)', () => {
    // The example imports `cryptosentinel` and `zod` as a user's own project would.
    const r = csSpawn([...base, '--strategy', 'examples/strategies/momentum.ts', '--param', 'lookback=48', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.strategy).toBe('momentum');
    expect(out.params).toMatchObject({ lookback: 48, maxRsi: 75 });
    expect(out.metrics.numTrades).toBeGreaterThan(0);
    const again = csSpawn([...base, '--strategy', 'examples/strategies/momentum.ts', '--param', 'lookback=48', '--json']);
    expect(JSON.parse(again.out).resultHash).toBe(out.resultHash);
  });

  it.each([
    [['--strategy', 'nope'], /unknown strategy "nope"/],
    [['--strategy', 'sma-cross', '--param', 'fast=50', '--param', 'slow=20'], /fast: fast must be smaller than slow/],
    [['--strategy', 'sma-cross', '--param', 'speed=3'], /Unrecognized key.*speed/],
    [['--strategy', 'sma-cross', '--from', '2030-01-01'], /no BTC\/USDT 1h bars on synthetic in the requested range/],
    [['--strategy', 'sma-cross', '--from', '2024-03-01', '--to', '2024-02-01'], /empty range/],
    [['--strategy', 'sma-cross', '--seed', 'abc'], /--seed expects a number/],
    [['--strategy', './missing.ts'], /strategy file not found/],
  ])('bad input %j → exit 2, a clear message, nothing stored', async (args, message) => {
    const before = await runCount();
    const r = await csInProcess([...base, ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
    expect(await runCount()).toBe(before);
  });

  it('journals every decision of a run under the seed risk limits; cs journal verify/why read it back', async () => {
    const r = await csInProcess([...base, '--strategy', 'sma-cross', '--param', 'fast=10', '--param', 'slow=30', '--risk', join(ROOT, 'examples', 'risk.yaml'), '--json']);
    expect(r.code).toBe(0);
    const { runId } = JSON.parse(r.out);
    const v = await csInProcess(['journal', 'verify', '--run', runId, '--db', db]);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^ok run /);
    // All-in buys are worth ~10,000 USDT: the 5,000 USD position limit refuses them, and says so.
    const why = await csInProcess(['journal', 'why', 'sma-cross-1', '--run', runId, '--db', db]);
    expect(why.code).toBe(0);
    expect(why.out).toMatch(/REJECTED .* by maxPositionNotional/);
    expect(why.out).toMatch(/reasoning: SMA10 crossed above SMA30/);
  });

  it('a risk config with a bad field → exit 2 naming it, nothing stored', async () => {
    const before = await runCount();
    const bad = join(dir, 'bad-risk.yaml');
    writeFileSync(bad, 'maxDrawdown: 250%\nmaxTradesPerHour: lots\n');
    const r = await csInProcess([...base, '--strategy', 'sma-cross', '--risk', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/maxDrawdown|maxTradesPerHour/);
    expect(await runCount()).toBe(before);
  });

  it('refuses data with validation errors unless --allow-bad-data', async () => {
    const args = ['backtest', '--symbol', 'BAD/USDT', '--timeframe', '1h', '--db', db, '--strategy', 'buy-and-hold', '--json'];
    const refused = await csInProcess(args);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/data errors.*ohlc/i);
    expect(refused.err).toMatch(/--allow-bad-data/);
    const allowed = await csInProcess([...args, '--allow-bad-data']);
    expect(allowed.code).toBe(0);
  });

  it('a database held by another process → exit 2 naming the file', async () => {
    // A child holds the DuckDB file open (DuckDB allows one writing process per file).
    const holder = spawn(process.execPath, ['-e', `
      const { DuckDBInstance } = await import('@duckdb/node-api');
      const inst = await DuckDBInstance.create(${JSON.stringify(db)});
      await inst.connect();
      process.stdout.write('ready\\n');
      globalThis.holdOpen = inst; // reachable for ever: a collected instance would release the file lock
      setTimeout(() => {}, 60000);
    `, '--input-type=module'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
        holder.on('exit', (c) => reject(new Error(`holder exited ${c}`)));
      });
      const r = await csSpawnAsync([...base, '--strategy', 'sma-cross']);
      expect(r.code).toBe(2);
      expect(r.err).toContain(db);
      expect(r.err).toMatch(/another process/i);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

describe('cs demo', () => {
  it('synthesises data, backtests every example strategy and says where the report is', async () => {
    const work = mkdtempSync(join(tmpdir(), 'cs-demo-'));
    try {
      const r = await csSpawnAsync(['demo'], { cwd: work });
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      for (const s of ['sma-cross', 'rsi-reversion', 'bollinger-breakout', 'buy-and-hold', 'benchmark', 'sharpe', 'maxDrawdown']) expect(r.out).toContain(s);
      const report = /report: (.+)/.exec(r.out)?.[1];
      expect(report && existsSync(report)).toBe(true);
      expect(readFileSync(report!, 'utf8')).toContain('sma-cross');
      // and the HTML tearsheet of each run (tested in Chromium in test/reports/tearsheet-browser.test.ts)
      const sheet = /tearsheet \(sma-cross\): (.+)/.exec(r.out)?.[1];
      expect(sheet && readFileSync(sheet, 'utf8')).toMatch(/^<!DOCTYPE html>[\s\S]*Equity vs buy & hold/);
      expect(existsSync(join(work, 'cryptosentinel.duckdb'))).toBe(true);
      // Idempotent: a second demo reuses the data and gives the same numbers.
      const again = await csSpawnAsync(['demo', '--json'], { cwd: work });
      expect(again.code).toBe(0);
      const j = JSON.parse(again.out);
      expect(j.runs).toHaveLength(4);
      const first = JSON.parse(readFileSync(join(work, 'cs-reports', 'demo.json'), 'utf8'));
      expect(j.runs.map((x: { resultHash: string }) => x.resultHash)).toEqual(first.map((x: { resultHash: string }) => x.resultHash));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
