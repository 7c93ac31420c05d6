import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Field, Float64, makeData, RecordBatch, Schema, Struct, TimestampMillisecond, Table, tableToIPC } from 'apache-arrow';
import { openStore, type Store } from '../../datasets/store.ts';
import { importFile } from '../../datasets/import.ts';
import { exportBars } from '../../datasets/export.ts';
import { InputError } from '../../engine/errors.ts';
import { readSimpleCsv, shared, tempDir } from './support.ts';

const H = 3_600_000;
let tmp: ReturnType<typeof tempDir>;
let store: Store;
let seq = 0;
const file = (name: string, text: string | Uint8Array): string => {
  const p = join(tmp.dir, name);
  writeFileSync(p, text);
  return p;
};
const key = (timeframe = '1m') => ({ exchange: `t${++seq}`, symbol: 'BTC/USDT', timeframe });

beforeAll(async () => {
  tmp = tempDir('import');
  store = await openStore(join(tmp.dir, 'import.duckdb'));
});
afterAll(async () => {
  await store.close();
  tmp.cleanup();
});

describe('import real files', () => {
  it('Binance BTCUSDT 1h CSV: every row equals an independent reading of the file; 2024-01-01 00:00 opened at 42283.58', async () => {
    const f = shared('binance-spot/BTCUSDT_1h.csv');
    const k = { exchange: 'binance', symbol: 'BTC/USDT', timeframe: '1h' };
    const r = await importFile(store, f, k);
    expect(r.rows).toBe(34_349);
    const { columns: c } = await store.loadBars(k);
    const i = c.ts.indexOf(Date.UTC(2024, 0, 1, 0));
    expect(c.open[i]).toBe(42283.58);
    const ref = readSimpleCsv(f);
    expect(c.length).toBe(ref.size);
    for (let j = 0; j < c.length; j++) {
      expect([c.open[j], c.high[j], c.low[j], c.close[j], c.volume[j]]).toEqual(ref.get(c.ts[j]!));
    }
  });

  it('Coinbase hourly CSV (banner line, newest row first, 09-AM times): sorted, base volume, known 2017-12-17 12:00 high', async () => {
    const k = { exchange: 'coinbase', symbol: 'BTC/USD', timeframe: '1h' };
    const r = await importFile(store, shared('coinbase/Coinbase_BTCUSD_1h.csv'), k);
    expect(r.rows).toBe(20_111);
    expect(r.first).toBe(Date.UTC(2017, 6, 1, 11));
    expect(r.last).toBe(Date.UTC(2019, 9, 17, 9));
    const { columns: c } = await store.loadBars(k);
    for (let j = 1; j < c.length; j++) expect(c.ts[j]! - c.ts[j - 1]!).toBe(H); // README: no gaps
    // "2017-12-17 12-PM,BTCUSD,19847.11,19891.99,19707.5,19770.01,487.2,9671855.86"
    const i = c.ts.indexOf(Date.UTC(2017, 11, 17, 12));
    expect([c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i]]).toEqual([19847.11, 19891.99, 19707.5, 19770.01, 487.2]);
    // "2017-12-17 12-AM" is midnight, not noon.
    expect(c.open[c.ts.indexOf(Date.UTC(2017, 11, 17, 0))]).toBe(19650);
  });

  it('LEAN minute file: ms since midnight of the date in the name', async () => {
    const k = key();
    const r = await importFile(store, shared('coinbase-minute/coinbase_minute_btcusd_20171217_trade__20171217_btcusd_minute_trade.csv'), k);
    expect(r.format).toBe('lean');
    expect(r.rows).toBe(1440);
    const { columns: c } = await store.loadBars(k);
    // First lines: "0,19650.02,19650.02,19505,19516.96,61.34020731" and "60000,19516.93,...".
    expect(c.ts[0]).toBe(Date.UTC(2017, 11, 17));
    expect([c.open[0], c.high[0], c.low[0], c.close[0], c.volume[0]]).toEqual([19650.02, 19650.02, 19505, 19516.96, 61.34020731]);
    expect(c.ts[1]).toBe(Date.UTC(2017, 11, 17, 0, 1));
  });

  it('LEAN quote bars are refused with a clear message', async () => {
    await expect(importFile(store, shared('coinbase-minute/coinbase_minute_btcusd_20171217_quote__20171217_btcusd_minute_quote.csv'), { ...key(), format: 'lean' })).rejects.toThrow(
      /quote \(bid\/ask\) bar file/,
    );
  });

  it('microsecond text times (perp-1m) are read to the exact minute', async () => {
    const k = key();
    const r = await importFile(store, shared('perp-1m/btc-perp-20211231-20220201_1m.csv'), k);
    expect(r.rows).toBe(45_031);
    expect(r.first).toBe(Date.UTC(2021, 11, 31, 23, 1)); // "2021-12-31 23:01:00.000000"
  });
});

describe('import each format to the right typed arrays', () => {
  const rows = [
    [Date.UTC(2024, 0, 1, 0, 0), 42283.58, 42554.57, 42261.02, 42475.23, 1271.68108],
    [Date.UTC(2024, 0, 1, 0, 1), 42475.23, 42775, 42431.65, 42613.56, 1196.37856],
    [Date.UTC(2024, 0, 1, 0, 2), 0.1, 0.30000000000000004, 1e-8, 0.2, 0],
  ] as const;
  async function expectRows(k: ReturnType<typeof key>): Promise<void> {
    const { columns: c } = await store.loadBars(k);
    expect(c.length).toBe(rows.length);
    rows.forEach((r, i) => expect([c.ts[i], c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i]]).toEqual(r));
  }

  it('ccxt OHLCV JSON ([[ts, o, h, l, c, v], ...])', async () => {
    const k = key();
    await importFile(store, file('ohlcv.json', JSON.stringify(rows)), k);
    await expectRows(k);
  });

  it('JSON records with named fields', async () => {
    const k = key();
    const recs = rows.map(([timestamp, open, high, low, close, volume]) => ({ timestamp, open, high, low, close, volume }));
    await importFile(store, file('records.json', JSON.stringify(recs)), k);
    await expectRows(k);
  });

  it.each([
    ['epoch ms', (t: number) => String(t)],
    ['epoch s', (t: number) => String(t / 1000)],
    ['ISO Z', (t: number) => new Date(t).toISOString()],
    ['ISO +02:00', (t: number) => new Date(t + 2 * H).toISOString().replace('.000Z', '+02:00')],
    ['YYYY-MM-DD HH:MM:SS', (t: number) => new Date(t).toISOString().slice(0, 19).replace('T', ' ')],
  ])('CSV with %s times', async (name, fmt) => {
    const k = key();
    const text = 'open_time,open,high,low,close,volume\n' + rows.map(([t, ...v]) => [fmt(t), ...v].join(',')).join('\n') + '\n';
    await importFile(store, file(`times-${name.replace(/\W/g, '')}.csv`, text), k);
    await expectRows(k);
  });

  it('Arrow IPC written by apache-arrow with a millisecond timestamp column', async () => {
    const k = key();
    const fields = [new Field('timestamp', new TimestampMillisecond(), false), ...['open', 'high', 'low', 'close', 'volume'].map((n) => new Field(n, new Float64(), false))];
    const children = [
      makeData({ type: new TimestampMillisecond(), length: rows.length, nullCount: 0, data: BigInt64Array.from(rows, (r) => BigInt(r[0])) }),
      ...[1, 2, 3, 4, 5].map((j) => makeData({ type: new Float64(), length: rows.length, nullCount: 0, data: Float64Array.from(rows, (r) => r[j]!) })),
    ];
    const schema = new Schema(fields);
    const table = new Table(schema, new RecordBatch(schema, makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children })));
    await importFile(store, file('bars.arrow', tableToIPC(table, 'file')), k);
    await expectRows(k);
  });

  it('Parquet and CSV exports import back to identical columns (and hash)', async () => {
    const k = key();
    await importFile(store, file('src.json', JSON.stringify(rows)), k);
    const original = await store.loadBars(k);
    for (const format of ['parquet', 'csv'] as const) {
      const out = join(tmp.dir, `export.${format}`);
      expect((await exportBars(store, k, out, { format })).rows).toBe(3);
      const k2 = { ...k, exchange: `${k.exchange}-${format}` };
      await importFile(store, out, k2);
      const back = await store.loadBars(k2);
      expect(Array.from(back.columns.close)).toEqual(Array.from(original.columns.close));
      expect(Array.from(back.columns.ts)).toEqual(Array.from(original.columns.ts));
      expect(Array.from(back.columns.high)).toEqual(Array.from(original.columns.high));
    }
  });
});

describe('bad files: InputError naming file, line and field; nothing written', () => {
  const HEAD = 'timestamp,open,high,low,close,volume\n';
  const ok = (i: number) => `2024-01-01 00:0${i}:00,1,2,0.5,1.5,10`;
  it.each([
    ['a word in a number field', HEAD + [ok(0), ok(1), '2024-01-01 00:02:00,1,2,0.5,abc,10'].join('\n'), /bad\.csv line 4, field close: 'abc' is not a number/],
    ['an empty field', HEAD + [ok(0), '2024-01-01 00:01:00,1,,0.5,1,10'].join('\n'), /bad\.csv line 3, field high: is empty/],
    ['a missing field', HEAD + [ok(0), ok(1), '2024-01-01 00:02:00,1,2,0.5,1'].join('\n'), /bad\.csv line 4.*missing columns/],
    ['an unreadable time', HEAD + [ok(0), 'yesterday,1,2,0.5,1,1', ok(2)].join('\n'), /bad\.csv line 3, field timestamp: 'yesterday' is not/],
    ['a duplicate time', HEAD + [ok(0), ok(1), ok(1)].join('\n'), /bad\.csv line 4, field timestamp: duplicate of line 3/],
    ['a NaN', HEAD + [ok(0), '2024-01-01 00:01:00,1,2,0.5,nan,1'].join('\n'), /bad\.csv line 3, field close: 'nan' is not a number/],
    ['no close column', 'timestamp,open,high,low,volume\n2024-01-01,1,2,0.5,1\n', /bad\.csv: no column for close/],
    ['the wrong timeframe', HEAD + [ok(0), '2024-01-01 01:00:00,1,2,0.5,1.5,10', '2024-01-01 02:00:00,1,2,0.5,1.5,10'].join('\n'), /usually 3600 s apart but the timeframe is 60 s/],
  ])('%s', async (_name, text, msg) => {
    const k = key();
    await importFile(store, file('good.csv', HEAD + [ok(0), ok(1)].join('\n')), k);
    const before = await store.loadBars(k);
    const err = await importFile(store, file('bad.csv', text), k).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(msg);
    const after = await store.loadBars(k);
    expect(after.datasetHash).toBe(before.datasetHash);
  });

  it('a short ccxt array names its element', async () => {
    const text = JSON.stringify([[1704067200000, 1, 2, 0.5, 1.5, 10], [1704067260000, 1, 2, 0.5]]);
    await expect(importFile(store, file('short.json', text), key())).rejects.toThrow(/short\.json element 2: expected \[timestamp, open, high, low, close, volume\], got 4 values/);
  });

  it('epoch seconds mistaken for something else are caught by the plausible-date check', async () => {
    await expect(importFile(store, file('tiny.csv', 'timestamp,open,high,low,close,volume\n5,1,1,1,1,1\n65,1,1,1,1,1\n'), key())).rejects.toThrow(/tiny\.csv line 2, field timestamp: '5' is 1970/);
  });

  it('a missing file or unknown extension', async () => {
    await expect(importFile(store, join(tmp.dir, 'nope.csv'), key())).rejects.toThrow(/nope\.csv: no such file/);
    await expect(importFile(store, file('x.xlsx', 'x'), key())).rejects.toThrow(/--format/);
  });
});
