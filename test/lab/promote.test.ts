import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckFailedError, InputError } from '../../engine/errors.ts';
import { DAY_MS } from '../../engine/timeframe.ts';
import { openStore } from '../../datasets/store.ts';
import { generateBars } from '../../datasets/synth.ts';
import type { RunRecord } from '../../datasets/runs.ts';
import { parseGateConfig } from '../../lab/gate.ts';
import { limitsFromRun, promote, scaleLimits, verifyPromotion } from '../../lab/promote.ts';
import { parseRiskConfigText } from '../../engine/risk.ts';
import { csInProcess, ROOT } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'cs-promote-'));
const db = join(dir, 'p.duckdb');
const FROM = Date.UTC(2023, 0, 1);
const RISK = join(ROOT, 'examples', 'risk.yaml');
let good: { runId: string; datasetHash: string };
let bad = '';

beforeAll(async () => {
  const store = await openStore(db);
  try {
    await store.writeBars({ exchange: 'synthetic', symbol: 'UP/USD', timeframe: '1d' }, generateBars({ symbol: 'UP/USD', timeframeMs: DAY_MS, from: FROM, to: FROM + 400 * DAY_MS, seed: 1, model: { kind: 'gbm', drift: 0.8, vol: 0.15 } }));
    await store.writeBars({ exchange: 'synthetic', symbol: 'DOWN/USD', timeframe: '1d' }, generateBars({ symbol: 'DOWN/USD', timeframeMs: DAY_MS, from: FROM, to: FROM + 400 * DAY_MS, seed: 2, model: { kind: 'gbm', drift: -0.6, vol: 0.9 } }));
  } finally {
    await store.close();
  }
  const g = await csInProcess(['backtest', '--strategy', 'buy-and-hold', '--symbol', 'UP/USD', '--timeframe', '1d', '--db', db, '--json']);
  good = JSON.parse(g.out);
  const b = await csInProcess(['backtest', '--strategy', 'buy-and-hold', '--symbol', 'DOWN/USD', '--timeframe', '1d', '--db', db, '--json']);
  bad = JSON.parse(b.out).runId;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha256File = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('cs promote', () => {
  it('writes a record pinning code, params, data and the gate report, with limits scaled by --scale', async () => {
    const out = join(dir, 'promotion.json');
    const r = await csInProcess(['promote', '--run', good.runId, '--db', db, '--risk-config', RISK, '--scale', '0.1', '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const rec = JSON.parse(readFileSync(out, 'utf8'));
    expect(rec.codeHash).toBe(sha256File(join(ROOT, 'engine', 'strategies', 'buy-and-hold.ts')));
    expect(rec.params).toEqual({});
    expect(rec.datasetHash).toBe(good.datasetHash);
    expect(rec.runId).toBe(good.runId);
    expect(rec.gate.pass).toBe(true);
    expect(rec.gate.criteria.map((c: { name: string }) => c.name)).toEqual(['minSharpe', 'maxDrawdown', 'minHistory']);
    // examples/risk.yaml: position 5000 USD, daily loss 10000, drawdown 20 %, 10 trades/hour.
    expect(rec.limits.maxPositionNotional).toBeCloseTo(500, 9);
    expect(rec.limits.maxDailyLoss).toBeCloseTo(1000, 9);
    expect(rec.limits.maxDrawdown).toBe(0.2);
    expect(rec.limits.maxTradesPerHour).toBe(10);
    expect(rec.limits.allowedSymbols).toEqual(['BTC/USDT', 'ETH/USDT']);
    expect(rec.scale).toBe(0.1);
    // The live bridge's check.
    expect(verifyPromotion(rec, rec.codeHash, {}).ok).toBe(true);
  });
  it('is deterministic: the same promotion twice gives byte-identical files', async () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    await csInProcess(['promote', '--run', good.runId, '--db', db, '--risk-config', RISK, '--out', a]);
    await csInProcess(['promote', '--run', good.runId, '--db', db, '--risk-config', RISK, '--out', b]);
    expect(readFileSync(a, 'utf8')).toBe(readFileSync(b, 'utf8'));
  });
  it('refuses when the gate fails (exit 1) and writes nothing', async () => {
    const out = join(dir, 'refused.json');
    const r = await csInProcess(['promote', '--run', bad, '--db', db, '--risk-config', RISK, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not promoted: the gate failed — Sharpe ratio/);
    expect(existsSync(out)).toBe(false);
  });
  it('uses the gate config it is given', async () => {
    const out = join(dir, 'strict.json');
    const r = await csInProcess(['promote', '--run', good.runId, '--db', db, '--risk-config', RISK, '--min-sharpe', '1000', '--out', out]);
    expect(r.code).toBe(1);
    expect(existsSync(out)).toBe(false);
  });
  it('bad input exits 2 and writes nothing', async () => {
    const out = join(dir, 'never.json');
    for (const args of [
      ['--run', good.runId, '--scale', '2'],
      ['--run', good.runId, '--scale', 'half'],
      ['--run', 'run-missing'],
      ['--run', good.runId, '--risk-config', join(dir, 'nope.yaml')],
      ['--run', good.runId, '--gate-config', join(dir, 'nope.yaml')],
    ]) {
      const risk = args.includes('--risk-config') ? [] : ['--risk-config', RISK];
      const r = await csInProcess(['promote', ...args, ...risk, '--db', db, '--out', out]);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(existsSync(out)).toBe(false);
  });
});

describe('verifyPromotion', () => {
  const run: RunRecord = {
    runId: 'run-1',
    strategy: 's',
    strategySource: 'builtin:s',
    codeHash: 'a'.repeat(64),
    params: { fast: 10, slow: 30 },
    seed: 1,
    symbols: ['BTC/USDT'],
    timeframe: '1d',
    fromTs: 0,
    toTs: 400 * DAY_MS,
    datasetHash: 'd'.repeat(64),
    resultHash: 'r'.repeat(64),
    metrics: { sharpe: 2, maxDrawdown: -0.1, numTrades: 2 },
    trades: [
      { symbol: 'BTC/USDT', side: 'long', entryTs: 0, exitTs: 1, entryPrice: 100, exitPrice: 110, qty: 2, pnl: 20, fees: 0, returnPct: 0.1 },
      { symbol: 'BTC/USDT', side: 'long', entryTs: 2, exitTs: 3, entryPrice: 300, exitPrice: 330, qty: 1, pnl: 30, fees: 0, returnPct: 0.1 },
    ],
    curve: { ts: Float64Array.from({ length: 401 }, (_, i) => i * DAY_MS), equity: Float64Array.from({ length: 401 }, (_, i) => 100 * Math.exp(0.002 * i + 0.01 * Math.sin(i))) },
  };
  const rec = JSON.parse(JSON.stringify(promote(run, { gate: parseGateConfig({}), scale: 0.5 })));
  it('limits derived from the run: its largest entry notional (300), its symbols, the gate drawdown, scaled', () => {
    expect(rec.limits).toEqual({ maxPositionNotional: 150, maxOrderNotional: 150, maxDrawdown: 0.2, allowedSymbols: ['BTC/USDT'], longOnly: true });
    expect(limitsFromRun(run, parseGateConfig({})).maxPositionNotional).toBe(300);
  });
  it('accepts the exact code and params, parameter key order aside', () => {
    expect(verifyPromotion(rec, 'a'.repeat(64), { slow: 30, fast: 10 }).ok).toBe(true);
  });
  it('refuses other code, other params, an edited record, or something else', () => {
    const other = verifyPromotion(rec, 'b'.repeat(64), { fast: 10, slow: 30 });
    expect(other.ok).toBe(false);
    expect(!other.ok && other.reason).toMatch(/code hash/);
    const params = verifyPromotion(rec, 'a'.repeat(64), { fast: 11, slow: 30 });
    expect(!params.ok && params.reason).toMatch(/parameters/);
    const edited = { ...rec, limits: { ...rec.limits, maxPositionNotional: 1e9 } };
    const e = verifyPromotion(edited, 'a'.repeat(64), { fast: 10, slow: 30 });
    expect(!e.ok && e.reason).toMatch(/modified/);
    expect(verifyPromotion({ hello: 1 }, 'a'.repeat(64), {}).ok).toBe(false);
  });
  it('refuses to promote when the strategy code changed since the run, or the scale is out of range', () => {
    expect(() => promote(run, { gate: parseGateConfig({}), currentCodeHash: 'c'.repeat(64) })).toThrow(CheckFailedError);
    expect(() => promote(run, { gate: parseGateConfig({}), scale: 0 })).toThrow(InputError);
  });
  it('scales every size limit in every scope and leaves fractions and counts alone', () => {
    const cfg = parseRiskConfigText('maxPositionNotional: 1000\nmaxOrderNotional: 500\nmaxDrawdown: 10%\nmaxTradesPerHour: 4\nagents:\n  a: { maxPositionQty: 2 }\nsymbols:\n  BTC/USDT: { maxPositionNotional: 800 }\n');
    const s = scaleLimits(cfg, 0.25);
    expect(s).toMatchObject({ maxPositionNotional: 250, maxOrderNotional: 125, maxDrawdown: 0.1, maxTradesPerHour: 4 });
    expect(s.agents!.a!.maxPositionQty).toBe(0.5);
    expect(s.symbols!['BTC/USDT']!.maxPositionNotional).toBe(200);
  });
});
