import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BarColumns } from '../../engine/types.ts';
import { msToTimeframe } from '../../engine/timeframe.ts';
import { lowerBound } from '../../datasets/columns.ts';

/**
 * A loopback HTTP server speaking Binance's spot REST wire format, for running the real ccxt
 * client in tests without the internet. Serves
 *   GET /api/v3/ping, /api/v3/time, /api/v3/exchangeInfo, /api/v3/klines
 * from BarColumns given to it, and can inject faults (429 with Retry-After, 418, 5xx, a dropped
 * connection) into the next matching requests. Every request is logged.
 *
 * Point ccxt at it with `overrideApiUrls(exchange, emulator.url)` (datasets/download.ts) or the
 * CS_EXCHANGE_API_OVERRIDE environment variable for the CLI.
 */

export const SHARED_DATASETS = fileURLToPath(new URL('../../../shared/datasets/', import.meta.url));
export const EXCHANGE_INFO_FILE = `${SHARED_DATASETS}binance-2020/binance_btc_usdt_exchange_info.json`;

/** Binance kline intervals (the API rejects anything else). */
const INTERVALS = new Set(['1s', '1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '8h', '12h', '1d', '3d', '1w']);
const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 500;

export type Fault =
  | { readonly kind: 'rate-limit'; readonly retryAfterSec?: number } // HTTP 429
  | { readonly kind: 'ip-ban'; readonly retryAfterSec?: number } // HTTP 418
  /** 5xx, 503 by default, with the plain-text body Binance's gateway sends unless `body` is given. */
  | { readonly kind: 'server-error'; readonly status?: number; readonly body?: unknown }
  | { readonly kind: 'drop' }; // the socket is destroyed without an answer

export interface FaultRule {
  readonly fault: Fault;
  /** Only requests to this path (e.g. '/api/v3/klines'); any path when absent. */
  readonly path?: string;
  /** How many matching requests to fail (default 1). */
  readonly times?: number;
  /** Let this many matching requests through before failing (default 0). */
  readonly after?: number;
}

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly status: number | 'dropped';
  /** Number of klines returned, for /api/v3/klines. */
  readonly rows?: number;
}

export interface EmulatorOptions {
  /** Candle series to serve; the symbol may be 'BTC/USDT' or 'BTCUSDT'. */
  readonly series?: readonly BarColumns[];
  /** exchangeInfo JSON; default the recorded BTCUSDT one from shared/datasets. */
  readonly exchangeInfo?: unknown;
  /** Server clock (default the wall clock): /api/v3/time, and klines opening after it are hidden. */
  readonly now?: () => number;
}

interface Series {
  readonly cols: BarColumns;
  readonly quoteVolume: Float64Array;
}

export class BinanceEmulator {
  readonly requests: LoggedRequest[] = [];
  private readonly series = new Map<string, Series>();
  private readonly rules: { rule: FaultRule; seen: number; fired: number }[] = [];
  private readonly exchangeInfo: { symbols: Record<string, unknown>[] } & Record<string, unknown>;
  private readonly now: () => number;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    opts: EmulatorOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.exchangeInfo = structuredClone((opts.exchangeInfo ?? JSON.parse(readFileSync(EXCHANGE_INFO_FILE, 'utf8'))) as typeof this.exchangeInfo);
    for (const s of opts.series ?? []) this.addSeries(s);
  }

  static async start(opts: EmulatorOptions = {}): Promise<BinanceEmulator> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const emu = new BinanceEmulator(server, `http://127.0.0.1:${port}`, opts);
    server.on('request', (req, res) => emu.handle(req, res));
    return emu;
  }

  /** Serve (or replace) a series; symbols missing from exchangeInfo get an entry cloned from the first. */
  addSeries(cols: BarColumns): void {
    const id = marketId(cols.symbol);
    const interval = msToTimeframe(cols.timeframeMs);
    if (!INTERVALS.has(interval)) throw new Error(`Binance has no ${interval} klines`);
    const quoteVolume = new Float64Array(cols.length);
    for (let i = 0; i < cols.length; i++) quoteVolume[i] = (cols.volume[i]! * (cols.open[i]! + cols.close[i]!)) / 2;
    this.series.set(`${id}:${interval}`, { cols, quoteVolume });
    if (!this.exchangeInfo.symbols.some((s) => s.symbol === id)) {
      const [base = id, quote = 'USDT'] = cols.symbol.includes('/') ? cols.symbol.split('/') : [id.replace(/USDT$/, ''), 'USDT'];
      this.exchangeInfo.symbols.push({ ...structuredClone(this.exchangeInfo.symbols[0]!), symbol: id, baseAsset: base, quoteAsset: quote });
    }
  }

  /** Fail the next matching request(s) with a fault. */
  inject(rule: FaultRule): void {
    this.rules.push({ rule, seen: 0, fired: 0 });
  }

  /** Drop every injected fault, fired or not (between tests sharing one emulator). */
  clearFaults(): void {
    this.rules.length = 0;
  }

  /** Requests to /api/v3/klines only, in order. */
  klineRequests(): LoggedRequest[] {
    return this.requests.filter((r) => r.path === '/api/v3/klines');
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', this.url);
    const query = Object.fromEntries(u.searchParams);
    const log = (status: LoggedRequest['status'], rows?: number): void => {
      this.requests.push({ method: req.method ?? 'GET', path: u.pathname, query, status, ...(rows === undefined ? {} : { rows }) });
    };
    const fault = this.takeFault(u.pathname);
    if (fault) return this.fail(fault, res, log);
    if (req.method !== 'GET') return this.json(res, 405, { code: -1000, msg: 'Method not allowed.' }, log);
    switch (u.pathname) {
      case '/api/v3/ping':
        return this.json(res, 200, {}, log);
      case '/api/v3/time':
        return this.json(res, 200, { serverTime: this.now() }, log);
      case '/api/v3/exchangeInfo':
        return this.json(res, 200, { ...this.exchangeInfo, serverTime: this.now() }, log);
      case '/api/v3/klines':
        return this.klines(u.searchParams, res, log);
      default:
        return this.json(res, 404, { code: -1000, msg: `No such endpoint ${u.pathname}` }, log);
    }
  }

  private klines(q: URLSearchParams, res: ServerResponse, log: (s: number, rows?: number) => void): void {
    const symbol = q.get('symbol') ?? '';
    const interval = q.get('interval') ?? '';
    if (!symbol) return this.json(res, 400, { code: -1102, msg: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed." }, log);
    if (!INTERVALS.has(interval)) return this.json(res, 400, { code: -1120, msg: 'Invalid interval.' }, log);
    const known = this.exchangeInfo.symbols.some((s) => s.symbol === symbol);
    if (!known) return this.json(res, 400, { code: -1121, msg: 'Invalid symbol.' }, log);
    const limitRaw = q.get('limit');
    const limit = limitRaw === null ? DEFAULT_LIMIT : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1) return this.json(res, 400, { code: -1100, msg: "Illegal characters found in parameter 'limit'." }, log);
    const s = this.series.get(`${symbol}:${interval}`);
    if (!s) return this.json(res, 200, [], log, 0);
    const { cols } = s;
    const tf = cols.timeframeMs;
    const now = this.now();
    const n = Math.min(MAX_LIMIT, limit);
    // Nothing that has not opened yet exists on the server.
    const visibleEnd = lowerBound(cols.ts, now + 1);
    const startTime = q.get('startTime');
    const endTime = q.get('endTime');
    const endIdx = endTime === null ? visibleEnd : Math.min(visibleEnd, lowerBound(cols.ts, Number(endTime) + 1));
    let lo: number;
    let hi: number;
    if (startTime !== null) {
      lo = lowerBound(cols.ts, Number(startTime));
      hi = Math.min(endIdx, lo + n);
    } else {
      hi = endIdx;
      lo = Math.max(0, hi - n);
    }
    const out: unknown[] = [];
    for (let i = lo; i < hi; i++) {
      const v = cols.volume[i]!;
      out.push([
        cols.ts[i]!,
        fmt(cols.open[i]!),
        fmt(cols.high[i]!),
        fmt(cols.low[i]!),
        fmt(cols.close[i]!),
        fmt(v),
        cols.ts[i]! + tf - 1,
        fmt(s.quoteVolume[i]!),
        Math.max(1, Math.round(v * 10)),
        fmt(v / 2),
        fmt(s.quoteVolume[i]! / 2),
        '0',
      ]);
    }
    this.json(res, 200, out, log, out.length);
  }

  private takeFault(path: string): Fault | undefined {
    // Every rule counts every request it matches, so `after` means "after N matching requests"
    // whatever other rules fired in between.
    let chosen: (typeof this.rules)[number] | undefined;
    for (const r of this.rules) {
      if (r.rule.path !== undefined && r.rule.path !== path) continue;
      r.seen++;
      if (!chosen && r.seen > (r.rule.after ?? 0) && r.fired < (r.rule.times ?? 1)) chosen = r;
    }
    if (!chosen) return undefined;
    chosen.fired++;
    return chosen.rule.fault;
  }

  private fail(f: Fault, res: ServerResponse, log: (s: LoggedRequest['status']) => void): void {
    switch (f.kind) {
      case 'rate-limit':
        res.setHeader('Retry-After', String(f.retryAfterSec ?? 1));
        return this.json(res, 429, { code: -1003, msg: 'Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute. Please use the websocket for live updates to avoid polling the API.' }, log);
      case 'ip-ban': {
        const secs = f.retryAfterSec ?? 2;
        res.setHeader('Retry-After', String(secs));
        return this.json(res, 418, { code: -1003, msg: `Way too much request weight used; IP banned until ${this.now() + secs * 1000}. Please use WebSocket Streams for live updates to avoid bans.` }, log);
      }
      case 'server-error': {
        const status = f.status ?? 503;
        if (f.body !== undefined) return this.json(res, status, f.body, log);
        res.writeHead(status, { 'Content-Type': 'text/plain' });
        res.end(status === 503 ? 'Service Unavailable.' : 'Bad Gateway');
        log(status);
        return;
      }
      case 'drop':
        log('dropped');
        res.socket?.destroy();
        return;
    }
  }

  private json(res: ServerResponse, status: number, body: unknown, log: (s: number, rows?: number) => void, rows?: number): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', 'X-MBX-USED-WEIGHT-1M': String(this.requests.length + 1) });
    res.end(text);
    log(status, rows);
  }
}

/** 'BTC/USDT' → 'BTCUSDT' (Binance market ids have no separator). */
export function marketId(symbol: string): string {
  return symbol.replace('/', '').toUpperCase();
}

/**
 * Binance prints 8 decimals; keep that look where it loses nothing, else the shortest exact form,
 * so synthetic prices with more digits still arrive bit-identical.
 */
function fmt(x: number): string {
  const fixed = x.toFixed(8);
  return Number(fixed) === x ? fixed : String(x);
}

/** Read a `timestamp,open,high,low,close,volume` CSV (timestamps `YYYY-MM-DD HH:MM:SS`, UTC). */
export function readOhlcvCsv(file: string, symbol: string, timeframeMs: number): BarColumns {
  const lines = readFileSync(file, 'utf8').trim().split('\n').slice(1);
  const n = lines.length;
  const cols = {
    symbol, timeframeMs, length: n,
    ts: new Float64Array(n), open: new Float64Array(n), high: new Float64Array(n),
    low: new Float64Array(n), close: new Float64Array(n), volume: new Float64Array(n),
  };
  lines.forEach((line, i) => {
    const [t, o, h, l, c, v] = line.split(',');
    cols.ts[i] = Date.parse(`${t!.replace(' ', 'T')}Z`);
    cols.open[i] = Number(o);
    cols.high[i] = Number(h);
    cols.low[i] = Number(l);
    cols.close[i] = Number(c);
    cols.volume[i] = Number(v);
  });
  return cols;
}
