import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { BinanceEmulator, readOhlcvCsv, SHARED_DATASETS } from './binance-emulator.ts';

// The wire format as Binance documents it for GET /api/v3/klines (one array per candle):
// [openTime, "open", "high", "low", "close", "volume", closeTime, "quoteVolume", trades,
//  "takerBuyBase", "takerBuyQuote", "0"], closeTime = openTime + interval − 1 ms.
const HOUR = 3_600_000;
const real = readOhlcvCsv(join(SHARED_DATASETS, 'binance-spot/BTCUSDT_1h.csv'), 'BTC/USDT', HOUR);
const JAN1 = Date.UTC(2024, 0, 1);
let emu: BinanceEmulator;

beforeAll(async () => {
  emu = await BinanceEmulator.start({ series: [real], now: () => Date.UTC(2025, 0, 1) });
});
afterAll(async () => emu.close());

async function get(path: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const r = await fetch(emu.url + path);
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* plain-text error bodies stay text */
  }
  return { status: r.status, body, headers: r.headers };
}

describe('Binance emulator wire format', () => {
  it('answers klines as Binance does: 12 fields, prices as strings, inclusive start and end', async () => {
    const { status, body } = await get(`/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=${JAN1}&endTime=${JAN1 + 2 * HOUR}`);
    expect(status).toBe(200);
    const rows = body as unknown[][];
    expect(rows).toHaveLength(3);
    expect(rows[0]).toEqual([JAN1, '42283.58000000', '42554.57000000', '42261.02000000', '42475.23000000', '1271.68108000', JAN1 + HOUR - 1, expect.any(String), expect.any(Number), expect.any(String), expect.any(String), '0']);
  });

  it('defaults to 500 rows, caps at 1000, and without startTime returns the newest candles up to endTime', async () => {
    expect(((await get(`/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=${JAN1}`)).body as unknown[]).length).toBe(500);
    expect(((await get(`/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=${JAN1}&limit=5000`)).body as unknown[]).length).toBe(1000);
    const tail = (await get(`/api/v3/klines?symbol=BTCUSDT&interval=1h&endTime=${JAN1}&limit=2`)).body as number[][];
    expect(tail.map((r) => r[0])).toEqual([JAN1 - HOUR, JAN1]);
  });

  it('hides candles that open after the server clock', async () => {
    const rows = (await get(`/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=${Date.UTC(2024, 11, 31, 22)}`)).body as number[][];
    expect(rows.map((r) => r[0])).toEqual([Date.UTC(2024, 11, 31, 22), Date.UTC(2024, 11, 31, 23), Date.UTC(2025, 0, 1)]);
  });

  it('rejects a bad symbol or interval with Binance error codes', async () => {
    expect(await get('/api/v3/klines?symbol=NOPEUSDT&interval=1h')).toMatchObject({ status: 400, body: { code: -1121, msg: 'Invalid symbol.' } });
    expect(await get('/api/v3/klines?symbol=BTCUSDT&interval=7h')).toMatchObject({ status: 400, body: { code: -1120, msg: 'Invalid interval.' } });
  });

  it('serves ping, time and the recorded exchangeInfo', async () => {
    expect((await get('/api/v3/ping')).body).toEqual({});
    expect((await get('/api/v3/time')).body).toEqual({ serverTime: Date.UTC(2025, 0, 1) });
    const info = (await get('/api/v3/exchangeInfo')).body as { symbols: { symbol: string; filters: { filterType: string; tickSize?: string }[] }[] };
    expect(info.symbols.map((s) => s.symbol)).toEqual(['BTCUSDT']);
    expect(info.symbols[0]!.filters.find((f) => f.filterType === 'PRICE_FILTER')?.tickSize).toBe('0.01000000');
  });

  it('injects faults into the matching requests only, in order, and logs every request', async () => {
    const before = emu.requests.length;
    emu.inject({ fault: { kind: 'rate-limit', retryAfterSec: 3 }, path: '/api/v3/klines' });
    emu.inject({ fault: { kind: 'ip-ban' }, path: '/api/v3/klines', after: 1 });
    emu.inject({ fault: { kind: 'server-error', status: 502 }, path: '/api/v3/klines', after: 2 });
    const limited = await get('/api/v3/klines?symbol=BTCUSDT&interval=1h');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(limited.body).toMatchObject({ code: -1003 });
    expect((await get('/api/v3/ping')).status).toBe(200); // another path: untouched
    expect((await get('/api/v3/klines?symbol=BTCUSDT&interval=1h')).status).toBe(418);
    expect((await get('/api/v3/klines?symbol=BTCUSDT&interval=1h')).status).toBe(502);
    emu.inject({ fault: { kind: 'drop' } });
    await expect(fetch(emu.url + '/api/v3/ping')).rejects.toThrow();
    expect((await get('/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=3')).status).toBe(200);
    expect(emu.requests.slice(before).map((r) => r.status)).toEqual([429, 200, 418, 502, 'dropped', 200]);
    expect(emu.requests.at(-1)).toMatchObject({ path: '/api/v3/klines', rows: 3, query: { limit: '3' } });
  });
});
