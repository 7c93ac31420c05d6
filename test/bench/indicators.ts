/**
 * Indicator throughput (issue 2, performance): values/s for SMA(50) and RSI(14) over 525,600
 * values (one year of 1-minute closes), our batch and incremental kernels against the
 * `technicalindicators` package measured in the same process on the same series:
 * batch vs its `calculate`, incremental vs its streaming `nextValue`.
 *
 *   npx tsx test/bench/indicators.ts [values=525600]
 *
 * One JSON line per figure; ratio = ours / baseline (how many times faster). Each figure is the
 * best of `ROUNDS` timed runs after one warm-up run; the outputs are checked against each other
 * so a broken kernel cannot post a fast time.
 */
import * as ti from 'technicalindicators';
import { computeIndicator, createIndicator } from '../../engine/indicators/index.ts';
import { createRng } from '../../engine/rng.ts';

const N = Number(process.argv[2] ?? 525_600);
const ROUNDS = 5; // best-of-5: the shared machine is noisy

// A seeded geometric random walk around 40,000 (1-minute BTC-like volatility).
const rng = createRng(42);
const close = new Float64Array(N);
let p = 40_000;
for (let i = 0; i < N; i++) {
  p *= Math.exp(0.0008 * rng.normal());
  close[i] = p;
}
const closeArr = Array.from(close);
const zeros = new Float64Array(N);
const input = { open: close, high: close, low: close, close, volume: zeros };

function best(fn: () => unknown): number {
  fn();
  let t = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    t = Math.min(t, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return t;
}

function emit(bench: string, seconds: number, baselineSeconds: number, baselineName: string): void {
  const value = N / seconds;
  const baseline = N / baselineSeconds;
  process.stdout.write(
    JSON.stringify({
      bench,
      value: Math.round(value),
      unit: 'values/s',
      baseline: Math.round(baseline),
      baselineName,
      ratio: Math.round((value / baseline) * 10) / 10,
      values: N,
    }) + '\n',
  );
}

function ours(kind: string, params: Record<string, number>): { batch: () => Float64Array; incremental: () => Float64Array } {
  return {
    batch: () => computeIndicator(kind, input, params).outputs[kind]!,
    incremental: () => {
      const k = createIndicator(kind, params);
      const out = new Float64Array(N);
      for (let i = 0; i < N; i++) {
        const c = close[i]!;
        k.update(c, c, c, c, 0, 0);
        out[i] = k.value();
      }
      return out;
    },
  };
}

/** |a - b| <= tol, relative to max(1, |b|) unless `absolute`. */
function check(label: string, a: Float64Array, b: ArrayLike<number>, offset: number, tol: number, absolute = false): void {
  for (let i = offset; i < N; i++) {
    const x = a[i]!;
    const y = b[i - offset]!;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (!(Math.abs(x - y) <= (absolute ? tol : tol * Math.max(1, Math.abs(y))))) throw new Error(`${label}: bar ${i} ${x} vs ${y}`);
  }
}

// SMA(50)
{
  const o = ours('sma', { period: 50 });
  const tiBatch = () => ti.SMA.calculate({ period: 50, values: closeArr });
  const tiStream = () => {
    const s = new ti.SMA({ period: 50, values: [] });
    const out: (number | undefined)[] = new Array(N);
    for (let i = 0; i < N; i++) out[i] = s.nextValue(closeArr[i]!);
    return out;
  };
  check('sma batch vs technicalindicators', o.batch(), tiBatch(), 49, 1e-9);
  check('sma incremental vs batch', o.incremental(), o.batch(), 0, 0);
  emit('indicators.sma50.batch', best(o.batch), best(tiBatch), 'technicalindicators SMA.calculate');
  emit('indicators.sma50.incremental', best(o.incremental), best(tiStream), 'technicalindicators SMA.nextValue');
}

// RSI(14)
{
  const o = ours('rsi', { period: 14 });
  const tiBatch = () => ti.RSI.calculate({ period: 14, values: closeArr });
  const tiStream = () => {
    const s = new ti.RSI({ period: 14, values: [] });
    const out: (number | undefined)[] = new Array(N);
    for (let i = 0; i < N; i++) out[i] = s.nextValue(closeArr[i]!);
    return out;
  };
  // technicalindicators rounds RSI to 2 decimals.
  check('rsi batch vs technicalindicators', o.batch(), tiBatch(), 14, 0.0051, true);
  check('rsi incremental vs batch', o.incremental(), o.batch(), 0, 0);
  emit('indicators.rsi14.batch', best(o.batch), best(tiBatch), 'technicalindicators RSI.calculate');
  emit('indicators.rsi14.incremental', best(o.incremental), best(tiStream), 'technicalindicators RSI.nextValue');
}
