import { column } from './column.ts';
/**
 * Sliding-window building blocks shared by the kernels and their batch forms. Sharing them is
 * what keeps incremental and batch output bit-identical: the same float operations run in the
 * same order whichever way a series is fed.
 */

/** Sum of a[from..to) added left to right (the order matters for bit-identical results). */
export function sumRange(a: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  for (let j = from; j < to; j++) s += a[j]!;
  return s;
}

/**
 * Running sum over the last `period` values in a Float64Array ring. The running sum is replaced
 * by an exact re-summation each time the ring wraps: rounding drift cannot build up over
 * millions of bars, and a NaN stops poisoning the sum once it has left the window. The
 * re-summation costs `period` additions once every `period` pushes, so one push stays O(1) on
 * average.
 */
export class RollingSum {
  readonly period: number;
  private readonly buf: Float64Array;
  private pos = 0;
  private n = 0;
  sum = 0;

  constructor(period: number) {
    this.period = period;
    this.buf = new Float64Array(period);
  }

  /** Adds x (dropping the value that leaves the window); true once the window is full. */
  push(x: number): boolean {
    const p = this.period;
    if (this.n < p) {
      this.sum += x;
      this.n++;
    } else {
      this.sum = this.sum + x - this.buf[this.pos]!;
    }
    this.buf[this.pos] = x;
    if (++this.pos === p) {
      this.pos = 0;
      this.sum = sumRange(this.buf, 0, p);
    }
    return this.n === p;
  }

  get full(): boolean {
    return this.n === this.period;
  }

  reset(): void {
    this.buf.fill(0);
    this.pos = 0;
    this.n = 0;
    this.sum = 0;
  }
}

/**
 * Maximum over the last `period` values: a monotonic deque kept in two Float64Array rings
 * (values and their sequence numbers). Each value enters and leaves the deque once, so a push
 * is O(1) amortised. For a rolling minimum push `-x` and negate the result (negation is exact).
 */
export class RollingMax {
  readonly period: number;
  private readonly vals: Float64Array;
  private readonly seqs: Float64Array;
  private head = 0;
  private size = 0;
  private t = 0;

  constructor(period: number) {
    this.period = period;
    this.vals = new Float64Array(period);
    this.seqs = new Float64Array(period);
  }

  /** Adds x and returns the maximum of the window that ends with it. */
  push(x: number): number {
    const cap = this.period;
    const t = this.t++;
    // The front leaves once it is `period` values old.
    if (this.size > 0 && this.seqs[this.head]! <= t - cap) {
      this.head = this.head + 1 === cap ? 0 : this.head + 1;
      this.size--;
    }
    // Values not above x can never be the maximum again while x is in the window.
    while (this.size > 0) {
      let back = this.head + this.size - 1;
      if (back >= cap) back -= cap;
      if (this.vals[back]! > x) break;
      this.size--;
    }
    let slot = this.head + this.size;
    if (slot >= cap) slot -= cap;
    this.vals[slot] = x;
    this.seqs[slot] = t;
    this.size++;
    return this.vals[this.head]!;
  }

  reset(): void {
    this.head = 0;
    this.size = 0;
    this.t = 0;
  }
}

/**
 * Wilder's smoothing (his "accumulation", an EMA with alpha = 1/period): seeded with the simple
 * mean of the first `period` values, then avg = (avg * (period - 1) + x) / period, as TA-Lib
 * writes it. NaN until `period` values have been seen.
 */
export class WilderAverage {
  readonly period: number;
  private n = 0;
  private sum = 0;
  value = NaN;

  constructor(period: number) {
    this.period = period;
  }

  push(x: number): number {
    const p = this.period;
    if (this.n < p) {
      this.sum += x;
      if (++this.n === p) this.value = this.sum / p;
      return this.value;
    }
    this.value = (this.value * (p - 1) + x) / p;
    return this.value;
  }

  reset(): void {
    this.n = 0;
    this.sum = 0;
    this.value = NaN;
  }
}

/**
 * EMA with k = 2 / (period + 1), seeded with the simple mean of its first `period` values (TA-Lib's
 * default and StockCharts' convention), then ema += (x - ema) * k written as TA-Lib does:
 * ((x - prev) * k) + prev. NaN until `period` values have been seen.
 */
export class SeededEma {
  readonly period: number;
  readonly k: number;
  private n = 0;
  private sum = 0;
  value = NaN;

  constructor(period: number) {
    this.period = period;
    this.k = 2 / (period + 1);
  }

  push(x: number): number {
    const p = this.period;
    if (this.n < p) {
      this.sum += x;
      if (++this.n === p) this.value = this.sum / p;
      return this.value;
    }
    this.value = (x - this.value) * this.k + this.value;
    return this.value;
  }

  reset(): void {
    this.n = 0;
    this.sum = 0;
    this.value = NaN;
  }
}

/** A NaN-filled output column. */
export function nanColumn(n: number): Float64Array {
  return column(n, NaN);
}
