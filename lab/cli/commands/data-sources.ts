import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { InputError } from '../../../engine/errors.ts';
import { timeframeToMs } from '../../../engine/timeframe.ts';
import { generateBars, type SynthModel } from '../../../datasets/synth.ts';
import { API_OVERRIDE_ENV, createExchange, downloadOHLCV, redact, type DownloadProgress } from '../../../datasets/download.ts';
import { openStore } from '../../../datasets/store.ts';
import { addDbOption, addJsonOption, parseTime, printJson, resolveDbPath, parseOptions, timeframeSchema } from '../options.ts';

/**
 * `cs data synth` and `cs data download`: the two ways data enters the store from a source rather
 * than a file. Registered on the `cs data` group by lab/cli/commands/data.ts.
 */
export function registerDataSources(data: Command): void {
  registerSynth(data);
  registerDownload(data);
}

const timeframe = timeframeSchema;
const num = z.coerce.number().refine(Number.isFinite, 'must be a number');

const SynthOptions = z.object({
  symbol: z.string().trim().min(1),
  timeframe,
  from: z.string(),
  to: z.string(),
  seed: z.coerce.number().int('must be an integer').min(-(2 ** 31)).max(2 ** 31 - 1),
  model: z.enum(['gbm', 'jump', 'regime']),
  exchange: z.string().trim().min(1),
  startPrice: num.refine((x) => x > 0, 'must be > 0'),
  drift: num,
  vol: num.refine((x) => x >= 0, 'must be ≥ 0'),
  subSteps: z.coerce.number().int().min(1).max(1000),
  jumpIntensity: num.refine((x) => x >= 0, 'must be ≥ 0'),
  jumpMean: num,
  jumpStd: num.refine((x) => x >= 0, 'must be ≥ 0'),
  regimeDays: z.string().regex(/^\d+(\.\d+)?,\d+(\.\d+)?$/, 'must be two durations in days, e.g. 30,7'),
  db: z.string().optional(),
  json: z.boolean().optional(),
});

function registerSynth(data: Command): void {
  const cmd = data
    .command('synth')
    .description('generate seeded synthetic bars (GBM, jump diffusion or regime switching) into the store')
    .requiredOption('--symbol <symbol>', 'symbol to file the bars under, e.g. BTC/USDT')
    .option('--timeframe <tf>', 'bar timeframe', '1m')
    .requiredOption('--from <time>', 'first bar (YYYY-MM-DD, ISO 8601 or epoch ms; UTC)')
    .requiredOption('--to <time>', 'end of the range, exclusive')
    .option('--seed <n>', 'random seed (same seed, same bars, bit for bit)', '1')
    .addOption(new Option('--model <model>', 'price model').choices(['gbm', 'jump', 'regime']).default('gbm'))
    .option('--exchange <name>', 'exchange name to file the bars under', 'synthetic')
    .option('--start-price <price>', 'first open', '40000')
    .option('--drift <mu>', 'annual drift μ (E[S_t] = S_0·e^{μt}; 365-day years)', '0')
    .option('--vol <sigma>', 'annual volatility σ', '0.6')
    .option('--sub-steps <n>', 'simulation steps inside each bar (they make high and low)', '4')
    .option('--jump-intensity <lambda>', 'jump model: expected jumps per year', '20')
    .option('--jump-mean <m>', 'jump model: mean log jump size', '-0.02')
    .option('--jump-std <s>', 'jump model: std of the log jump size', '0.05')
    .option('--regime-days <calm,turbulent>', 'regime model: mean stay in the calm and the turbulent regime, in days', '30,7')
    .addHelpText(
      'after',
      '\nRegime model: calm has drift+0.3 and 0.7·vol, turbulent drift−0.6 and 1.8·vol.\n' +
        'Example: cs data synth --symbol BTC/USDT --timeframe 1m --from 2024-01-01 --to 2025-01-01 --seed 7',
    );
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (raw: Record<string, unknown>) => {
    const o = parseOptions(SynthOptions, raw);
    const from = parseTime(o.from, '--from');
    const to = parseTime(o.to, '--to');
    if (to <= from) throw new InputError(`--to (${o.to}) must be after --from (${o.from})`);
    const tfMs = timeframeToMs(o.timeframe);
    const model = buildModel(o, tfMs);
    // Generate before opening the store, so bad input never creates or touches the file.
    const bars = generateBars({ symbol: o.symbol, timeframeMs: tfMs, from, to, seed: o.seed, startPrice: o.startPrice, model, subSteps: o.subSteps });
    const key = { exchange: o.exchange, symbol: o.symbol, timeframe: o.timeframe };
    const dbPath = resolveDbPath(o.db);
    const store = await openStore(dbPath);
    let version: string;
    try {
      version = (await store.writeBars(key, bars)).version;
    } finally {
      await store.close();
    }
    const summary = {
      ...key,
      model,
      seed: o.seed,
      rows: bars.length,
      first: new Date(bars.ts[0]!).toISOString(),
      last: new Date(bars.ts[bars.length - 1]!).toISOString(),
      db: dbPath,
      version,
    };
    if (o.json) printJson(summary);
    else process.stdout.write(`wrote ${bars.length} ${o.model} bars (seed ${o.seed}) for ${o.exchange} ${o.symbol} ${o.timeframe}, ${summary.first} → ${summary.last}, into ${dbPath}\n`);
  });
}

function buildModel(o: z.infer<typeof SynthOptions>, tfMs: number): SynthModel {
  if (o.model === 'gbm') return { kind: 'gbm', drift: o.drift, vol: o.vol };
  if (o.model === 'jump') return { kind: 'jump', drift: o.drift, vol: o.vol, jumpIntensity: o.jumpIntensity, jumpMean: o.jumpMean, jumpStd: o.jumpStd };
  const [calmDays, wildDays] = o.regimeDays.split(',').map(Number) as [number, number];
  // A mean stay of D days is a per-bar switch probability of (bar length)/D: stay = 1/(1 − p).
  const leave = (days: number): number => {
    const q = tfMs / (days * 86_400_000);
    if (!(q > 0 && q < 1)) throw new InputError(`--regime-days: each stay must be longer than one ${o.timeframe} bar`);
    return q;
  };
  const pCalm = leave(calmDays);
  const pWild = leave(wildDays);
  return {
    kind: 'regime',
    regimes: [
      { drift: o.drift + 0.3, vol: 0.7 * o.vol },
      { drift: o.drift - 0.6, vol: 1.8 * o.vol },
    ],
    transition: [
      [1 - pCalm, pCalm],
      [pWild, 1 - pWild],
    ],
  };
}

const DownloadOptions = z.object({
  exchange: z.string().trim().min(1),
  symbol: z.string().trim().min(1),
  timeframe,
  from: z.string(),
  to: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
  marketType: z.enum(['spot', 'linear', 'inverse', 'swap', 'future', 'margin']),
  maxAttempts: z.coerce.number().int().min(1).max(100),
  db: z.string().optional(),
  json: z.boolean().optional(),
});

function registerDownload(data: Command): void {
  const cmd = data
    .command('download')
    .description('download OHLCV history through ccxt into the store (paginated, rate-limited, resumable)')
    .option('--exchange <id>', 'ccxt exchange id', 'binance')
    .requiredOption('--symbol <symbol>', 'ccxt symbol, e.g. BTC/USDT')
    .option('--timeframe <tf>', 'candle timeframe', '1h')
    .requiredOption('--from <time>', 'first candle (YYYY-MM-DD, ISO 8601 or epoch ms; UTC)')
    .option('--to <time>', 'end of the range, exclusive (default: now)')
    .option('--limit <n>', 'candles per request (default: the exchange maximum)')
    .option('--market-type <type>', 'ccxt market type to load', 'spot')
    .option('--max-attempts <n>', 'attempts per request on rate limits and network errors', '5')
    .addHelpText(
      'after',
      '\nResumes after the newest stored candle of the same exchange/symbol/timeframe; the still-open\n' +
        'candle is never stored. Progress goes to stderr.\n' +
        'Example: cs data download --exchange binance --symbol BTC/USDT --timeframe 1h --from 2024-01-01 --to 2024-02-01',
    );
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (raw: Record<string, unknown>) => {
    const o = parseOptions(DownloadOptions, raw);
    const from = parseTime(o.from, '--from');
    const to = o.to === undefined ? Date.now() : parseTime(o.to, '--to');
    if (to <= from) throw new InputError(`--to must be after --from`);
    const override = process.env[API_OVERRIDE_ENV];
    const exchange = await createExchange(o.exchange, { marketType: o.marketType, ...(override ? { apiOverride: override } : {}) });
    try {
      // Check symbol and timeframe against the exchange before the store file is opened or created.
      if (exchange.timeframes && !(o.timeframe in exchange.timeframes)) {
        throw new InputError(`--timeframe: ${o.exchange} has no "${o.timeframe}" candles (it has ${Object.keys(exchange.timeframes).join(', ')})`);
      }
      try {
        await exchange.loadMarkets();
      } catch (err) {
        throw new Error(`${o.exchange}: cannot load markets: ${redact(err instanceof Error ? err.message : String(err), exchange)}`);
      }
      if (!exchange.markets || !(o.symbol in exchange.markets)) {
        throw new InputError(`--symbol: ${o.exchange} has no ${o.marketType} market "${o.symbol}" (ccxt symbols look like BTC/USDT)`);
      }
      const dbPath = resolveDbPath(o.db);
      const store = await openStore(dbPath);
      const reporter = o.json ? undefined : progressReporter();
      try {
        const result = await downloadOHLCV(exchange, store, {
          symbol: o.symbol,
          timeframe: o.timeframe,
          from,
          to,
          maxAttempts: o.maxAttempts,
          ...(o.limit ? { limit: o.limit } : {}),
          ...(reporter ? { onProgress: reporter.update } : {}),
        });
        reporter?.stop();
        const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
        const summary = { ...result, start: iso(result.start), first: iso(result.first), last: iso(result.last), db: dbPath };
        if (o.json) printJson(summary);
        else if (result.rows === 0) process.stdout.write(`nothing new for ${o.exchange} ${o.symbol} ${o.timeframe} from ${summary.start} (already stored or no closed candles)\n`);
        else process.stdout.write(`stored ${result.rows} candles in ${result.pages} pages for ${o.exchange} ${o.symbol} ${o.timeframe}, ${summary.first} → ${summary.last}${result.resumed ? ' (resumed)' : ''}, into ${dbPath}\n`);
      } finally {
        reporter?.stop();
        await store.close();
      }
    } finally {
      await exchange.close?.().catch(() => undefined);
    }
  });
}

/** A bar on a terminal; one line per page elsewhere (logs, CI, tests read those). */
function progressReporter(): { update: (p: DownloadProgress) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: (p) => process.stderr.write(progressLine(p) + '\n'), stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: '{name} [{bar}] {percentage}% | {rows} rows, {pages} pages | ETA {etaText}{note}', hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  return {
    update: (p) => {
      const payload = {
        name: `${p.key.exchange} ${p.key.symbol} ${p.key.timeframe}`,
        rows: p.rows,
        pages: p.pages,
        etaText: p.etaMs === null ? '?' : `${Math.ceil(p.etaMs / 1000)}s`,
        note: p.retryInMs !== undefined ? ` | ${p.retryReason}, retry in ${(p.retryInMs / 1000).toFixed(1)}s` : '',
      };
      const value = Math.round(p.fraction * 1000);
      if (!started) {
        bar.start(1000, value, payload);
        started = true;
      } else bar.update(value, payload);
    },
    stop: () => {
      if (started && !stopped) bar.stop();
      stopped = true;
    },
  };
}

function progressLine(p: DownloadProgress): string {
  const name = `${p.key.exchange} ${p.key.symbol} ${p.key.timeframe}`;
  if (p.retryInMs !== undefined) return `${name}: ${p.retryReason}, retrying in ${(p.retryInMs / 1000).toFixed(1)}s`;
  const eta = p.etaMs === null ? '?' : `${Math.ceil(p.etaMs / 1000)}s`;
  return `${name}: ${p.rows} rows, ${p.pages} pages, ${(p.fraction * 100).toFixed(1)}%, up to ${new Date(p.since).toISOString()}, ETA ${eta}`;
}

