import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/** Real Binance BTCUSDT 1h candles from the shared datasets (see ../shared/datasets/README.md). */
export const BTC_1H = resolve(fileURLToPath(import.meta.url), '../../../../shared/datasets/binance-spot/BTCUSDT_1h.csv');

export interface Bars {
  readonly ts: Float64Array;
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly volume: Float64Array;
}

let cached: Bars | undefined;

/** Reads the CSV (known, fixed format: `timestamp,open,high,low,close,volume`, UTC). */
export function loadBtc1h(): Bars {
  if (cached) return cached;
  if (!existsSync(BTC_1H)) {
    throw new Error(`test data missing: ${BTC_1H} (the shared real-data folder ../shared/datasets/ must be present)`);
  }
  const lines = readFileSync(BTC_1H, 'utf8').trim().split('\n');
  if (lines[0]!.trim() !== 'timestamp,open,high,low,close,volume') throw new Error(`${BTC_1H}: unexpected header ${lines[0]}`);
  const n = lines.length - 1;
  const bars: Bars = {
    ts: new Float64Array(n), open: new Float64Array(n), high: new Float64Array(n),
    low: new Float64Array(n), close: new Float64Array(n), volume: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const f = lines[i + 1]!.split(',');
    bars.ts[i] = Date.parse(`${f[0]!.replace(' ', 'T')}Z`);
    bars.open[i] = Number(f[1]);
    bars.high[i] = Number(f[2]);
    bars.low[i] = Number(f[3]);
    bars.close[i] = Number(f[4]);
    bars.volume[i] = Number(f[5]);
    if (!Number.isFinite(bars.ts[i]! + bars.close[i]! + bars.volume[i]!)) throw new Error(`${BTC_1H}:${i + 2}: unreadable row`);
  }
  cached = bars;
  return bars;
}
