/**
 * Output columns of the batch indicators. A backtest computes its indicators over the whole series
 * and drops them at the end of the run; the next run of a sweep needs columns of the same length.
 * Handing those back instead of allocating new ones saves the pages of fresh memory a new column
 * costs (a year of 1-minute bars is 4 MB per output, and first-touch page faults are the dearest
 * part of a run on some machines). A reused column is filled exactly as a new one would be, so
 * results cannot depend on the pool.
 */

/** Free columns by length. */
const free = new Map<number, Float64Array[]>();
/** Columns this module made: only those come back (never a caller's array, a view or an input column). */
const made = new WeakSet<Float64Array>();
let freeBytes = 0;
/** Enough for the indicators of a few runs over several years of 1-minute bars; beyond it, columns are left to the GC. */
const MAX_FREE_BYTES = 256 * 1024 * 1024;

/** A column of `n` values, all `fill` (zero, as `new Float64Array(n)`, unless told otherwise). */
export function column(n: number, fill = 0): Float64Array {
  const list = free.get(n);
  const c = list?.pop();
  if (c === undefined) {
    const fresh = fill === 0 ? new Float64Array(n) : new Float64Array(n).fill(fill);
    made.add(fresh);
    return fresh;
  }
  freeBytes -= c.byteLength;
  return c.fill(fill);
}

/**
 * Gives columns back for reuse. The caller promises nothing reads them afterwards: the engine
 * recycles its own at the end of a run, never columns a caller was handed. Arrays not made by
 * `column()` are ignored.
 */
export function recycleColumns(cols: readonly Float64Array[]): void {
  for (const c of cols) {
    if (!made.has(c)) continue;
    if (freeBytes + c.byteLength > MAX_FREE_BYTES) return;
    let list = free.get(c.length);
    if (list === undefined) free.set(c.length, (list = []));
    if (list.includes(c)) continue;
    list.push(c);
    freeBytes += c.byteLength;
  }
}
