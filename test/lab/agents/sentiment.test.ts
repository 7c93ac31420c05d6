import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openStore } from '../../../datasets/store.ts';
import { importSentimentFile, loadSentiment, parseStamp, type SentimentRows } from '../../../datasets/sentiment.ts';
import { analyzeSentiment, scoreText, SentimentFeed } from '../../../lab/agents/sentiment.ts';
import { InputError } from '../../../engine/errors.ts';

const H = 3_600_000;
const T0 = Date.UTC(2024, 5, 1);
const dir = mkdtempSync(join(tmpdir(), 'cs-sentiment-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rows: SentimentRows = {
  fearGreed: [
    { ts: T0, value: 20, source: 'fng' },
    { ts: T0 + 24 * H, value: 80, source: 'fng' },
  ],
  headlines: [
    { ts: T0 + 1 * H, symbol: 'BTC', source: 'wire', title: 'a', score: 0.5 },
    { ts: T0 + 2 * H, symbol: '*', source: 'wire', title: 'b', score: -0.2 },
    { ts: T0 + 2 * H, symbol: 'ETH/USDT', source: 'wire', title: 'c', score: 1 },
  ],
};

describe('SentimentFeed', () => {
  it('hand-worked: F&G 20 → −0.6; BTC and market headlines 0.5 and −0.2 → 0.15; half and half → −0.225', () => {
    const r = new SentimentFeed(rows).at('BTC/USDT', T0 + 3 * H)!;
    expect(r.score).toBeCloseTo(-0.225, 12);
    expect(r.samples).toBe(3);
    expect(r.source).toBe('fear-greed+headlines');
    expect(r.ts).toBe(T0 + 2 * H);
    // ETH sees its own headline and the market-wide one: (1 − 0.2)/2 = 0.4 → 0.5·(−0.6) + 0.5·0.4 = −0.1
    expect(new SentimentFeed(rows).at('ETH/USDT', T0 + 3 * H)!.score).toBeCloseTo(-0.1, 12);
  });

  it('is fenced: an item stamped exactly at `at` is visible, one a millisecond later is not', () => {
    const feed = new SentimentFeed(rows);
    expect(feed.at('BTC/USDT', T0 - 1)).toBeNull();
    expect(feed.at('BTC/USDT', T0)).toMatchObject({ source: 'fear-greed', score: -0.6, samples: 1 });
    expect(feed.at('BTC/USDT', T0 + H)!.samples).toBe(2);
    expect(feed.at('BTC/USDT', T0 + 24 * H - 1)!.detail).toContain('Fear & Greed 20');
    expect(feed.at('BTC/USDT', T0 + 24 * H)!.detail).toContain('Fear & Greed 80');
  });

  it('windows: headlines older than 24 h and an index older than 2 days drop out', () => {
    const feed = new SentimentFeed(rows);
    // At T0 + 25h: the 1h headline is 24h old (out: the window is (at − 24h, at]), the 2h ones are in.
    expect(feed.at('BTC/USDT', T0 + 25 * H)!.samples).toBe(2);
    expect(feed.at('BTC/USDT', T0 + 24 * H + 48 * H)!.source).toBe('fear-greed');
    expect(feed.at('BTC/USDT', T0 + 24 * H + 48 * H + 1)).toBeNull();
  });

  it('property: readings at `at` do not change when every item after `at` is replaced by absurd values', () => {
    const item = fc.record({ dt: fc.integer({ min: 0, max: 200 }), v: fc.double({ min: -1, max: 1, noNaN: true }), sym: fc.constantFrom('BTC', '*', 'ETH') });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 40 }), fc.integer({ min: 0, max: 200 }), (items, cut) => {
        const base: SentimentRows = {
          fearGreed: items.filter((_, i) => i % 3 === 0).map((x, i) => ({ ts: T0 + x.dt * H + i, value: 50 + 50 * x.v, source: 'f' })),
          headlines: items.map((x, i) => ({ ts: T0 + x.dt * H, symbol: x.sym, source: 's', title: String(i), score: x.v })),
        };
        const at = T0 + cut * H;
        const poisoned: SentimentRows = {
          fearGreed: base.fearGreed.map((r) => (r.ts > at ? { ...r, value: 100 } : r)),
          headlines: [...base.headlines.map((r) => (r.ts > at ? { ...r, score: 1 } : r)), { ts: at + 1, symbol: 'BTC', source: 'x', title: 'future', score: 1 }],
        };
        expect(new SentimentFeed(poisoned).at('BTC/USDT', at)).toEqual(new SentimentFeed(base).at('BTC/USDT', at));
      }),
    );
  });
});

describe('lexicon scorer', () => {
  it('AFINN-165 values (good = +3, panic = −3) and the crypto additions, total / 5', () => {
    expect(scoreText('good')).toBeCloseTo(0.6, 12);
    expect(scoreText('panic')).toBeCloseTo(-0.6, 12);
    expect(scoreText('Bitcoin rally')).toBeCloseTo(0.4, 12);
    expect(scoreText('Exchange hacked, panic everywhere, prices crash')).toBe(-1);
    expect(scoreText('Bitcoin trades sideways')).toBe(0);
  });
});

describe('store import', () => {
  it('parses epoch seconds, ms and ISO stamps', () => {
    expect(parseStamp('1717200000')).toBe(T0);
    expect(parseStamp(1717200000000)).toBe(T0);
    expect(parseStamp('2024-06-01')).toBe(T0);
    expect(parseStamp('2024-06-01 01:00')).toBe(T0 + H);
    expect(parseStamp('soon')).toBeNull();
  });

  it('imports alternative.me JSON and a headlines CSV (lexicon-scored), fenced on load; a bad row changes nothing', async () => {
    const fng = join(dir, 'fng.json');
    writeFileSync(fng, JSON.stringify({ name: 'Fear and Greed Index', data: [{ value: '20', value_classification: 'Extreme Fear', timestamp: '1717200000' }, { value: '80', value_classification: 'Greed', timestamp: '1717286400' }] }));
    const news = join(dir, 'news.csv');
    writeFileSync(news, `published_at,symbol,title\n2024-06-01T01:00:00Z,BTC,Bitcoin rally continues\n2024-06-01T02:00:00Z,*,Exchange hacked\n`);
    const store = await openStore(join(dir, 's.duckdb'));
    try {
      expect(await importSentimentFile(store, fng, 'fear-greed')).toMatchObject({ rows: 2, first: T0, last: T0 + 24 * H });
      expect(await importSentimentFile(store, news, 'headlines', scoreText)).toMatchObject({ rows: 2 });
      const loaded = await loadSentiment(store, { to: T0 + 3 * H, symbols: ['BTC/USDT'] });
      expect(loaded.fearGreed).toEqual([{ ts: T0, value: 20, source: 'fear-greed' }]);
      expect(loaded.headlines.map((h) => [h.ts, h.symbol, h.source, h.score])).toEqual([
        [T0 + H, 'BTC', 'news', 0.4],
        [T0 + 2 * H, '*', 'news', -0.6],
      ]);
      // −0.6 from the index; headlines (0.4 − 0.6)/2 = −0.1 → (−0.6 − 0.1)/2 = −0.35
      expect((await analyzeSentiment(store, 'BTC/USDT', T0 + 3 * H))!.score).toBeCloseTo(-0.35, 12);

      const bad = join(dir, 'bad.csv');
      writeFileSync(bad, `ts,value\n2024-06-03,50\n2024-06-04,140\n`);
      await expect(importSentimentFile(store, bad, 'fear-greed')).rejects.toThrow(new InputError('bad.csv line 3: value: must be 0–100'));
      const dup = join(dir, 'dup.csv');
      writeFileSync(dup, `ts,value\n2024-06-03,50\n2024-06-03,40\n`);
      await expect(importSentimentFile(store, dup, 'fear-greed')).rejects.toThrow(/dup.csv line 3: duplicate timestamp, first at dup.csv line 2/);
      expect((await loadSentiment(store, { to: Date.UTC(2030, 0, 1) })).fearGreed.length).toBe(2);
    } finally {
      await store.close();
    }
  });
});
