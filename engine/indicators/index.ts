import type { z } from 'zod';
import { InputError } from '../errors.ts';
import type { IndicatorKernel, IndicatorSpec, OhlcvInput } from './types.ts';
import { sma } from './sma.ts';
import { ema } from './ema.ts';
import { rsi } from './rsi.ts';
import { macd } from './macd.ts';
import { bbands } from './bbands.ts';
import { atr } from './atr.ts';
import { stoch } from './stoch.ts';
import { obv } from './obv.ts';
import { vwap } from './vwap.ts';

export type { IndicatorKernel, IndicatorSpec, OhlcvField, OhlcvInput } from './types.ts';
export { trueRange } from './atr.ts';

/** Every built-in indicator by name. */
export const indicators: Readonly<Record<string, IndicatorSpec>> = Object.freeze({
  sma,
  ema,
  rsi,
  macd,
  bbands,
  atr,
  stoch,
  obv,
  vwap,
});

export function indicatorSpec(kind: string): IndicatorSpec {
  const spec = Object.hasOwn(indicators, kind) ? indicators[kind] : undefined;
  if (!spec) {
    throw new InputError(`unknown indicator "${kind}" (known: ${Object.keys(indicators).join(', ')})`);
  }
  return spec;
}

/** Validates parameters against the indicator's zod schema (defaults filled in). */
export function parseIndicatorParams(kind: string, params: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  const spec = indicatorSpec(kind);
  const r = spec.params.safeParse(params);
  if (!r.success) {
    const what = r.error.issues
      .map((i) =>
        i.code === 'unrecognized_keys'
          ? `unknown param ${i.keys.join(', ')}`
          : `param ${i.path.length ? i.path.join('.') : '(all)'}: ${i.message}`,
      )
      .join('; ');
    throw new InputError(`indicator ${kind}: ${what} (params and defaults: ${describeParams(spec)})`);
  }
  return r.data as Record<string, unknown>;
}

/** A fresh incremental kernel for `kind`; bad kind or params throw InputError naming them. */
export function createIndicator(kind: string, params: Readonly<Record<string, unknown>> = {}): IndicatorKernel {
  const parsed = parseIndicatorParams(kind, params);
  return indicatorSpec(kind).create(parsed as z.output<z.ZodType>);
}

export interface IndicatorResult {
  readonly indicator: string;
  readonly params: Record<string, unknown>;
  readonly outputs: Record<string, Float64Array>;
}

/** Whole-series computation by name, outputs keyed by output name. */
export function computeIndicator(kind: string, input: OhlcvInput, params: Readonly<Record<string, unknown>> = {}): IndicatorResult {
  const parsed = parseIndicatorParams(kind, params);
  const spec = indicatorSpec(kind);
  const cols = spec.batch(input, parsed as z.output<z.ZodType>);
  const outputs: Record<string, Float64Array> = {};
  spec.outputs.forEach((name, i) => (outputs[name] = cols[i]!));
  return { indicator: kind, params: parsed, outputs };
}

/** "period=14 (int ≥ 2)" style summary of an indicator's parameters and defaults. */
export function describeParams(spec: IndicatorSpec): string {
  const shape = paramShape(spec.params);
  const keys = Object.keys(shape);
  if (keys.length === 0) return 'none';
  const defaults = spec.params.safeParse({});
  const d = defaults.success ? (defaults.data as Record<string, unknown>) : {};
  return keys.map((k) => `${k}=${String(d[k])}`).join(', ');
}

function paramShape(schema: z.ZodType): Record<string, unknown> {
  // A refined object (macd) is still a ZodObject in zod 4; its shape lists the keys.
  const s = schema as unknown as { shape?: Record<string, unknown> };
  return s.shape ?? {};
}
