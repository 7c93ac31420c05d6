import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../engine/timeframe.ts';
import { openStore } from '../../datasets/store.ts';
import { generateBars } from '../../datasets/synth.ts';
import { evaluateGate, gateJunit, parseGateConfig, type GateSubject } from '../../lab/gate.ts';
import { csInProcess, csSpawn } from '../support/cli.ts';
import { deflatedSharpe, probabilityOfOverfitting } from '../../engine/overfitting.ts';
import { backtestRequestSchema } from '../../lab/backtest.ts';
import { loadMarket } from '../../lab/market-data.ts';
import { loadStrategy } from '../../lab/strategy-loader.ts';
import { buildSearchSpace } from '../../lab/search-space.ts';
import { runSweep } from '../../lab/sweep.ts';

const dir = mkdtempSync(join(tmpdir(), 'cs-gate-'));
const db = join(dir, 'gate.duckdb');
const FROM = Date.UTC(2023, 0, 1);
let good = '';
let bad = '';
let short = '';

async function backtest(symbol: string, extra: string[] = []): Promise<string> {
  const r = await csInProcess(['backtest', '--strategy', 'buy-and-hold', '--symbol', symbol, '--timeframe', '1d', '--db', db, '--json', ...extra]);
  expect(r.err).toBe('');
  return JSON.parse(r.out).runId as string;
}

beforeAll(async () => {
  const store = await openStore(db);
  try {
    // Calm, steady growth over 400 days: a buy-and-hold Sharpe well above 1, drawdown well under 20 %.
    await store.writeBars({ exchange: 'synthetic', symbol: 'UP/USD', timeframe: '1d' }, generateBars({ symbol: 'UP/USD', timeframeMs: DAY_MS, from: FROM, to: FROM + 400 * DAY_MS, seed: 1, model: { kind: 'gbm', drift: 0.8, vol: 0.15 } }));
    // A falling, violent market: negative Sharpe, deep drawdown.
    await store.writeBars({ exchange: 'synthetic', symbol: 'DOWN/USD', timeframe: '1d' }, generateBars({ symbol: 'DOWN/USD', timeframeMs: DAY_MS, from: FROM, to: FROM + 400 * DAY_MS, seed: 2, model: { kind: 'gbm', drift: -0.6, vol: 0.9 } }));
  } finally {
    await store.close();
  }
  good = await backtest('UP/USD');
  bad = await backtest('DOWN/USD');
  short = await backtest('UP/USD', ['--to', new Date(FROM + 200 * DAY_MS).toISOString().slice(0, 10)]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gate criteria (pure)', () => {
  const subject: GateSubject = { kind: 'run', id: 'r', sharpe: 1.5, maxDrawdown: 0.1, historyMs: 400 * DAY_MS, numTrades: 5, pbo: null, dsr: 0.97, notes: [] };
  it('defaults: Sharpe ≥ 1, drawdown ≤ 20 %, history ≥ 12 months (365.25 days)', () => {
    const cfg = parseGateConfig({});
    expect(cfg).toMatchObject({ minSharpe: 1, maxDrawdown: 0.2, minHistory: 12 });
    expect(evaluateGate(subject, cfg).criteria.map((c) => c.name)).toEqual(['minSharpe', 'maxDrawdown', 'minHistory']);
    expect(evaluateGate(subject, cfg).pass).toBe(true);
    // 365 days is 11.99 months of 30.4375 days: one day short of a year of 365.25.
    expect(evaluateGate({ ...subject, historyMs: 365 * DAY_MS }, cfg).pass).toBe(false);
    expect(evaluateGate({ ...subject, historyMs: 366 * DAY_MS }, cfg).pass).toBe(true);
  });
  it('boundaries are inclusive and each failure says why', () => {
    const r = evaluateGate({ ...subject, sharpe: 1, maxDrawdown: 0.2 }, parseGateConfig({}));
    expect(r.pass).toBe(true);
    const f = evaluateGate({ ...subject, sharpe: 0.5, maxDrawdown: 0.35 }, parseGateConfig({}));
    expect(f.pass).toBe(false);
    expect(f.criteria[0]!.message).toBe('Sharpe ratio 0.5 < minimum 1');
    expect(f.criteria[1]!.message).toBe('max drawdown 35% > maximum 20%');
  });
  it('a criterion the subject cannot answer fails (PBO of a single run)', () => {
    const r = evaluateGate(subject, parseGateConfig({ maxPbo: 0.5, minDsr: 0.95, minTrades: 5 }));
    const pbo = r.criteria.find((c) => c.name === 'maxPbo')!;
    expect(pbo.pass).toBe(false);
    expect(pbo.message).toMatch(/not available/);
    expect(r.criteria.find((c) => c.name === 'minDsr')!.pass).toBe(true);
    expect(r.criteria.find((c) => c.name === 'minTrades')!.pass).toBe(true);
  });
  it('config: percent strings, snake_case keys, month forms; unknown keys refused', () => {
    expect(parseGateConfig({ max_drawdown: '15%', min_history: '1y' })).toMatchObject({ maxDrawdown: 0.15, minHistory: 12 });
    expect(parseGateConfig({ minHistory: '365.25d' }).minHistory).toBeCloseTo(12, 12);
    expect(() => parseGateConfig({ minSharp: 1 })).toThrow(/minSharp/);
    expect(() => parseGateConfig({ maxDrawdown: '150%' })).toThrow(/maxDrawdown/);
  });
  it('JUnit XML escapes what it quotes', () => {
    const xml = gateJunit(evaluateGate({ ...subject, id: 'a<b>&"c"' }, parseGateConfig({})));
    expect(XMLValidator.validate(xml)).toBe(true);
  });
});

describe('cs gate', () => {
  it('exit 0 when every criterion passes, with a line per criterion', async () => {
    const r = await csInProcess(['gate', '--run', good, '--db', db]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/gate PASSED/);
    for (const c of ['minSharpe', 'maxDrawdown', 'minHistory']) expect(r.out).toMatch(new RegExp(`PASS\\s+${c}`));
  });
  it('exit 1 on failure; JUnit XML is well-formed with one testcase per criterion and failures carrying the reason; markdown summary', async () => {
    const junit = join(dir, 'gate.xml');
    const md = join(dir, 'gate.md');
    const r = await csInProcess(['gate', '--run', bad, '--db', db, '--min-trades', '0', '--junit', junit, '--markdown', md]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAIL\s+minSharpe\s+Sharpe ratio -?[0-9.]+ < minimum 1/);
    expect(r.err).toMatch(/gate failed: minSharpe, maxDrawdown/);
    const xml = readFileSync(junit, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'testcase' }).parse(xml);
    const cases = doc.testsuites.testsuite.testcase as { '@_name': string; failure?: { '@_message': string } }[];
    expect(cases.map((c) => c['@_name'])).toEqual(['minSharpe', 'maxDrawdown', 'minHistory', 'minTrades']);
    expect(cases[0]!.failure!['@_message']).toMatch(/Sharpe ratio .* < minimum 1/);
    expect(cases[1]!.failure!['@_message']).toMatch(/max drawdown .*% > maximum 20%/);
    expect(cases[2]!.failure).toBeUndefined();
    expect(cases[3]!.failure).toBeUndefined();
    expect(doc.testsuites['@_failures']).toBe('2');
    expect(readFileSync(md, 'utf8')).toMatch(/## Gate FAILED: run/);
  });
  it('a config file, with flags overriding it; --json', async () => {
    const cfg = join(dir, 'gate.yaml');
    writeFileSync(cfg, 'minSharpe: 100\nmaxDrawdown: 20%\nminHistory: 6\n');
    expect((await csInProcess(['gate', '--run', short, '--db', db, '--config', cfg])).code).toBe(1);
    const r = await csInProcess(['gate', '--run', short, '--db', db, '--config', cfg, '--min-sharpe', '1', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.pass).toBe(true);
    expect(j.config).toMatchObject({ minSharpe: 1, minHistory: 6 });
    // The same short run fails the default 12 months.
    const d = await csInProcess(['gate', '--run', short, '--db', db]);
    expect(d.code).toBe(1);
    expect(d.out).toMatch(/FAIL\s+minHistory/);
  });
  it('exit 2 on bad input, and writes nothing', async () => {
    const junit = join(dir, 'never.xml');
    const cases: [string[], RegExp][] = [
      [['gate', '--db', db], /exactly one of --run/],
      [['gate', '--run', good, '--walkforward', 'x', '--db', db], /exactly one/],
      [['gate', '--run', 'run-nope', '--db', db, '--junit', junit], /no run "run-nope"/],
      [['gate', '--run', good, '--db', db, '--max-drawdown', 'lots', '--junit', junit], /maxDrawdown/],
      [['gate', '--run', good, '--db', db, '--config', join(dir, 'missing.yaml')], /not found/],
      [['gate', '--run', good, '--db', join(dir, 'nothing.duckdb')], /no database/],
      [['gate', '--walkforward', 'wf-0', '--db', db], /no walk-forward/],
      [['gate', '--sweep', 'sw-0', '--db', db], /no sweep/],
    ];
    for (const [args, msg] of cases) {
      const r = await csInProcess(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(msg);
    }
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'minSharpe: [1,\n');
    const y = await csInProcess(['gate', '--run', good, '--db', db, '--config', broken]);
    expect(y.code).toBe(2);
    expect(y.err).toMatch(/broken\.yaml:\d+:\d+/);
    expect(existsSync(junit)).toBe(false);
    expect(existsSync(join(dir, 'nothing.duckdb'))).toBe(false);
  });
  it('the real binary maps the exit codes the same way', () => {
    expect(csSpawn(['gate', '--run', good, '--db', db]).code).toBe(0);
    expect(csSpawn(['gate', '--run', bad, '--db', db]).code).toBe(1);
    expect(csSpawn(['gate', '--db', db]).code).toBe(2);
  });
});

describe('cs gate on a walk-forward', () => {
  it('reads the stored OOS result, its DSR and PBO', async () => {
    const wf = await csInProcess(['walkforward', '--strategy', 'sma-cross', '--symbol', 'UP/USD', '--timeframe', '1d', '--grid', 'fast=5:10:5', '--grid', 'slow=20:30:10', '--is', '120d', '--oos', '60d', '--pbo-blocks', '4', '--db', db, '--json']);
    expect(wf.err).toBe('');
    expect(wf.code).toBe(0);
    const report = JSON.parse(wf.out);
    expect(report.id).toMatch(/^wf-/);
    expect(report.windows.length).toBe(4);
    const r = await csInProcess(['gate', '--walkforward', report.id, '--db', db, '--min-sharpe', '-100', '--max-drawdown', '100%', '--min-history', '1', '--max-pbo', '1', '--min-dsr', '0', '--json']);
    expect(r.code).toBe(0);
    const g = JSON.parse(r.out);
    expect(g.subject.pbo).toBe(report.overfitting.pbo);
    expect(g.subject.dsr).toBe(report.overfitting.dsr);
    expect(g.subject.sharpe).toBe(report.oosMetrics.sharpe);
  });
});

describe('cs gate on a sweep', () => {
  it('gates the best run by Sharpe, its DSR deflated by every stored run of the sweep', async () => {
    const store = await openStore(db);
    let sweepId = '';
    let rows: { metrics: Record<string, unknown>; returns?: Float32Array }[] = [];
    try {
      const config = backtestRequestSchema.parse({ strategy: 'sma-cross', symbols: ['UP/USD'], timeframe: '1d' });
      const market = await loadMarket(store, config, { shared: false });
      const loaded = await loadStrategy('sma-cross');
      const space = buildSearchSpace(loaded.strategy, { grid: [{ name: 'fast', min: 5, max: 15, step: 5 }, { name: 'slow', min: 20, max: 40, step: 10 }] });
      const r = await runSweep({ strategy: 'sma-cross', config, market, space, method: 'grid', workers: 0, store });
      sweepId = r.sweepId;
      rows = r.runs as unknown as typeof rows;
    } finally {
      await store.close();
    }
    expect(rows).toHaveLength(9);
    const res = await csInProcess(['gate', '--sweep', sweepId, '--db', db, '--min-sharpe', '-100', '--max-drawdown', '100%', '--min-history', '1', '--min-dsr', '0', '--json']);
    expect(res.err).toBe('');
    expect(res.code).toBe(0);
    const g = JSON.parse(res.out);
    const sharpes = rows.map((x) => x.metrics.sharpe as number);
    const best = rows[sharpes.indexOf(Math.max(...sharpes))]!.metrics;
    expect(g.subject.sharpe).toBe(best.sharpe);
    // DSR worked from the rows: per-period Sharpe ratios, N = 9, skew and kurtosis of the best run's returns.
    const ppy = best.periodsPerYear as number;
    const per = sharpes.map((s) => s / Math.sqrt(ppy));
    const mean = per.reduce((a, v) => a + v, 0) / per.length;
    const variance = per.reduce((a, v) => a + (v - mean) ** 2, 0) / (per.length - 1);
    const bestReturns = rows[sharpes.indexOf(Math.max(...sharpes))]!.returns!;
    const mu = bestReturns.reduce((a, v) => a + v, 0) / bestReturns.length;
    const cm = (k: number): number => bestReturns.reduce((a, v) => a + (v - mu) ** k, 0) / bestReturns.length;
    const expected = deflatedSharpe({ sharpe: (best.sharpe as number) / Math.sqrt(ppy), n: best.periods as number, skew: cm(3) / cm(2) ** 1.5, kurtosis: cm(4) / cm(2) ** 2, trials: 9, varianceOfTrialSharpes: variance }).dsr;
    expect(g.subject.dsr).toBeCloseTo(expected, 10);
    expect(g.subject.notes[0]).toMatch(/best of 9 runs/);
    // PBO by CSCV on the runs' stored returns (16 blocks of the 399 daily returns).
    const pbo = probabilityOfOverfitting(rows.map((x) => x.returns!)).pbo;
    const p = await csInProcess(['gate', '--sweep', sweepId, '--db', db, '--min-sharpe', '-100', '--max-drawdown', '100%', '--min-history', '1', '--max-pbo', String(pbo), '--json']);
    expect(p.code).toBe(0);
    expect(JSON.parse(p.out).subject.pbo).toBe(pbo);
    if (pbo > 0) {
      const q = await csInProcess(['gate', '--sweep', sweepId, '--db', db, '--min-sharpe', '-100', '--max-drawdown', '100%', '--min-history', '1', '--max-pbo', String(pbo / 2)]);
      expect(q.code).toBe(1);
      expect(q.out).toMatch(/FAIL\s+maxPbo\s+probability of backtest overfitting/);
    }
  });
});
