import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openStore, type LoadBuffer } from '../../datasets/store.ts';
import { bars, tempDir } from './support.ts';

const KEY = { exchange: 'test', symbol: 'BTC/USDT', timeframe: '1m' };
const T0 = Date.UTC(2024, 0, 1);
const M = 60_000;

/** n bars whose values name their row (open = 100 + i + bump, …), so a stale row is visible. */
function series(n: number, bump = 0) {
  return bars(Array.from({ length: n }, (_, i) => [T0 + i * M, 100 + i + bump, 101 + i + bump, 99 + i + bump, 100.5 + i + bump, i + 0.25] as const));
}

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('store-reuse');
});
afterAll(() => tmp.cleanup());

describe('store: loads through a kept buffer (reuse)', () => {
  it('returns the same rows and hash as a plain load, as views of the one kept buffer', async () => {
    const s = await openStore(join(tmp.dir, 'a.duckdb'));
    try {
      await s.writeBars(KEY, series(300));
      const plain = await s.loadBars(KEY);
      const reuse: LoadBuffer = {};
      const first = await s.loadBars(KEY, {}, { reuse });
      const kept = reuse.bytes;
      expect(kept).toBeInstanceOf(Uint8Array);
      const again = await s.loadBars(KEY, {}, { reuse });
      expect(reuse.bytes).toBe(kept); // not reallocated
      for (const r of [first, again]) {
        expect(r.datasetHash).toBe(plain.datasetHash);
        expect(r.columns.close.buffer).toBe(kept!.buffer);
        expect(Array.from(r.columns.open)).toEqual(Array.from({ length: 300 }, (_, i) => 100 + i));
        expect(Array.from(r.columns.ts)).toEqual(Array.from(plain.columns.ts));
      }
      // A range still works through the kept buffer (rows 10..19).
      const part = await s.loadBars(KEY, { from: T0 + 10 * M, to: T0 + 20 * M }, { reuse });
      expect(Array.from(part.columns.open)).toEqual(Array.from({ length: 10 }, (_, i) => 110 + i));
    } finally {
      await s.close();
    }
  });

  it('a larger dataset grows the buffer; a rewrite is read fresh, never the old bytes', async () => {
    const s = await openStore(join(tmp.dir, 'b.duckdb'));
    try {
      await s.writeBars(KEY, series(50));
      const reuse: LoadBuffer = {};
      // The load that builds the cache reads DuckDB into fresh arrays; the buffer serves cache reads.
      await s.loadBars(KEY, {}, { reuse });
      expect(reuse.bytes).toBeUndefined();
      await s.loadBars(KEY, {}, { reuse });
      const small = reuse.bytes!;
      expect(small.byteLength).toBeGreaterThan(50 * 6 * 8);
      await s.writeBars(KEY, series(400, 1000));
      const rebuilt = await s.loadBars(KEY, {}, { reuse });
      expect(rebuilt.columns.open[399]).toBe(1499);
      const big = await s.loadBars(KEY, {}, { reuse });
      expect(reuse.bytes!.byteLength).toBeGreaterThan(small.byteLength);
      expect(big.columns.length).toBe(400);
      expect(big.columns.open[0]).toBe(1100);
      expect(big.columns.open[399]).toBe(1499);
      // Shared loads never land in a plain buffer (workers could not see it).
      const sh = await s.loadBars(KEY, {}, { reuse, shared: true });
      expect(sh.columns.close.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(sh.columns.open[399]).toBe(1499);
    } finally {
      await s.close();
    }
  });
});
