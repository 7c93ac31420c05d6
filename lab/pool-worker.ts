import { getHeapStatistics } from 'node:v8';
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { InputError } from '../engine/errors.ts';
import { loadStrategy } from './strategy-loader.ts';
import { runParams, summarise, type RunSummary } from './evaluate.ts';
import type { Market } from './market-data.ts';
import type { PoolTask, PoolTaskResult, PoolWindow, PoolWorkerData } from './pool.ts';

/**
 * One worker thread of the backtest pool. The market arrives once, in workerData, as views on the
 * main thread's SharedArrayBuffers (structured clone shares them, it does not copy) with the
 * agents' sentiment rows (cloned once per worker, the feed built on the first run), and the
 * strategy is loaded once; each task then carries only a parameter set and a seed.
 */
const data = workerData as PoolWorkerData;
const loaded = await loadStrategy(data.strategy);
if (loaded.codeHash !== data.codeHash) {
  throw new Error(`strategy ${data.strategy} changed on disk since the sweep started (code hash ${loaded.codeHash.slice(0, 12)} ≠ ${data.codeHash.slice(0, 12)})`);
}
let peakHeap = 0;

export default function task(t: PoolTask): PoolTaskResult | ReturnType<typeof move> {
  if (t.kind === 'probe') {
    const col = data.market.series[t.series]![t.field];
    const heap = getHeapStatistics().used_heap_size;
    peakHeap = Math.max(peakHeap, heap);
    let sum = 0;
    for (let i = 0; i < col.length; i++) sum += col[i]!;
    return { kind: 'probe', value: col[t.index]!, sum, shared: col.buffer instanceof SharedArrayBuffer, heapUsed: heap, peakHeap };
  }
  try {
    const market = t.window ? windowOf(t.window) : data.market;
    const summary: RunSummary = summarise(runParams(loaded, data.config, market, t.params, t.seed));
    peakHeap = Math.max(peakHeap, getHeapStatistics().used_heap_size);
    // The returns' buffer is handed over to the main thread, not copied.
    const result: PoolTaskResult = { kind: 'run', summary };
    return move({ [transferableSymbol]: [summary.returns.buffer], [valueSymbol]: result } as unknown as Parameters<typeof move>[0]);
  } catch (err) {
    return { kind: 'error', input: err instanceof InputError, message: err instanceof Error ? err.message : String(err) };
  }
}

/** Zero-copy views of the window's rows of the shared columns. */
function windowOf(w: PoolWindow): Market {
  const series = data.market.series.map((c, j) => {
    const [i0, i1] = w.rows[j]!;
    return {
      symbol: c.symbol,
      timeframeMs: c.timeframeMs,
      length: i1 - i0,
      ts: c.ts.subarray(i0, i1),
      open: c.open.subarray(i0, i1),
      high: c.high.subarray(i0, i1),
      low: c.low.subarray(i0, i1),
      close: c.close.subarray(i0, i1),
      volume: c.volume.subarray(i0, i1),
    };
  });
  // The window reads the same sentiment rows: the feed is fenced at each bar, so a window sees what a run over its bars would.
  return { series, datasets: w.datasets, datasetHash: w.datasetHash, ...(data.market.sentiment ? { sentiment: data.market.sentiment } : {}) };
}
