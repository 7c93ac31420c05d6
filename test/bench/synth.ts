/**
 * Synthetic data and download throughput (issue 2, data sources).
 *
 *   npx tsx test/bench/synth.ts
 *
 * 1. One year of 1-minute bars (525,600) per model: ms per year, against a plain GBM loop with the
 *    same sub-steps drawing Rng.normal() (Box–Muller) in the same process. Target: well under 1 s.
 * 2. `downloadOHLCV` of the real BTCUSDT 1h history (34k candles, 35 pages of 1,000) from the
 *    loopback Binance emulator through the real ccxt client into a DuckDB file: rows/s, against
 *    plain fetch() of the same pages without ccxt or storage.
 *
 * One JSON line per figure; best of ROUNDS runs after a warm-up (the machine is shared).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateBars, type SynthModel } from '../../datasets/synth.ts';
import { createExchange, downloadOHLCV } from '../../datasets/download.ts';
import { openStore } from '../../datasets/store.ts';
import { createRng } from '../../engine/rng.ts';
import { BinanceEmulator, readOhlcvCsv, SHARED_DATASETS } from '../support/binance-emulator.ts';

const ROUNDS = 3;
const YEAR_1M = 525_600;
const FROM = Date.UTC(2023, 0, 1);
const TO = FROM + YEAR_1M * 60_000;
const SUB_STEPS = 4;

function best(fn: () => void): number {
  fn();
  let b = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    fn();
    b = Math.min(b, performance.now() - t);
  }
  return b;
}

/** The obvious implementation: Box–Muller normals from Rng.normal(), same sub-steps, no volume. */
function naiveGbm(): Float64Array {
  const rng = createRng(7);
  const dt = 60_000 / SUB_STEPS / (365 * 86_400_000);
  const mu = (0.1 - 0.18) * dt;
  const sd = 0.6 * Math.sqrt(dt);
  const close = new Float64Array(YEAR_1M);
  const high = new Float64Array(YEAR_1M);
  const low = new Float64Array(YEAR_1M);
  let x = Math.log(40_000);
  for (let i = 0; i < YEAR_1M; i++) {
    let hi = x;
    let lo = x;
    for (let k = 0; k < SUB_STEPS; k++) {
      x += mu + sd * rng.normal();
      hi = Math.max(hi, x);
      lo = Math.min(lo, x);
    }
    close[i] = Math.exp(x);
    high[i] = Math.exp(hi);
    low[i] = Math.exp(lo);
  }
  return close;
}

const models: SynthModel[] = [
  { kind: 'gbm', drift: 0.1, vol: 0.6 },
  { kind: 'jump', drift: 0.1, vol: 0.6, jumpIntensity: 20, jumpMean: -0.02, jumpStd: 0.05 },
  { kind: 'regime', regimes: [{ drift: 0.3, vol: 0.4 }, { drift: -0.6, vol: 1.1 }], transition: [[0.99998, 0.00002], [0.0001, 0.9999]] },
];
const baseline = best(() => void naiveGbm());
for (const model of models) {
  const ms = best(() => void generateBars({ symbol: 'BTC/USDT', timeframeMs: 60_000, from: FROM, to: TO, seed: 7, model, subSteps: SUB_STEPS }));
  console.log(JSON.stringify({ bench: `synth.${model.kind}.1y-1m`, value: Math.round(ms), unit: 'ms', bars: YEAR_1M, baseline: Math.round(baseline), baselineName: 'plain GBM loop with Rng.normal()', ratio: +(baseline / ms).toFixed(2) }));
}

// Download: ccxt + store against plain fetch of the same pages.
const real = readOhlcvCsv(join(SHARED_DATASETS, 'binance-spot/BTCUSDT_1h.csv'), 'BTC/USDT', 3_600_000);
const emu = await BinanceEmulator.start({ series: [real] });
const dir = mkdtempSync(join(tmpdir(), 'cs-bench-dl-'));
try {
  const from = real.ts[0]!;
  const to = real.ts[real.length - 1]! + 3_600_000;
  let t = performance.now();
  let rows = 0;
  for (let since = from; since < to; ) {
    const page = (await (await fetch(`${emu.url}/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=${since}&endTime=${to - 1}&limit=1000`)).json()) as number[][];
    if (page.length === 0) break;
    rows += page.length;
    since = Number(page[page.length - 1]![0]) + 3_600_000;
  }
  const rawMs = performance.now() - t;

  const exchange = await createExchange('binance', { apiOverride: emu.url });
  exchange.rateLimit = 1; // measure our path, not the limiter's 50 ms spacing for api.binance.com
  const store = await openStore(join(dir, 'bench.duckdb'));
  t = performance.now();
  const res = await downloadOHLCV(exchange, store, { symbol: 'BTC/USDT', timeframe: '1h', from, to });
  const ms = performance.now() - t;
  await store.close();
  if (res.rows !== real.length || rows !== real.length) throw new Error(`row count mismatch: ${res.rows} / ${rows} vs ${real.length}`);
  console.log(JSON.stringify({ bench: 'download.binance-emulator.1h', value: Math.round((res.rows / ms) * 1000), unit: 'rows/s', rows: res.rows, pages: res.pages, baseline: Math.round((rows / rawMs) * 1000), baselineName: 'plain fetch, no ccxt, no store', ratio: +(rawMs / ms).toFixed(2) }));
} finally {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
}
