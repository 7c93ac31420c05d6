import type { z } from 'zod';

/**
 * An incremental indicator: one `update` per closed bar, O(1) per value, no allocation per bar.
 * Outputs are NaN during warm-up. The batch form over whole columns must give identical values.
 */
export interface IndicatorKernel {
  readonly outputs: readonly string[];
  /** `ts` is the bar's open time (epoch ms); only session-anchored indicators use it. */
  update(open: number, high: number, low: number, close: number, volume: number, ts: number): void;
  /** Latest value of output `i` (0 = the main output). */
  value(i?: number): number;
  reset(): void;
}

export interface OhlcvInput {
  readonly open: ArrayLike<number>;
  readonly high: ArrayLike<number>;
  readonly low: ArrayLike<number>;
  readonly close: ArrayLike<number>;
  readonly volume: ArrayLike<number>;
  /** Bar open times in epoch ms; needed by session-anchored indicators (VWAP). */
  readonly ts?: ArrayLike<number>;
}

/** The bar fields an indicator reads; callers load only these (the CLI asks the CSV for them). */
export type OhlcvField = 'open' | 'high' | 'low' | 'close' | 'volume' | 'ts';

export interface IndicatorSpec<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly description: string;
  /** zod schema of the parameters, with defaults; unknown keys are rejected. */
  readonly params: S;
  readonly outputs: readonly string[];
  readonly inputs: readonly OhlcvField[];
  /**
   * Index of the first bar at which the main output (outputs[0]) is defined on finite data
   * (TA-Lib's "lookback"). Other outputs may start later.
   */
  lookback(params: z.output<S>): number;
  create(params: z.output<S>): IndicatorKernel;
  /** Whole-series computation; one Float64Array per output, NaN during warm-up. */
  batch(input: OhlcvInput, params: z.output<S>): Float64Array[];
}
