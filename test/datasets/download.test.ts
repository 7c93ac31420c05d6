import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import ccxt, { type Exchange } from 'ccxt';
import fc from 'fast-check';
import type { BarColumns } from '../../engine/types.ts';
import { InputError } from '../../engine/errors.ts';
import { API_OVERRIDE_ENV, createExchange, downloadOHLCV, overrideApiUrls } from '../../datasets/download.ts';
import { openStore, type Store } from '../../datasets/store.ts';
import { generateBars } from '../../datasets/synth.ts';
import { sliceBars, lowerBound } from '../../datasets/columns.ts';
import { BinanceEmulator, readOhlcvCsv, SHARED_DATASETS, type Fault } from '../support/binance-emulator.ts';

const HOUR = 3_600_000;
const CSV = join(SHARED_DATASETS, 'binance-spot/BTCUSDT_1h.csv');
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KEY = { exchange: 'binance', symbol: 'BTC/USDT', timeframe: '1h' } as const;
const JAN1 = Date.UTC(2024, 0, 1);
const MAR1 = Date.UTC(2024, 2, 1); // 60 days: 1,440 hourly candles
const noSleep = async (): Promise<void> => undefined;

if (!existsSync(CSV)) throw new Error(`real Binance data missing: ${CSV} (see ../shared/datasets/README.md)`);
const real = readOhlcvCsv(CSV, 'BTC/USDT', HOUR);

let emu: BinanceEmulator;
let dir: string;
const stores: Store[] = [];

beforeAll(async () => {
  emu = await BinanceEmulator.start({ series: [real] });
  dir = mkdtempSync(join(tmpdir(), 'cs-download-'));
});
afterAll(async () => {
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  emu.clearFaults(); // a fault a test did not use up must not leak into the next one
  for (const s of stores.splice(0)) await s.close();
});

/** The real ccxt Binance client, its URLs rewritten to the emulator. */
function binance(target: BinanceEmulator = emu, extra: Record<string, unknown> = {}): Exchange {
  const ex = new ccxt.binance({ options: { fetchMarkets: ['spot'] }, ...extra });
  overrideApiUrls(ex, target.url);
  ex.rateLimit = 1; // the limiter stays on; the loopback server needs no 50 ms spacing
  return ex;
}

let dbSeq = 0;
async function freshStore(): Promise<Store> {
  const s = await openStore(join(dir, `t${++dbSeq}.duckdb`));
  stores.push(s);
  return s;
}

function expectSameBars(got: BarColumns, want: BarColumns): void {
  expect(got.length).toBe(want.length);
  for (const f of ['ts', 'open', 'high', 'low', 'close', 'volume'] as const) {
    // Bit-for-bit: the bytes of the Float64 columns.
    expect(Buffer.from(got[f].slice().buffer).equals(Buffer.from(want[f].slice().buffer)), f).toBe(true);
  }
}

function sourceRange(cols: BarColumns, from: number, to: number): BarColumns {
  return sliceBars(cols, lowerBound(cols.ts, from), lowerBound(cols.ts, to));
}

describe('downloadOHLCV against the Binance emulator (real ccxt client)', () => {
  it('downloads a multi-page range; the stored bars equal the source exactly', async () => {
    const store = await freshStore();
    const start = emu.klineRequests().length;
    const progress: number[] = [];
    const res = await downloadOHLCV(binance(), store, { symbol: 'BTC/USDT', timeframe: '1h', from: JAN1, to: MAR1, limit: 500, onProgress: (p) => progress.push(p.rows) });
    expect(res.rows).toBe(1440);
    expect(res.pages).toBe(3);
    expect(progress).toEqual([500, 1000, 1440]);
    const reqs = emu.klineRequests().slice(start);
    expect(reqs.map((r) => Number(r.query.startTime))).toEqual([JAN1, JAN1 + 500 * HOUR, JAN1 + 1000 * HOUR]);
    expect(reqs.every((r) => r.query.symbol === 'BTCUSDT' && r.query.interval === '1h' && r.query.limit === '500')).toBe(true);

    const { columns } = await store.loadBars(KEY, {}, { cache: false });
    expectSameBars(columns, sourceRange(real, JAN1, MAR1));
    // Published fact (shared/datasets/README.md): Binance BTCUSDT 2024-01-01 00:00 1h opened at 42283.58.
    expect(columns.ts[0]).toBe(JAN1);
    expect(columns.open[0]).toBe(42283.58);
  });

  it('pages across the real 2023-03-24 13:00 trading halt without losing or inventing a candle', async () => {
    // limit 13 ends the first page at 12:00, so the next request starts inside the gap and the
    // server answers from 14:00 on (Binance skips hours without trading).
    const from = Date.UTC(2023, 2, 24);
    const to = Date.UTC(2023, 2, 25);
    const store = await freshStore();
    const start = emu.klineRequests().length;
    const res = await downloadOHLCV(binance(), store, { symbol: 'BTC/USDT', timeframe: '1h', from, to, limit: 13 });
    expect(res.rows).toBe(23);
    const starts = emu.klineRequests().slice(start).map((r) => Number(r.query.startTime));
    expect(starts.slice(0, 2)).toEqual([from, from + 13 * HOUR]);
    const { columns } = await store.loadBars(KEY, {}, { cache: false });
    expect(columns.ts.includes(from + 13 * HOUR)).toBe(false);
    expectSameBars(columns, sourceRange(real, from, to));
  });

  it('any range, page size and fault pattern stores exactly the source range (property)', async () => {
    const ex = binance(); // one client: its markets load once
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 30_000 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 40, max: 1000 }), // at most 8 pages a run: each page is a DuckDB transaction
        fc.array(fc.constantFrom<Fault>({ kind: 'rate-limit', retryAfterSec: 0 }, { kind: 'ip-ban', retryAfterSec: 0 }, { kind: 'server-error' }, { kind: 'drop' }), { maxLength: 3 }),
        async (offset, hours, limit, faults) => {
          const from = real.ts[0]! + offset * HOUR + 1; // not on the hour: the first candle is the next one
          const to = from + hours * HOUR;
          faults.forEach((fault, i) => emu.inject({ fault, path: '/api/v3/klines', after: i }));
          const store = await openStore(':memory:');
          try {
            await downloadOHLCV(ex, store, { symbol: 'BTC/USDT', timeframe: '1h', from, to, limit, backoffMs: 0, sleep: noSleep });
            const want = sourceRange(real, from, to);
            if (want.length === 0) {
              expect(await store.lastTs(KEY)).toBeUndefined();
            } else {
              const { columns } = await store.loadBars(KEY, {}, { cache: false });
              expectSameBars(columns, want);
            }
          } finally {
            emu.clearFaults();
            await store.close();
          }
        },
      ),
      { numRuns: 10, seed: 7 },
    );
  });

  it('keeps full float precision of synthetic prices end to end', async () => {
    const synth = generateBars({ symbol: 'ETH/USDT', timeframeMs: HOUR, from: JAN1, to: JAN1 + 1500 * HOUR, seed: 3, model: { kind: 'gbm', drift: 0, vol: 0.8 } });
    const e2 = await BinanceEmulator.start({ series: [synth] });
    try {
      const store = await freshStore();
      const res = await downloadOHLCV(binance(e2), store, { symbol: 'ETH/USDT', timeframe: '1h', from: JAN1, to: JAN1 + 1500 * HOUR });
      expect(res.pages).toBe(2); // Binance's maximum of 1000 per request, the default limit
      const { columns } = await store.loadBars({ exchange: 'binance', symbol: 'ETH/USDT', timeframe: '1h' }, {}, { cache: false });
      expectSameBars(columns, synth);
    } finally {
      await e2.close();
    }
  });

  it('retries a 429 after the Retry-After the server sent, and the result is complete', async () => {
    const store = await freshStore();
    const start = emu.requests.length;
    emu.inject({ fault: { kind: 'rate-limit', retryAfterSec: 0.25 }, path: '/api/v3/klines', after: 1 });
    const waits: number[] = [];
    const res = await downloadOHLCV(binance(), store, {
      symbol: 'BTC/USDT', timeframe: '1h', from: JAN1, to: MAR1, limit: 500, backoffMs: 10,
      sleep: async (ms) => void waits.push(ms),
    });
    expect(waits).toEqual([250]); // Retry-After (0.25 s) beats the 10 ms backoff
    expect(res.retries).toBe(1);
    const log = emu.requests.slice(start).filter((r) => r.path === '/api/v3/klines');
    expect(log.map((r) => r.status)).toEqual([200, 429, 200, 200]);
    expect(log[1]!.query.startTime).toBe(log[2]!.query.startTime); // the same page asked again
    const { columns } = await store.loadBars(KEY, {}, { cache: false });
    expectSameBars(columns, sourceRange(real, JAN1, MAR1));
  });

  it('rides out a 418 ban, a 5xx and a dropped connection with exponential backoff', async () => {
    const store = await freshStore();
    const start = emu.requests.length;
    emu.inject({ fault: { kind: 'ip-ban', retryAfterSec: 0 }, path: '/api/v3/klines', after: 0 });
    emu.inject({ fault: { kind: 'server-error', status: 502 }, path: '/api/v3/klines', after: 2 });
    emu.inject({ fault: { kind: 'drop' }, path: '/api/v3/klines', after: 3 });
    const waits: number[] = [];
    const res = await downloadOHLCV(binance(), store, {
      symbol: 'BTC/USDT', timeframe: '1h', from: JAN1, to: MAR1, limit: 500, backoffMs: 100,
      sleep: async (ms) => void waits.push(ms),
    });
    const log = emu.requests.slice(start).filter((r) => r.path === '/api/v3/klines');
    expect(log.map((r) => r.status)).toEqual([418, 200, 502, 'dropped', 200, 200]);
    // Page 1: first retry 100 ms. Page 2: 100 ms, then doubled to 200 ms for the second failure.
    expect(waits).toEqual([100, 100, 200]);
    expect(res.rows).toBe(1440);
    const { columns } = await store.loadBars(KEY, {}, { cache: false });
    expectSameBars(columns, sourceRange(real, JAN1, MAR1));
  });

  it('gives up after maxAttempts, keeps the pages it got, and a second run resumes with only the missing pages', async () => {
    const store = await freshStore();
    const opts = { symbol: 'BTC/USDT', timeframe: '1h', from: JAN1, to: MAR1, limit: 500, maxAttempts: 3, sleep: noSleep };
    emu.inject({ fault: { kind: 'server-error' }, path: '/api/v3/klines', after: 2, times: 3 });
    const start = emu.requests.length;
    const err = await downloadOHLCV(binance(), store, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/giving up after 3 attempts at 2024-02-11T16:00:00.000Z .*run the same command again to resume/);
    expect(await store.lastTs(KEY)).toBe(JAN1 + 999 * HOUR); // two pages of 500 kept

    const mid = emu.requests.length;
    expect(emu.requests.slice(start, mid).filter((r) => r.status === 503)).toHaveLength(3);
    const res = await downloadOHLCV(binance(), store, opts);
    expect(res.resumed).toBe(true);
    expect(res.start).toBe(JAN1 + 1000 * HOUR);
    expect(res.rows).toBe(440);
    const resumedReqs = emu.requests.slice(mid).filter((r) => r.path === '/api/v3/klines');
    expect(resumedReqs.map((r) => Number(r.query.startTime))).toEqual([JAN1 + 1000 * HOUR]);

    const { columns } = await store.loadBars(KEY, {}, { cache: false });
    expectSameBars(columns, sourceRange(real, JAN1, MAR1));
    // Nothing left: a third run asks for nothing at all.
    const before = emu.klineRequests().length;
    const again = await downloadOHLCV(binance(), store, opts);
    expect(again.rows).toBe(0);
    expect(emu.klineRequests().length).toBe(before);
  });

  it('never stores the still-open candle', async () => {
    // Server and client share a clock stopped 20 minutes into the 10:00 candle of 2024-01-03.
    const now = JAN1 + 58 * HOUR + 20 * 60_000;
    const e2 = await BinanceEmulator.start({ series: [real], now: () => now });
    try {
      const store = await freshStore();
      const res = await downloadOHLCV(binance(e2), store, { symbol: 'BTC/USDT', timeframe: '1h', from: JAN1, to: MAR1, now: () => now });
      expect(e2.klineRequests()[0]!.rows).toBe(59); // the server did send the forming candle
      expect(res.droppedOpenCandle).toBe(true);
      expect(res.rows).toBe(58);
      expect(await store.lastTs(KEY)).toBe(JAN1 + 57 * HOUR);
      expect(e2.klineRequests()).toHaveLength(1); // no request past the present
    } finally {
      await e2.close();
    }
  });

  it('rejects an unknown symbol or timeframe as bad input and writes nothing', async () => {
    const store = await freshStore();
    await expect(downloadOHLCV(binance(), store, { symbol: 'NOPE/USDT', timeframe: '1h', from: JAN1, to: MAR1 })).rejects.toThrow(InputError);
    await expect(downloadOHLCV(binance(), store, { symbol: 'BTC/USDT', timeframe: '7h', from: JAN1, to: MAR1 })).rejects.toThrow(/--timeframe: binance has no "7h"/);
    await expect(downloadOHLCV(binance(), store, { symbol: 'BTC/USDT', timeframe: '1h', from: MAR1, to: JAN1 })).rejects.toThrow(/empty range/);
    expect(await store.listDatasets()).toEqual([]);
  });

  it('never puts API credentials into its errors', async () => {
    const store = await freshStore();
    // A server that echoes the key back in a retryable "busy" answer (Binance code -1008).
    const body = { code: -1008, msg: 'Server is currently overloaded (key AKIAKEY-0123456789). Please try again in a few minutes.' };
    emu.inject({ fault: { kind: 'server-error', status: 503, body }, path: '/api/v3/klines', times: 2 });
    // With keys set, ccxt would also load currencies and margin pairs from private endpoints.
    const ex = binance(emu, { apiKey: 'AKIAKEY-0123456789', secret: 'SHHH-secret-9876543210' });
    ex.options.fetchCurrencies = false;
    ex.options.fetchMargins = false;
    const err = (await downloadOHLCV(ex, store, { symbol: 'BTC/USDT', timeframe: '1h', from: JAN1, to: MAR1, maxAttempts: 2, sleep: noSleep }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/Server is currently overloaded \(key \*\*\*\)/);
    expect(err.message).not.toContain('AKIAKEY-0123456789');
    expect(err.message).not.toContain('SHHH-secret-9876543210');
  });

  it('createExchange turns the rate limiter on, loads one market type and rewrites every API host', async () => {
    const ex = await createExchange('binance', { apiOverride: emu.url + '/' });
    expect(ex.enableRateLimit).toBe(true);
    const api = ex.urls.api as unknown as Record<string, string>;
    expect(api.public).toBe(`${emu.url}/api/v3`);
    expect(api.fapiPublic).toBe(`${emu.url}/fapi/v1`);
    expect(Object.values(api).every((u) => typeof u !== 'string' || u.startsWith(emu.url))).toBe(true);
    await ex.loadMarkets();
    expect(Object.keys(ex.markets ?? {})).toEqual(['BTC/USDT']);
  });

  it('createExchange rejects an unknown exchange id', async () => {
    await expect(createExchange('nosuchexchange')).rejects.toThrow(/--exchange: "nosuchexchange" is not a ccxt exchange id/);
  });
});

describe('cs data download (spawned CLI, pointed at the emulator by ' + API_OVERRIDE_ENV + ')', () => {
  function cs(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin/cs.js'), ...args], {
        cwd: dir,
        env: { ...process.env, [API_OVERRIDE_ENV]: emu.url, CS_DB: join(dir, 'never-used.duckdb') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }
  const range = ['--exchange', 'binance', '--symbol', 'BTC/USDT', '--timeframe', '1h', '--from', '2024-01-01', '--to', '2024-03-01'];

  it('prints progress and stores the range; then --json resumes and fetches only the new day', async () => {
    const db = join(dir, 'cli.duckdb');
    const r = await cs(['data', 'download', ...range, '--limit', '500', '--db', db]);
    expect(r.stderr).toMatch(/binance BTC\/USDT 1h: 500 rows, 1 pages, .*ETA/);
    expect(r.stderr).toMatch(/1440 rows, 3 pages, 100\.0%/);
    expect(r.stdout).toMatch(/stored 1440 candles in 3 pages/);
    expect(r.code).toBe(0);

    const store = await openStore(db, { readOnly: true });
    stores.push(store);
    const { columns } = await store.loadBars(KEY, {}, { cache: false });
    expectSameBars(columns, sourceRange(real, JAN1, MAR1));
    await store.close();
    stores.pop();

    const j = await cs(['data', 'download', ...range.slice(0, 8), '--to', '2024-03-02', '--db', db, '--json']);
    expect(j.code).toBe(0);
    const out = JSON.parse(j.stdout) as { rows: number; resumed: boolean; start: string; first: string };
    expect(out).toMatchObject({ rows: 24, resumed: true, start: '2024-03-01T00:00:00.000Z', first: '2024-03-01T00:00:00.000Z' });
    expect(j.stderr).toBe('');
  });

  it('exits 2 on an unknown symbol and creates no database file', async () => {
    const db = join(dir, 'bad.duckdb');
    const r = await cs(['data', 'download', '--exchange', 'binance', '--symbol', 'NOPE/USDT', '--from', '2024-01-01', '--to', '2024-01-02', '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--symbol: binance has no spot market "NOPE\/USDT"/);
    expect(existsSync(db)).toBe(false);
  });
});
