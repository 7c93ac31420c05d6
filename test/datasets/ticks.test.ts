import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { openStore, type Store } from '../../datasets/store.ts';
import { loadQuotes, loadTrades, writeQuotes, writeTrades } from '../../datasets/ticks.ts';
import { InputError } from '../../engine/errors.ts';
import { shared, tempDir } from './support.ts';

const KEY = { exchange: 'binance', symbol: 'BTC/USDT' };
let tmp: ReturnType<typeof tempDir>;
let store: Store;

/** Binance's raw WebSocket messages (README: binance-ws-raw), as recorded. */
function messages(stream: string): Record<string, unknown>[] {
  return gunzipSync(readFileSync(shared('binance-ws-raw/btcusdt_20240808.gz')))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.includes(`"stream":"btcusdt@${stream}"`))
    .map((l) => (JSON.parse(l.slice(l.indexOf(' ') + 1)) as { data: Record<string, unknown> }).data);
}

beforeAll(async () => {
  tmp = tempDir('ticks');
  store = await openStore(join(tmp.dir, 't.duckdb'));
});
afterAll(async () => {
  await store.close();
  tmp.cleanup();
});

describe('trades and quotes', () => {
  it('real Binance trades round-trip: trade time, trade id as seq, price, qty, aggressor side', async () => {
    const raw = messages('trade');
    expect(raw.length).toBeGreaterThan(9000);
    const n = raw.length;
    const col = (f: (m: Record<string, unknown>) => number) => Float64Array.from(raw, f);
    // "m": buyer is the maker, so the aggressor sold.
    const t = {
      length: n,
      ts: col((m) => m.T as number),
      seq: col((m) => m.t as number),
      price: col((m) => Number(m.p)),
      amount: col((m) => Number(m.q)),
      side: Int8Array.from(raw, (m) => (m.m ? -1 : 1)),
    };
    expect(await writeTrades(store, KEY, t)).toBe(n);
    const back = await loadTrades(store, KEY);
    expect(back.length).toBe(n);
    expect(back.ts[0]).toBe(1723161255342); // first message: "T":1723161255342, "t":3735683259, "p":"61837.63", "m":true
    expect(back.seq[0]).toBe(3735683259);
    expect(back.price[0]).toBe(61837.63);
    expect(back.side[0]).toBe(-1);
    // Binance trade ids increase with time, so (ts, seq) order is id order.
    expect(Array.from(back.seq)).toEqual(Array.from(t.seq).sort((a, b) => a - b));
    const sold = back.side.reduce((a, s) => a + (s < 0 ? 1 : 0), 0);
    expect(sold).toBe(raw.filter((m) => m.m).length);
    const window = await loadTrades(store, KEY, { from: back.ts[100], to: back.ts[200] });
    expect(window.ts[0]).toBe(back.ts[100]);
    expect(window.ts.every((x) => x >= back.ts[100]! && x < back.ts[200]!)).toBe(true);
  });

  it('quotes round-trip and upsert on (ts, seq)', async () => {
    const k = { exchange: 'x', symbol: 'ETH/USDT' };
    const q = (bid: number) => ({ length: 2, ts: Float64Array.of(1000, 1000), seq: Float64Array.of(1, 2), bid: Float64Array.of(bid, bid + 1), bidSize: Float64Array.of(1, 2), ask: Float64Array.of(bid + 2, bid + 3), askSize: Float64Array.of(3, 4) });
    await writeQuotes(store, k, q(10));
    await writeQuotes(store, k, q(20));
    const back = await loadQuotes(store, k);
    expect(back.length).toBe(2);
    expect(Array.from(back.bid)).toEqual([20, 21]);
    expect(Array.from(back.askSize)).toEqual([3, 4]);
  });

  it('bad ticks → InputError, nothing written', async () => {
    const k = { exchange: 'bad', symbol: 'BTC/USDT' };
    const dup = { length: 2, ts: Float64Array.of(5, 5), seq: Float64Array.of(1, 1), price: Float64Array.of(1, 1), amount: Float64Array.of(1, 1), side: Int8Array.of(0, 0) };
    await expect(writeTrades(store, k, dup)).rejects.toThrow(/trades row 1: same \(ts, seq\) as row 0/);
    await expect(writeTrades(store, k, { ...dup, seq: Float64Array.of(1, 2), price: Float64Array.of(1, Infinity) })).rejects.toBeInstanceOf(InputError);
    expect((await loadTrades(store, k)).length).toBe(0);
  });
});
