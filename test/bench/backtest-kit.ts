/**
 * Benchmark 4 of issue 2, first half: our engine side by side with `backtest-kit` (npm) on the same
 * data and strategy — SKIPPED, because backtest-kit cannot be installed from the npm registry this
 * project reaches. Run with:
 *
 *   npx tsx test/bench/backtest-kit.ts        (also picked up by `npm run bench`)
 *
 * It prints one JSON line, {"bench":"backtest-kit","skipped":true,"reason":...}, and exits 0: a
 * comparison that cannot be made is not a failure of our engine, and no figure is invented for it.
 *
 * Why it cannot run (checked 2026-11-25 with the ordinary npm client, `npm install --save-dev
 * backtest-kit`, npm 11.19.1, Node 20.20.2):
 *   1. The registry holds a single version, backtest-kit@19.5.0. It declares a peer dependency
 *      `typescript@^5.0.0`; this project uses typescript 7, so npm stops with ERESOLVE.
 *   2. With the peer conflict waved through (`--legacy-peer-deps`, tried only in a scratch copy of
 *      package.json), npm stops with ETARGET: backtest-kit needs di-kit@^1.1.1 but the registry's
 *      newest di-kit is 1.0.18. Its other runtime dependencies are no better off: functools-kit@^5
 *      (newest there 1.0.95), di-scoped@^1.0.21 (newest 1.0.20), get-moment-stamp@^3 (newest
 *      1.1.1), and di-singleton is not in the registry at all (404). The package is a prebuilt
 *      bundle (build/index.mjs) that imports all of these at load time, so it cannot load without
 *      them.
 *   Making it load would mean pinning other majors through `overrides` and writing our own stand-in
 *   for di-singleton: that is no longer the published backtest-kit, so a figure from it would be a
 *   fake comparison. package.json and the lockfile were left unchanged.
 *
 * What a comparison would have to account for, read from its README and types.d.ts (for whoever
 * runs this where the package installs): the strategy returns *signals* (`getSignal` →
 * {position, priceTakeProfit, priceStopLoss, minuteEstimatedTime, cost}); an exit on the reverse
 * cross needs `commitClosePending`, with TP/SL set out of reach. An entry without `priceOpen` is
 * priced at the VWAP of the last 5 one-minute candles (CC_AVG_PRICE_CANDLES_COUNT, `getAveragePrice`)
 * when the signal is made, not at the next bar's open; sizing is
 * a fixed `cost` per signal rather than all-in compounding; P&L is a percentage with default
 * CC_PERCENT_FEE 0.1 and CC_PERCENT_SLIPPAGE 0.1 (setConfig); candles are cached to ./dump/data
 * unless the persistence adapters are replaced. So final equity and trade counts would not match
 * our engine's to the bit even on the same bars; bars/s would be the comparable figure.
 *
 * The engine half of the comparison (SMA-cross 20/50, 0.1 % fee, all-in long/flat, next-open
 * fills, a year of 1-minute GBM bars) is measured in test/bench/engine.ts.
 */

/** Static findings above, restated for the JSON line so a reader of bench output needs no source. */
const REGISTRY_REASON =
  'backtest-kit@19.5.0 (the only version in the npm registry reachable here) cannot be installed: ' +
  'peer typescript@^5 conflicts with typescript 7 (ERESOLVE), and its runtime dependencies are missing ' +
  'from the registry (di-kit@^1.1.1: newest 1.0.18; functools-kit@^5: newest 1.0.95; di-scoped@^1.0.21: ' +
  'newest 1.0.20; get-moment-stamp@^3: newest 1.1.1; di-singleton: 404). Its bundle imports them at load ' +
  'time; shimming them would benchmark something other than the published package.';

const emit = (o: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(o) + '\n');

// A variable specifier keeps tsc from demanding the module's types, which do not exist here.
const specifier = 'backtest-kit';
let loaded: unknown;
let loadError = '';
try {
  loaded = await import(specifier);
} catch (e) {
  loadError = `${(e as { code?: string }).code ?? 'Error'}: ${(e as Error).message.split('\n')[0]}`;
}

if (loaded === undefined) {
  emit({ bench: 'backtest-kit', skipped: true, reason: REGISTRY_REASON, importError: loadError });
} else {
  // The package loads after all (installed by hand, or the registry caught up), but no adapter was
  // ever run against it, so there is nothing honest to time yet.
  emit({
    bench: 'backtest-kit',
    skipped: true,
    reason:
      'backtest-kit is importable here, but this script has no tested adapter for it: it could not be ' +
      'installed when the script was written (see its header for the signal model that one must bridge).',
  });
}
