import Sentiment from 'sentiment';
import type { FencedFeed, SentimentReading } from '../../engine/agents/types.ts';
import type { Store } from '../../datasets/store.ts';
import { assetKey, loadSentiment, type SentimentRows } from '../../datasets/sentiment.ts';

/**
 * Sentiment at the replay clock. A reading for (symbol, at) combines
 *   - the Fear & Greed index: the latest value stamped ≤ at and no older than `fearGreedMaxAgeMs`,
 *     as (value − 50) / 50 (0 = extreme fear → −1, 100 = extreme greed → +1);
 *   - headlines about the symbol's asset or the whole market ('*'), stamped in (at − window, at]:
 *     the mean of their scores;
 * as w·F&G + (1 − w)·headlines when both exist, else whichever does; null when neither. Nothing
 * stamped after `at` is ever read: the feed finds its range by binary search on the timestamps.
 */
export interface SentimentOptions {
  readonly headlineWindowMs: number;
  readonly fearGreedMaxAgeMs: number;
  /** Weight of the index when both kinds are present. */
  readonly fearGreedWeight: number;
}

export const DEFAULT_SENTIMENT: SentimentOptions = Object.freeze({
  headlineWindowMs: 24 * 3_600_000,
  fearGreedMaxAgeMs: 2 * 86_400_000,
  fearGreedWeight: 0.5,
});

/** Crypto words the general-purpose AFINN-165 list lacks (same −5…+5 scale). */
const CRYPTO_LEXICON: Record<string, number> = {
  surge: 2, surges: 2, surged: 2, soar: 2, soars: 2, soared: 2, rally: 2, rallies: 2, rallied: 2,
  bullish: 2, breakout: 1, moon: 2, ath: 2, inflows: 1, adoption: 1, approval: 2, approved: 2, upgrade: 1,
  crash: -3, crashes: -3, crashed: -3, plunge: -3, plunges: -3, plunged: -3, dump: -2, dumps: -2, dumped: -2,
  bearish: -2, hack: -3, hacked: -3, exploit: -3, exploited: -3, liquidation: -2, liquidations: -2, liquidated: -2,
  selloff: -2, outflows: -1, ban: -2, banned: -2, bans: -2, lawsuit: -2, sued: -2, fud: -2, rug: -3, insolvent: -3, bankrupt: -3, bankruptcy: -3,
  delisted: -2, delist: -2, scam: -3, fraud: -3,
};

const analyzer = new Sentiment();

/** Lexicon score of a text: AFINN-165 (npm `sentiment`) plus crypto words, total / 5 clamped to [-1, 1]. */
export function scoreText(text: string): number {
  const s = analyzer.analyze(text, { extras: CRYPTO_LEXICON }).score;
  return Math.max(-1, Math.min(1, s / 5));
}

/** Index of the first element > x in a sorted array (so [0, i) are ≤ x). */
function upperBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface HeadlineIndex {
  readonly ts: Float64Array;
  /** prefix[i] = sum of the first i scores. */
  readonly prefix: Float64Array;
}

function indexOf(items: readonly { ts: number; score: number }[]): HeadlineIndex {
  const ts = Float64Array.from(items, (h) => h.ts);
  const prefix = new Float64Array(items.length + 1);
  for (let i = 0; i < items.length; i++) prefix[i + 1] = prefix[i]! + items[i]!.score;
  return { ts, prefix };
}

function sorted<T extends { ts: number }>(a: readonly T[]): readonly T[] {
  for (let i = 1; i < a.length; i++) if (a[i]!.ts < a[i - 1]!.ts) return [...a].sort((x, y) => x.ts - y.ts);
  return a;
}

/** A FencedFeed over preloaded rows. */
export class SentimentFeed implements FencedFeed<SentimentReading> {
  private readonly fgTs: Float64Array;
  private readonly fgValue: Float64Array;
  private readonly byAsset = new Map<string, HeadlineIndex>();
  readonly options: SentimentOptions;

  constructor(rows: SentimentRows, options: Partial<SentimentOptions> = {}) {
    this.options = { ...DEFAULT_SENTIMENT, ...options };
    const fg = sorted(rows.fearGreed);
    this.fgTs = Float64Array.from(fg, (r) => r.ts);
    this.fgValue = Float64Array.from(fg, (r) => r.value);
    const groups = new Map<string, { ts: number; score: number }[]>();
    for (const h of sorted(rows.headlines)) {
      const k = assetKey(h.symbol);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = []));
      g.push(h);
    }
    for (const [k, g] of groups) this.byAsset.set(k, indexOf(g));
  }

  at(symbol: string, at: number): SentimentReading | null {
    const o = this.options;
    let fg: { ts: number; value: number } | null = null;
    const i = upperBound(this.fgTs, at) - 1;
    if (i >= 0 && at - this.fgTs[i]! <= o.fearGreedMaxAgeMs) fg = { ts: this.fgTs[i]!, value: this.fgValue[i]! };
    let n = 0;
    let sum = 0;
    let newest = -Infinity;
    const key = assetKey(symbol);
    for (const k of key === '*' ? ['*'] : [key, '*']) {
      const idx = this.byAsset.get(k);
      if (!idx) continue;
      const hi = upperBound(idx.ts, at);
      const lo = upperBound(idx.ts, at - o.headlineWindowMs);
      if (hi > lo) {
        n += hi - lo;
        sum += idx.prefix[hi]! - idx.prefix[lo]!;
        newest = Math.max(newest, idx.ts[hi - 1]!);
      }
    }
    if (!fg && n === 0) return null;
    const fgScore = fg ? (fg.value - 50) / 50 : 0;
    const hlScore = n > 0 ? sum / n : 0;
    const score = fg && n > 0 ? o.fearGreedWeight * fgScore + (1 - o.fearGreedWeight) * hlScore : fg ? fgScore : hlScore;
    const parts: string[] = [];
    if (fg) parts.push(`Fear & Greed ${fg.value} at ${new Date(fg.ts).toISOString()}`);
    if (n > 0) parts.push(`${n} headline(s) in ${o.headlineWindowMs / 3_600_000}h, mean ${hlScore >= 0 ? '+' : ''}${hlScore.toFixed(2)}`);
    return {
      ts: Math.max(fg?.ts ?? -Infinity, newest),
      source: fg && n > 0 ? 'fear-greed+headlines' : fg ? 'fear-greed' : 'headlines',
      score: Math.max(-1, Math.min(1, score)),
      samples: (fg ? 1 : 0) + n,
      detail: parts.join('; '),
    };
  }
}

/**
 * The sentiment of `symbol` at replay time `at`, from a store (only rows stamped ≤ at are read) or
 * from rows already loaded. The MCP tool `analyze_sentiment` and `cs agents debate` call this.
 */
export async function analyzeSentiment(source: Store | SentimentRows, symbol: string, at: number, options: Partial<SentimentOptions> = {}): Promise<SentimentReading | null> {
  const o = { ...DEFAULT_SENTIMENT, ...options };
  const rows = 'fearGreed' in source ? source : await loadSentiment(source, { to: at, from: at - Math.max(o.headlineWindowMs, o.fearGreedMaxAgeMs), symbols: [symbol] });
  return new SentimentFeed(rows, o).at(symbol, at);
}

/** A feed preloaded for a run: rows up to `to` (the run's last bar close), from `from` minus the look-back. */
export async function loadSentimentFeed(store: Store, symbols: readonly string[], from: number | undefined, to: number, options: Partial<SentimentOptions> = {}): Promise<SentimentFeed> {
  const o = { ...DEFAULT_SENTIMENT, ...options };
  const rows = await loadSentiment(store, { to, symbols, ...(from !== undefined ? { from: from - Math.max(o.headlineWindowMs, o.fearGreedMaxAgeMs) } : {}) });
  return new SentimentFeed(rows, o);
}
