import { openStore } from '../../datasets/store.ts';
import { generateBars } from '../../datasets/synth.ts';

/** Writes synthetic hourly BTC/USDT bars (gbm, seed 7) from 2024-01-01 up to `to` into the DuckDB file `db`. */
export async function seedBtcHourly(db: string, to: number): Promise<void> {
  const store = await openStore(db);
  try {
    const bars = generateBars({ symbol: 'BTC/USDT', timeframeMs: 3_600_000, from: Date.UTC(2024, 0, 1), to, seed: 7, model: { kind: 'gbm', drift: 0.2, vol: 0.7 } });
    await store.writeBars({ exchange: 'synthetic', symbol: 'BTC/USDT', timeframe: '1h' }, bars);
  } finally {
    await store.close();
  }
}
