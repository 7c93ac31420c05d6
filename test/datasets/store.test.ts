import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, type Store } from '../../datasets/store.ts';
import { InputError } from '../../engine/errors.ts';
import { bars, ROOT, tempDir } from './support.ts';

const KEY = { exchange: 'test', symbol: 'BTC/USDT', timeframe: '1m' };
const T0 = Date.UTC(2024, 0, 1);
const M = 60_000;

/** n bars with values that identify their row: open = 100 + i, etc. */
function series(n: number, start = 0, bump = 0) {
  return bars(Array.from({ length: n }, (_, k) => {
    const i = start + k;
    return [T0 + i * M, 100 + i + bump, 101 + i + bump, 99 + i + bump, 100.5 + i + bump, i + 0.25] as const;
  }));
}

/** The documented hash, recomputed here with node:crypto directly from the expected rows. */
function expectedHash(key: typeof KEY, cols: ReturnType<typeof series>): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ exchange: key.exchange, symbol: key.symbol, timeframe: key.timeframe }));
  for (const c of [cols.ts, cols.open, cols.high, cols.low, cols.close, cols.volume]) h.update(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  return h.digest('hex');
}

let tmp: ReturnType<typeof tempDir>;
let n = 0;
const dbFile = () => join(tmp.dir, `s${++n}.duckdb`);

beforeAll(() => {
  tmp = tempDir('store');
});
afterAll(() => tmp.cleanup());

async function withStore<T>(fn: (s: Store, file: string) => Promise<T>): Promise<T> {
  const file = dbFile();
  const s = await openStore(file);
  try {
    return await fn(s, file);
  } finally {
    await s.close();
  }
}

describe('store: write and load', () => {
  it('round-trips bars exactly, sorted by time, with the content hash of the rows returned', async () => {
    await withStore(async (s) => {
      const src = series(500);
      // Write out of order: the store sorts.
      const perm = bars(Array.from({ length: 500 }, (_, k) => {
        const i = (k * 7) % 500;
        return [src.ts[i]!, src.open[i]!, src.high[i]!, src.low[i]!, src.close[i]!, src.volume[i]!] as const;
      }));
      expect((await s.writeBars(KEY, perm)).rows).toBe(500);
      for (const cache of [false, true, true]) {
        const { columns, datasetHash } = await s.loadBars(KEY, {}, { cache });
        expect(columns.length).toBe(500);
        expect(columns.symbol).toBe('BTC/USDT');
        expect(columns.timeframeMs).toBe(M);
        expect(Array.from(columns.ts)).toEqual(Array.from(src.ts));
        expect(Array.from(columns.close)).toEqual(Array.from(src.close));
        expect(Array.from(columns.volume)).toEqual(Array.from(src.volume));
        expect(datasetHash).toBe(expectedHash(KEY, src));
      }
    });
  });

  it('a range [from, to) returns exactly those rows and their own hash', async () => {
    await withStore(async (s) => {
      await s.writeBars(KEY, series(100));
      const range = { from: T0 + 10 * M, to: T0 + 20 * M };
      const viaDb = await s.loadBars(KEY, range, { cache: false });
      const viaCache = await s.loadBars(KEY, range);
      for (const r of [viaDb, viaCache]) {
        expect(r.columns.length).toBe(10);
        expect(r.columns.ts[0]).toBe(T0 + 10 * M);
        expect(r.columns.open[9]).toBe(119);
        expect(r.datasetHash).toBe(expectedHash(KEY, series(10, 10)));
      }
      const empty = await s.loadBars(KEY, { from: T0 + 500 * M });
      expect(empty.columns.length).toBe(0);
    });
  });

  it('shared: true gives SharedArrayBuffer-backed columns with the same data and hash', async () => {
    await withStore(async (s) => {
      await s.writeBars(KEY, series(64));
      const plain = await s.loadBars(KEY);
      for (const cache of [false, true]) {
        const sh = await s.loadBars(KEY, {}, { shared: true, cache });
        for (const c of [sh.columns.ts, sh.columns.open, sh.columns.high, sh.columns.low, sh.columns.close, sh.columns.volume]) {
          expect(c.buffer).toBeInstanceOf(SharedArrayBuffer);
        }
        expect(Array.from(sh.columns.high)).toEqual(Array.from(plain.columns.high));
        expect(sh.datasetHash).toBe(plain.datasetHash);
      }
    });
  });

  it('upserts: overlapping timestamps are replaced, others kept; the cache follows the new data', async () => {
    await withStore(async (s) => {
      await s.writeBars(KEY, series(10));
      const before = await s.loadBars(KEY); // builds the cache
      await s.writeBars(KEY, series(5, 8, 1000)); // rows 8..12, 8 and 9 overlap
      const after = await s.loadBars(KEY);
      expect(after.columns.length).toBe(13);
      expect(after.columns.open[7]).toBe(107);
      expect(after.columns.open[8]).toBe(1108);
      expect(after.columns.open[12]).toBe(1112);
      expect(after.datasetHash).not.toBe(before.datasetHash);
      expect(await s.lastTs(KEY)).toBe(T0 + 12 * M);
    });
  });

  it('a corrupt cache file is ignored, never served', async () => {
    await withStore(async (s, file) => {
      await s.writeBars(KEY, series(20));
      const good = await s.loadBars(KEY);
      const cacheDir = join(tmp.dir, '.cs-cache', file.split('/').pop()!);
      const arrow = readdirSync(cacheDir).find((f) => f.endsWith('.arrow'))!;
      writeFileSync(join(cacheDir, arrow), 'garbage');
      const again = await s.loadBars(KEY);
      expect(again.datasetHash).toBe(good.datasetHash);
      expect(Array.from(again.columns.close)).toEqual(Array.from(good.columns.close));
    });
  });

  it('scanBars yields the same rows in bounded chunks', async () => {
    await withStore(async (s) => {
      const src = series(1000);
      await s.writeBars(KEY, src);
      const range = { from: T0 + 5 * M, to: T0 + 995 * M };
      const expected = await s.loadBars(KEY, range);
      for (const chunkRows of [1, 7, 256, 5000]) {
        const ts: number[] = [];
        const close: number[] = [];
        for await (const c of s.scanBars(KEY, range, { chunkRows })) {
          expect(c.length).toBeLessThanOrEqual(chunkRows);
          ts.push(...c.ts);
          close.push(...c.close);
        }
        expect(ts).toEqual(Array.from(expected.columns.ts));
        expect(close).toEqual(Array.from(expected.columns.close));
      }
    });
  });

  it('lists datasets with rows and time span; lastTs is undefined for an unknown key', async () => {
    await withStore(async (s) => {
      await s.writeBars(KEY, series(3));
      await s.writeBars({ ...KEY, timeframe: '1h' }, bars([[T0, 1, 1, 1, 1, 1]], 3_600_000));
      expect(await s.listDatasets()).toEqual([
        { exchange: 'test', symbol: 'BTC/USDT', timeframe: '1h', rows: 1, first: T0, last: T0 },
        { exchange: 'test', symbol: 'BTC/USDT', timeframe: '1m', rows: 3, first: T0, last: T0 + 2 * M },
      ]);
      expect(await s.lastTs({ ...KEY, symbol: 'ETH/USDT' })).toBeUndefined();
    });
  });
});

describe('store: cache invalidation and in-memory use', () => {
  it('rows deleted behind the store\'s back (plain SQL) are never served from a stale cache', async () => {
    await withStore(async (s) => {
      await s.writeBars(KEY, series(30));
      expect((await s.loadBars(KEY)).columns.length).toBe(30); // cache built
      await s.withConnection((conn) => conn.run(`DELETE FROM bars WHERE ts >= ${T0 + 20 * M}`));
      const after = await s.loadBars(KEY);
      expect(after.columns.length).toBe(20);
      expect(after.datasetHash).toBe(expectedHash(KEY, series(20)));
    });
  });

  it('an in-memory store works without any cache directory', async () => {
    const s = await openStore(':memory:');
    try {
      await s.writeBars(KEY, series(10));
      const r = await s.loadBars(KEY, {}, { shared: true });
      expect(r.datasetHash).toBe(expectedHash(KEY, series(10)));
      const seen: number[] = [];
      for await (const c of s.scanBars(KEY, {}, { chunkRows: 4 })) seen.push(...c.open);
      expect(seen).toEqual(Array.from(series(10).open));
    } finally {
      await s.close();
    }
  });
});

describe('store: bad input changes nothing', () => {
  it.each([
    ['a duplicate timestamp', () => bars([[T0, 1, 1, 1, 1, 1], [T0, 2, 2, 2, 2, 2]]), /row 1: duplicate timestamp/],
    ['a NaN price', () => bars([[T0 + M, 1, 1, NaN, 1, 1]]), /row 0, field low: NaN/],
    ['a fractional timestamp', () => bars([[T0 + 0.5, 1, 1, 1, 1, 1]]), /row 0: ts .* not an integer/],
  ])('%s → InputError, table unchanged', async (_name, make, msg) => {
    await withStore(async (s) => {
      await s.writeBars(KEY, series(5));
      const before = await s.loadBars(KEY);
      await expect(s.writeBars(KEY, make())).rejects.toThrow(msg);
      await expect(s.writeBars(KEY, make())).rejects.toBeInstanceOf(InputError);
      expect((await s.loadBars(KEY)).datasetHash).toBe(before.datasetHash);
    });
  });

  it('an unknown dataset, a bad key or a reversed range → InputError', async () => {
    await withStore(async (s) => {
      await expect(s.loadBars(KEY)).rejects.toThrow(/no bars for test BTC\/USDT 1m/);
      await expect(s.writeBars({ ...KEY, timeframe: 'hourly' }, series(1))).rejects.toThrow(/timeframe/);
      await s.writeBars(KEY, series(2));
      await expect(s.loadBars(KEY, { from: T0 + M, to: T0 })).rejects.toBeInstanceOf(InputError);
    });
  });

  it('a read-only store refuses writes', async () => {
    const file = dbFile();
    await (await openStore(file)).close();
    const ro = await openStore(file, { readOnly: true });
    try {
      await expect(ro.writeBars(KEY, series(1))).rejects.toThrow(/read-only/);
    } finally {
      await ro.close();
    }
  });
});

describe('store: a database held by another process', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.pid) process.kill(child.pid);
  });

  it('→ InputError naming the file and saying another process has it open', async () => {
    const file = dbFile();
    await (await openStore(file)).close();
    const script = `import { DuckDBInstance } from '@duckdb/node-api';
      const db = await DuckDBInstance.create(process.argv[1]);
      await (await db.connect()).run('SELECT 1');
      process.stdout.write('ready\\n');
      globalThis.holdOpen = db; // reachable for ever: a collected instance would release the file lock
      setInterval(() => {}, 1000);`;
    child = spawn(process.execPath, ['--input-type=module', '-e', script, file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((ready, fail) => {
      child!.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && ready());
      child!.on('exit', (code) => fail(new Error(`holder exited early (${code})`)));
    });
    const err = await openStore(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(/another process has this database open/);
  });
});
