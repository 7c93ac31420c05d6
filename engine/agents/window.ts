import { sliceBars, type BarColumns } from '../types.ts';
import type { BarWindow } from './types.ts';

/**
 * The closed bars [from, to) of a column set as a BarWindow: zero-copy subarray views, so the
 * window cannot reach a bar past `to` (a view has no index beyond its end).
 */
export function barWindowOf(c: BarColumns, from: number, to: number): BarWindow {
  return sliceBars(c, Math.max(0, from), Math.min(c.length, to));
}
