import { releaseTs, type BarColumns, type MarketEvent } from './types.ts';

/**
 * Event ordering: by release time (a bar's close, an event's time), then source priority, then
 * sequence. Never by arrival order, so a replay is the same however its inputs were read.
 */
export function compareEvents(a: MarketEvent, b: MarketEvent): number {
  return releaseTs(a) - releaseTs(b) || a.source - b.source || a.seq - b.seq;
}

/** k-way merge of individually ordered streams into one ordered stream (a binary heap of heads). */
export async function* mergeStreams(streams: readonly (AsyncIterable<MarketEvent> | Iterable<MarketEvent>)[]): AsyncGenerator<MarketEvent> {
  type Head = { e: MarketEvent; it: AsyncIterator<MarketEvent> | Iterator<MarketEvent> };
  const heap: Head[] = [];
  const less = (x: Head, y: Head): boolean => compareEvents(x.e, y.e) < 0;
  const push = (h: Head): void => {
    heap.push(h);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const pop = (): Head => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  for (const s of streams) {
    const it = Symbol.asyncIterator in s ? (s as AsyncIterable<MarketEvent>)[Symbol.asyncIterator]() : (s as Iterable<MarketEvent>)[Symbol.iterator]();
    const r = await it.next();
    if (!r.done) push({ e: r.value, it });
  }
  let prev: MarketEvent | null = null;
  while (heap.length > 0) {
    const h = pop();
    if (prev && compareEvents(prev, h.e) > 0) throw new RangeError(`stream out of order at ts ${h.e.ts} (${h.e.kind} ${h.e.symbol})`);
    prev = h.e;
    yield h.e;
    const r = await h.it.next();
    if (!r.done) push({ e: r.value, it: h.it });
  }
}

/** Bar columns as general events (the event path's view of data already in memory). */
export function* barEvents(cols: BarColumns, source = 0): Generator<MarketEvent> {
  for (let i = 0; i < cols.length; i++) {
    yield {
      kind: 'bar',
      ts: cols.ts[i]!,
      seq: i,
      source,
      symbol: cols.symbol,
      timeframeMs: cols.timeframeMs,
      open: cols.open[i]!,
      high: cols.high[i]!,
      low: cols.low[i]!,
      close: cols.close[i]!,
      volume: cols.volume[i]!,
    };
  }
}

/**
 * The order in which the columnar path visits (series, row) pairs across several symbols: the same
 * (close time, source = series index, seq = row) order as `compareEvents`, precomputed once.
 */
export function columnarOrder(series: readonly BarColumns[]): { sym: Int32Array; row: Int32Array } {
  let total = 0;
  for (const s of series) total += s.length;
  const sym = new Int32Array(total);
  const row = new Int32Array(total);
  if (series.length === 1) {
    for (let i = 0; i < total; i++) row[i] = i;
    return { sym, row };
  }
  const pos = new Int32Array(series.length);
  for (let k = 0; k < total; k++) {
    let best = -1;
    let bestT = Infinity;
    for (let s = 0; s < series.length; s++) {
      const p = pos[s]!;
      const c = series[s]!;
      if (p >= c.length) continue;
      const t = c.ts[p]! + c.timeframeMs;
      if (t < bestT) (bestT = t), (best = s);
    }
    sym[k] = best;
    row[k] = pos[best]!++;
  }
  return { sym, row };
}
