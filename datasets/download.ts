import type { Exchange } from 'ccxt';
import { z } from 'zod';
import type { BarColumns } from '../engine/types.ts';
import { InputError, describeIssues } from '../engine/errors.ts';
import { timeframeToMs } from '../engine/timeframe.ts';
import type { BarKey, Store } from './store.ts';
import { allocBarArrays, barColumns } from './columns.ts';

/**
 * OHLCV history through ccxt, stored page by page so an interrupted download keeps what it got
 * and the next run resumes after the newest stored bar.
 *
 * Rate limits: ccxt's own limiter (`enableRateLimit`, on by default and by `createExchange`) spaces
 * the requests; on top of it, a ccxt.OperationFailed (its NetworkError subclasses: HTTP 429/418
 * rate limits, 5xx, timeouts, dropped connections; and "server busy" answers) is retried with
 * exponential backoff, honouring the server's Retry-After, a bounded number of times.
 */

type Ccxt = (typeof import('ccxt'))['default'];
let ccxtModule: Promise<Ccxt> | undefined;
/** ccxt takes seconds to import; load it only when a download actually happens. */
function loadCcxt(): Promise<Ccxt> {
  return (ccxtModule ??= import('ccxt').then((m) => m.default));
}

/** The part of the store a download needs. */
export type BarSink = Pick<Store, 'writeBars' | 'lastTs'>;

export interface DownloadProgress {
  readonly key: BarKey;
  readonly rows: number;
  readonly pages: number;
  readonly retries: number;
  /** Open time of the next bar to fetch. */
  readonly since: number;
  readonly from: number;
  readonly to: number;
  /** Share of the requested span covered so far, 0..1. */
  readonly fraction: number;
  readonly elapsedMs: number;
  /** Estimated time left from the pace so far, or null before the first page. */
  readonly etaMs: number | null;
  /** Set on a progress event sent just before waiting to retry. */
  readonly retryInMs?: number;
  readonly retryReason?: string;
}

export interface DownloadOptions {
  readonly symbol: string;
  readonly timeframe: string;
  /** Inclusive, epoch ms. */
  readonly from: number;
  /** Exclusive, epoch ms. */
  readonly to: number;
  /** Candles per request; default the exchange's documented maximum for fetchOHLCV, else 500. */
  readonly limit?: number;
  readonly onProgress?: (p: DownloadProgress) => void;
  /** Attempts per page before giving up (default 5). */
  readonly maxAttempts?: number;
  /** First retry delay; doubles on each further attempt (default 1000 ms). */
  readonly backoffMs?: number;
  /** Upper bound of one wait, Retry-After included (default 60 s). */
  readonly maxDelayMs?: number;
  /** The wall clock, to tell a still-open candle from a closed one. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly signal?: AbortSignal;
}

export interface DownloadResult {
  readonly key: BarKey;
  readonly rows: number;
  readonly pages: number;
  readonly retries: number;
  /** Where this run started: `from`, or just after the newest stored bar when resuming. */
  readonly start: number;
  readonly resumed: boolean;
  /** Open times of the first and last bar written by this run. */
  readonly first: number | null;
  readonly last: number | null;
  /** True when the exchange returned the still-open candle and it was left out. */
  readonly droppedOpenCandle: boolean;
}

const optionsSchema = z
  .object({
    symbol: z.string().trim().min(1, 'must not be empty'),
    timeframe: z.string().min(1),
    from: z.number().int('must be an integer epoch-ms time'),
    to: z.number().int('must be an integer epoch-ms time'),
    limit: z.number().int().min(1).max(10_000).optional(),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    backoffMs: z.number().min(0).optional(),
    maxDelayMs: z.number().min(0).optional(),
  })
  .refine((o) => o.to > o.from, { message: 'empty range: to must be after from', path: ['to'] });

export async function downloadOHLCV(exchange: Exchange, store: BarSink, options: DownloadOptions): Promise<DownloadResult> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new InputError(`download: ${describeIssues(parsed.error, 'options')}`);
  }
  const { symbol, timeframe, from, to } = parsed.data;
  if (exchange.timeframes && !(timeframe in exchange.timeframes)) {
    throw new InputError(`--timeframe: ${exchange.id} has no "${timeframe}" candles (it has ${Object.keys(exchange.timeframes).join(', ')})`);
  }
  let tfMs: number;
  try {
    tfMs = timeframeToMs(timeframe);
  } catch (err) {
    throw new InputError(`--timeframe: ${(err as Error).message}`);
  }
  const limit = parsed.data.limit ?? defaultLimit(exchange);
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => delay(ms, options.signal));
  const retry: RetryPolicy = {
    maxAttempts: parsed.data.maxAttempts ?? 5,
    backoffMs: parsed.data.backoffMs ?? 1000,
    maxDelayMs: parsed.data.maxDelayMs ?? 60_000,
  };
  const key: BarKey = { exchange: exchange.id, symbol, timeframe };
  const ccxt = await loadCcxt();

  const stored = await store.lastTs(key);
  const resumed = stored !== undefined && stored >= from;
  const start = resumed ? stored + tfMs : from;
  let since = start;
  let rows = 0;
  let pages = 0;
  let retries = 0;
  let first: number | null = null;
  let last: number | null = null;
  let droppedOpenCandle = false;
  const t0 = now();
  const progress = (extra: Partial<DownloadProgress> = {}): void => {
    if (!options.onProgress) return;
    const done = Math.min(since, to) - start;
    const span = to - start;
    const elapsedMs = now() - t0;
    // The span ends at `to` or at the present, whichever comes first: nothing is fetched beyond now.
    const remaining = Math.max(0, Math.min(to, now()) - since);
    options.onProgress({
      key, rows, pages, retries, since, from, to,
      fraction: span > 0 ? Math.max(0, Math.min(1, done / span)) : 1,
      elapsedMs,
      etaMs: done > 0 ? (elapsedMs / done) * remaining : null,
      ...extra,
    });
  };

  while (since < to) {
    options.signal?.throwIfAborted();
    const page = await withRetry(
      () => exchange.fetchOHLCV(symbol, timeframe, since, limit, { until: to - 1 }),
      exchange,
      ccxt,
      retry,
      sleep,
      (ms, reason) => {
        retries++;
        progress({ retryInMs: ms, retryReason: reason });
      },
      since,
    );
    const clock = now();
    const kept: number[][] = [];
    let sawOpen = false;
    let prev = since - 1;
    for (const c of page) {
      const ts = Number(c[0]);
      if (!(ts >= since && ts < to) || ts <= prev) continue;
      if (ts + tfMs > clock) {
        // Still forming: storing it would freeze a partial candle that later runs would skip.
        sawOpen = true;
        continue;
      }
      kept.push(c as number[]);
      prev = ts;
    }
    if (sawOpen) droppedOpenCandle = true;
    if (kept.length === 0) break; // no more closed candles in range (or none at all)
    await store.writeBars(key, toColumns(symbol, tfMs, kept));
    pages++;
    rows += kept.length;
    first ??= kept[0]![0]!;
    last = kept[kept.length - 1]![0]!;
    since = last + tfMs;
    progress();
    if (sawOpen) break;
  }
  return { key, rows, pages, retries, start, resumed, first, last, droppedOpenCandle };
}

function defaultLimit(exchange: Exchange): number {
  // ccxt documents per-exchange maxima under features.<type>.fetchOHLCV.limit.
  const features = (exchange as unknown as { features?: Record<string, { fetchOHLCV?: { limit?: number } } | undefined> }).features;
  const type = String((exchange.options as Record<string, unknown> | undefined)?.defaultType ?? 'spot');
  const limit = features?.[type]?.fetchOHLCV?.limit;
  return typeof limit === 'number' && limit > 0 ? limit : 500;
}

function toColumns(symbol: string, tfMs: number, rows: readonly number[][]): BarColumns {
  const n = rows.length;
  const cols = barColumns(symbol, tfMs, allocBarArrays(n, false));
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    cols.ts[i] = r[0]!;
    cols.open[i] = r[1]!;
    cols.high[i] = r[2]!;
    cols.low[i] = r[3]!;
    cols.close[i] = r[4]!;
    // Some exchanges send no volume for empty candles; the store accepts finite numbers only.
    cols.volume[i] = r[5] ?? 0;
  }
  return cols;
}

interface RetryPolicy {
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly maxDelayMs: number;
}

async function withRetry<T>(
  fn: () => Promise<T>,
  exchange: Exchange,
  ccxt: Ccxt,
  policy: RetryPolicy,
  sleep: (ms: number) => Promise<void>,
  onRetry: (ms: number, reason: string) => void,
  since: number,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ccxt.BadSymbol) {
        throw new InputError(`--symbol: ${redact(errorMessage(err), exchange)}`);
      }
      // OperationFailed is ccxt's "may succeed if retried" family: NetworkError (rate limits,
      // 5xx, timeouts, dropped connections) plus Binance-style "server busy" codes.
      if (!(err instanceof ccxt.OperationFailed)) throw new Error(redact(errorMessage(err), exchange));
      if (attempt >= policy.maxAttempts) {
        throw new Error(
          `${exchange.id}: giving up after ${attempt} attempts at ${new Date(since).toISOString()} (${err.constructor.name}: ${redact(errorMessage(err), exchange)}); ` +
            'what was fetched before is stored: run the same command again to resume',
        );
      }
      const backoff = policy.backoffMs * 2 ** (attempt - 1);
      const wait = Math.min(policy.maxDelayMs, Math.max(backoff, err instanceof ccxt.DDoSProtection ? retryAfterMs(exchange) : 0));
      onRetry(wait, err.constructor.name);
      await sleep(wait);
    }
  }
}

/** Retry-After of the response that just failed (ccxt stores its headers before raising). */
function retryAfterMs(exchange: Exchange): number {
  const headers = exchange.last_response_headers as Record<string, string> | undefined;
  const raw = headers?.['Retry-After'] ?? headers?.['retry-after'];
  const secs = Number(raw);
  return raw !== undefined && Number.isFinite(secs) && secs >= 0 ? secs * 1000 : 0;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const SECRET_FIELDS = ['apiKey', 'secret', 'password', 'uid', 'privateKey', 'token', 'walletAddress'] as const;

/** ccxt puts URLs and response bodies into messages; make sure no credential rides along. */
export function redact(message: string, exchange: Exchange): string {
  let out = message;
  for (const f of SECRET_FIELDS) {
    const v = (exchange as unknown as Record<string, unknown>)[f];
    if (typeof v === 'string' && v.length >= 4) out = out.split(v).join('***');
  }
  return out;
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Points every REST (and WebSocket) endpoint of a ccxt exchange at another base URL, e.g. a
 * loopback emulator: `https://api.binance.com/api/v3` → `http://127.0.0.1:PORT/api/v3`.
 */
export function overrideApiUrls(exchange: Exchange, baseUrl: string): void {
  const base = baseUrl.replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+$/.test(base)) throw new InputError(`API override "${baseUrl}" must look like http://127.0.0.1:PORT`);
  const wsBase = base.replace(/^http/, 'ws');
  const rewrite = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(/^https:\/\/[^/]+/, base).replace(/^wss:\/\/[^/]+/, wsBase);
    if (Array.isArray(v)) return v.map(rewrite);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewrite(x)]));
    return v;
  };
  const urls = exchange.urls as Record<string, unknown>;
  urls.api = rewrite(urls.api);
}

/**
 * The environment variable tests (and nothing else) use to point ccxt at a loopback emulator.
 * Not a CLI flag on purpose: a user should never send real requests to a URL typed by mistake.
 */
export const API_OVERRIDE_ENV = 'CS_EXCHANGE_API_OVERRIDE';

export interface ExchangeSetup {
  /** ccxt market type to load and trade (default spot). */
  readonly marketType?: string;
  /** Base URL replacing every API host (see API_OVERRIDE_ENV). */
  readonly apiOverride?: string;
}

/** A ccxt exchange by id, with the rate limiter on and only the markets of one type loaded. */
export async function createExchange(id: string, setup: ExchangeSetup = {}): Promise<Exchange> {
  const ccxt = await loadCcxt();
  const ctor = (ccxt as unknown as Record<string, unknown>)[id];
  if (!ccxt.exchanges.includes(id) || typeof ctor !== 'function') {
    throw new InputError(`--exchange: "${id}" is not a ccxt exchange id (e.g. binance, coinbase, kraken, bybit, okx)`);
  }
  const type = setup.marketType ?? 'spot';
  const exchange = new (ctor as new (cfg: Record<string, unknown>) => Exchange)({
    enableRateLimit: true,
    // Loading every market type costs a request per type (and Binance's would need fapi/dapi).
    options: { defaultType: type, fetchMarkets: { types: [type] } },
  });
  if (setup.apiOverride) overrideApiUrls(exchange, setup.apiOverride);
  return exchange;
}
