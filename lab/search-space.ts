import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { InputError, describeIssues } from '../engine/errors.ts';
import { canonicalJson } from '../engine/hash.ts';
import type { Rng } from '../engine/rng.ts';
import type { AnyStrategy } from '../engine/strategy.ts';

/**
 * The search space of a sweep: the strategy's zod params schema says which parameters exist, their
 * types and bounds, and which combinations are allowed (its refinements, e.g. fast < slow); the
 * user says which values to try. A combination the schema rejects is skipped and counted, never run.
 */

export type ParamValue = number | string | boolean;
export type Params = Readonly<Record<string, ParamValue>>;

export type Dimension =
  | { readonly kind: 'range'; readonly name: string; readonly min: number; readonly max: number; readonly step?: number; readonly int: boolean }
  | { readonly kind: 'choice'; readonly name: string; readonly values: readonly ParamValue[] };

export interface SearchSpace {
  readonly dimensions: readonly Dimension[];
  /** Held constant in every run (`--param`, or `fixed:` in a sweep config). */
  readonly fixed: Params;
}

/** Grids larger than this are almost certainly a typo in a step; random or tpe search suits them better. */
export const MAX_GRID = 1_000_000;

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const paramValue = z.union([finite, z.string(), z.boolean()]);

const dimensionSpec = z.union([
  z.object({ min: finite, max: finite, step: finite.refine((s) => s > 0, 'must be > 0').optional() }).strict().refine((d) => d.min <= d.max, { message: 'min must not exceed max', path: ['max'] }),
  z.object({ values: z.array(paramValue).min(1, 'give at least one value') }).strict(),
]);

/** A JSON or YAML sweep config; CLI flags given alongside it win. */
export const sweepConfigSchema = z
  .object({
    strategy: z.string().min(1).optional(),
    params: z.record(z.string(), z.union([dimensionSpec, paramValue])).default({}),
    method: z.enum(['grid', 'random', 'tpe']).optional(),
    trials: z.number().int().positive().optional(),
    metric: z.string().min(1).optional(),
    seed: z.number().int().optional(),
  })
  .strict();

export type SweepConfig = z.output<typeof sweepConfigSchema>;

export function parseSweepConfig(text: string, file: string): SweepConfig {
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new InputError(`${file}: not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = sweepConfigSchema.safeParse(raw ?? {});
  if (!r.success) throw new InputError(`${file}: ${describeIssues(r.error, '(root)')}`);
  return r.data;
}

/** A value as typed on the command line: numbers and booleans parsed, anything else kept as text. */
export function parseScalar(raw: string): ParamValue {
  const t = raw.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  const n = Number(t);
  return t !== '' && Number.isFinite(n) ? n : t;
}

/** `--grid name=min:max[:step]` */
export function parseGridFlag(flag: string): { name: string; min: number; max: number; step?: number } {
  const m = /^([A-Za-z_$][\w$]*)=([^:]+):([^:]+)(?::([^:]+))?$/.exec(flag.trim());
  if (!m) throw new InputError(`--grid "${flag}": expected name=min:max[:step], e.g. fast=5:50:5`);
  const [, name, a, b, c] = m as unknown as [string, string, string, string, string | undefined];
  const num = (s: string, what: string): number => {
    const n = Number(s);
    if (s.trim() === '' || !Number.isFinite(n)) throw new InputError(`--grid "${flag}": ${what} "${s}" is not a number`);
    return n;
  };
  const min = num(a, 'min');
  const max = num(b, 'max');
  if (min > max) throw new InputError(`--grid "${flag}": min ${min} is above max ${max}`);
  if (c === undefined) return { name, min, max };
  const step = num(c, 'step');
  if (step <= 0) throw new InputError(`--grid "${flag}": step must be > 0`);
  return { name, min, max, step };
}

/** `--choice name=a,b,c` */
export function parseChoiceFlag(flag: string): { name: string; values: ParamValue[] } {
  const m = /^([A-Za-z_$][\w$]*)=(.+)$/.exec(flag.trim());
  if (!m) throw new InputError(`--choice "${flag}": expected name=value1,value2,...`);
  const values = m[2]!.split(',').map(parseScalar);
  if (values.some((v) => v === '')) throw new InputError(`--choice "${flag}": empty value in the list`);
  return { name: m[1]!, values };
}

export interface SpaceInput {
  readonly grid?: readonly { name: string; min: number; max: number; step?: number }[];
  readonly choice?: readonly { name: string; values: readonly ParamValue[] }[];
  readonly fixed?: Params;
  readonly config?: SweepConfig;
}

/** The schema's fields, looking through wrappers zod puts around an object (pipes, defaults). */
function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let s: unknown = schema;
  for (let i = 0; i < 10 && s; i++) {
    const def = (s as { _zod?: { def?: { type?: string; in?: unknown; innerType?: unknown; shape?: Record<string, z.ZodType> } } })._zod?.def;
    if (!def) return undefined;
    if (def.type === 'object') return def.shape;
    s = def.type === 'pipe' ? def.in : def.innerType;
  }
  return undefined;
}

/** Integer-only number field (z.number().int()), looking through default/optional. */
function isIntField(field: z.ZodType | undefined): boolean {
  let s: unknown = field;
  for (let i = 0; i < 10 && s; i++) {
    const zs = s as { isInt?: boolean; _zod?: { def?: { type?: string; innerType?: unknown } } };
    const def = zs._zod?.def;
    if (!def) return false;
    if (def.type === 'number') return zs.isInt === true;
    s = def.innerType;
  }
  return false;
}

/**
 * Builds the space from flags and/or a config, checking every name against the strategy's schema
 * and every value against that parameter's own field (so `fast=1:10` fails up front when fast ≥ 2).
 */
export function buildSearchSpace(strategy: AnyStrategy, input: SpaceInput): SearchSpace {
  const shape = objectShape(strategy.params);
  const known = shape ? Object.keys(shape) : undefined;
  const dims = new Map<string, Dimension>();
  const fixed: Record<string, ParamValue> = {};
  const checkName = (name: string, where: string): void => {
    if (known && !known.includes(name)) {
      throw new InputError(`${where}: ${strategy.name} has no parameter "${name}" (it has: ${known.join(', ') || 'none'})`);
    }
  };
  const addRange = (d: { name: string; min: number; max: number; step?: number }, where: string): void => {
    checkName(d.name, where);
    const int = isIntField(shape?.[d.name]);
    if (int && ![d.min, d.max, d.step ?? 1].every(Number.isInteger)) {
      throw new InputError(`${where}: ${d.name} is an integer parameter; min, max and step must be integers`);
    }
    dims.set(d.name, { kind: 'range', name: d.name, min: d.min, max: d.max, int, ...(d.step !== undefined ? { step: d.step } : int ? { step: 1 } : {}) });
  };
  const addChoice = (d: { name: string; values: readonly ParamValue[] }, where: string): void => {
    checkName(d.name, where);
    dims.set(d.name, { kind: 'choice', name: d.name, values: [...new Set(d.values)] });
  };
  for (const [name, spec] of Object.entries(input.config?.params ?? {})) {
    const where = `sweep config params.${name}`;
    if (typeof spec !== 'object') {
      checkName(name, where);
      fixed[name] = spec;
    } else if ('values' in spec) addChoice({ name, values: spec.values }, where);
    else addRange({ name, min: spec.min, max: spec.max, ...(spec.step !== undefined ? { step: spec.step } : {}) }, where);
  }
  for (const g of input.grid ?? []) addRange(g, `--grid ${g.name}`);
  for (const c of input.choice ?? []) addChoice(c, `--choice ${c.name}`);
  for (const [name, v] of Object.entries(input.fixed ?? {})) {
    checkName(name, `--param ${name}`);
    if (dims.has(name)) throw new InputError(`--param ${name}: ${name} is also swept; give it either a fixed value or a range`);
    fixed[name] = v;
  }
  for (const name of dims.keys()) delete fixed[name];
  if (dims.size === 0) throw new InputError('nothing to sweep: give at least one --grid name=min:max[:step] or --choice name=a,b (or a --config file with params)');
  // Schema order, not flag order: the same sweep typed differently keeps its id and run order.
  const order = (n: string): number => (known ? known.indexOf(n) : 0);
  const dimensions = [...dims.values()].sort((a, b) => order(a.name) - order(b.name));
  const space: SearchSpace = { dimensions, fixed };
  if (shape) checkFieldValues(strategy, shape, space);
  return space;
}

function checkFieldValues(strategy: AnyStrategy, shape: Record<string, z.ZodType>, space: SearchSpace): void {
  for (const d of space.dimensions) {
    const field = shape[d.name];
    if (!field) continue;
    const probe = d.kind === 'choice' ? d.values : d.step !== undefined && latticeSize(d) <= 10_000 ? latticeValues(d) : [d.min, d.max];
    for (const v of probe) {
      const r = field.safeParse(v);
      if (!r.success) throw new InputError(`${d.name}=${String(v)} is not a valid ${strategy.name} parameter: ${r.error.issues.map((i) => i.message).join('; ')}`);
    }
  }
  for (const [name, v] of Object.entries(space.fixed)) {
    const r = shape[name]?.safeParse(v);
    if (r && !r.success) throw new InputError(`--param ${name}=${String(v)}: ${r.error.issues.map((i) => i.message).join('; ')}`);
  }
}

/** Lattice points min, min+step, … ≤ max, computed by index (no drift) and cleaned of float residue. */
export function latticeValues(d: Extract<Dimension, { kind: 'range' }>): number[] {
  const step = d.step ?? (d.int ? 1 : undefined);
  if (step === undefined) throw new InputError(`${d.name}: a grid needs a step (name=min:max:step)`);
  const n = latticeSize(d);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(clean(d.min + i * step));
  return out;
}

export function latticeSize(d: Extract<Dimension, { kind: 'range' }>): number {
  const step = d.step ?? (d.int ? 1 : undefined);
  if (step === undefined) return Infinity;
  return Math.floor((d.max - d.min) / step + 1e-9) + 1;
}

function clean(x: number): number {
  return Number(x.toPrecision(12));
}

export function dimensionSize(d: Dimension): number {
  return d.kind === 'choice' ? d.values.length : latticeSize(d);
}

/** Number of combinations before constraints (Infinity when a dimension is continuous). */
export function spaceSize(space: SearchSpace): number {
  return space.dimensions.reduce((n, d) => n * dimensionSize(d), 1);
}

/** Every combination, first dimension slowest, before constraints. */
export function* gridPoints(space: SearchSpace): Generator<Params> {
  const size = spaceSize(space);
  if (!Number.isFinite(size)) {
    const d = space.dimensions.find((x) => dimensionSize(x) === Infinity)!;
    throw new InputError(`grid search needs a step for ${d.name} (use ${d.name}=min:max:step, or --method random/tpe)`);
  }
  if (size > MAX_GRID) throw new InputError(`the grid has ${size} combinations (limit ${MAX_GRID}); use larger steps or --method random/tpe with --trials`);
  const values = space.dimensions.map((d) => (d.kind === 'choice' ? d.values : latticeValues(d)));
  const idx = new Array<number>(values.length).fill(0);
  for (;;) {
    const p: Record<string, ParamValue> = {};
    space.dimensions.forEach((d, j) => (p[d.name] = values[j]![idx[j]!]!));
    yield p;
    let j = values.length - 1;
    while (j >= 0 && ++idx[j]! === values[j]!.length) idx[j--] = 0;
    if (j < 0) return;
  }
}

/** A uniform draw from the space (on the lattice when the dimension has a step). */
export function samplePoint(space: SearchSpace, rng: Rng): Params {
  const p: Record<string, ParamValue> = {};
  for (const d of space.dimensions) p[d.name] = sampleDimension(d, rng);
  return p;
}

export function sampleDimension(d: Dimension, rng: Rng): ParamValue {
  if (d.kind === 'choice') return d.values[rng.int(d.values.length)]!;
  const n = latticeSize(d);
  return Number.isFinite(n) ? clean(d.min + rng.int(n) * (d.step ?? 1)) : d.min + rng.next() * (d.max - d.min);
}

/** Nearest allowed value of a range dimension (on its lattice, inside its bounds). */
export function snap(d: Extract<Dimension, { kind: 'range' }>, x: number): number {
  const c = Math.min(d.max, Math.max(d.min, x));
  const step = d.step ?? (d.int ? 1 : undefined);
  if (step === undefined) return c;
  const i = Math.min(latticeSize(d) - 1, Math.max(0, Math.round((c - d.min) / step)));
  return clean(d.min + i * step);
}

/** The full parameter object a run gets: fixed values, then the point. */
export function withFixed(space: SearchSpace, point: Params): Params {
  return { ...space.fixed, ...point };
}

/** The schema's verdict: parsed params (defaults filled in) or why they are not allowed. */
export function checkParams(strategy: AnyStrategy, params: Params): { ok: true; params: unknown } | { ok: false; reason: string } {
  const r = strategy.params.safeParse(params);
  return r.success ? { ok: true, params: r.data } : { ok: false, reason: describeIssues(r.error, '(params)') };
}

/** Stable identity of a point (key order does not matter). */
export function pointKey(p: Params): string {
  return canonicalJson(p);
}
