/**
 * Agent strategies' cost per bar: persona:aggressive and a 3-agent debate (1 round) deciding on
 * every bar, journaled, against sma-cross on the same 2,000 hourly bars in the same process.
 * `npx tsx test/bench/agents.ts`
 */
import { generateBars } from '../../datasets/synth.ts';
import { parseRunConfig } from '../../lab/evaluate.ts';
import { runLoaded } from '../../lab/backtest.ts';
import { marketFromColumns } from '../../lab/market-data.ts';
import { loadStrategy } from '../../lab/strategy-loader.ts';
import { best, emit } from './support.ts';

const N = 2000;
const bars = generateBars({ symbol: 'BTC/USDT', timeframeMs: 3_600_000, from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 0, 1) + N * 3_600_000, seed: 1, model: { kind: 'gbm', drift: 0.1, vol: 0.7 } });
const market = marketFromColumns([bars], 'synthetic');

async function barsPerSecond(strategy: string, params: Record<string, unknown>, runs: number): Promise<number> {
  const loaded = await loadStrategy(strategy);
  const config = parseRunConfig({ strategy, symbols: ['BTC/USDT'], timeframe: '1h', params });
  const s = best(runs, () => void runLoaded(loaded, { ...config, params }, market.series, market.datasets), 1);
  return N / s;
}

const baseline = await barsPerSecond('sma-cross', {}, 5);
for (const [name, strategy, params] of [
  ['persona-every-bar', 'persona:aggressive', { decideEvery: 1 }],
  ['debate-every-bar', 'debate', { decideEvery: 1, rounds: 1 }],
] as const) {
  const v = await barsPerSecond(strategy, params, 3);
  emit({ bench: `agents.${name}`, value: Math.round(v), unit: 'bars/s', baseline: Math.round(baseline), baselineName: 'sma-cross', ratio: +(v / baseline).toFixed(4) });
}
