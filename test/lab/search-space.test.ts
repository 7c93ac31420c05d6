import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { z } from 'zod';
import { InputError } from '../../engine/errors.ts';
import { defineStrategy, type AnyStrategy } from '../../engine/strategy.ts';
import { builtinStrategies } from '../../engine/strategies/index.ts';
import { allowedGrid } from '../../lab/optimise.ts';
import {
  buildSearchSpace,
  checkParams,
  gridPoints,
  latticeValues,
  parseChoiceFlag,
  parseGridFlag,
  parseSweepConfig,
  pointKey,
  spaceSize,
  withFixed,
} from '../../lab/search-space.ts';

const sma = builtinStrategies['sma-cross']!;
const valid = (s: AnyStrategy, space: ReturnType<typeof buildSearchSpace>) => (p: Record<string, unknown>) => checkParams(s, withFixed(space, p as never)).ok;

describe('search space from a zod schema', () => {
  it('grid covers exactly the expected combinations, with fast < slow applied', () => {
    const space = buildSearchSpace(sma, { grid: [parseGridFlag('fast=5:50:5'), parseGridFlag('slow=20:200:10')] });
    const { points, skippedInvalid } = allowedGrid(space, valid(sma, space));
    // Worked by hand: fast ∈ {5, 10, …, 50} (10 values), slow ∈ {20, 30, …, 200} (19 values).
    const expected = new Set<string>();
    let rejected = 0;
    for (let f = 5; f <= 50; f += 5) {
      for (let s = 20; s <= 200; s += 10) {
        if (f < s) expected.add(JSON.stringify({ fast: f, slow: s }));
        else rejected++;
      }
    }
    expect(expected.size).toBe(174);
    expect(rejected).toBe(16); // slow=20: 7, slow=30: 5, slow=40: 3, slow=50: 1
    expect(points).toHaveLength(174);
    expect(new Set(points.map((p) => JSON.stringify({ fast: p.fast, slow: p.slow })))).toEqual(expected);
    expect(skippedInvalid).toBe(16);
  });

  it('float steps land exactly on the decimal lattice (no 0.30000000000000004)', () => {
    const s = defineStrategy({ name: 'f', params: z.object({ k: z.number() }) }) as unknown as AnyStrategy;
    const space = buildSearchSpace(s, { grid: [parseGridFlag('k=0.1:0.7:0.1')] });
    expect([...gridPoints(space)].map((p) => p.k)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
  });

  it('choices, fixed params and the schema defaults reach the run', () => {
    const s = defineStrategy({
      name: 'c',
      params: z.object({ mode: z.enum(['a', 'b']), n: z.number().int().min(1), x: z.number().default(3) }).strict(),
    }) as unknown as AnyStrategy;
    const space = buildSearchSpace(s, { choice: [parseChoiceFlag('mode=a,b')], grid: [parseGridFlag('n=1:3')], fixed: { x: 7 } });
    expect(spaceSize(space)).toBe(6); // an int range without a step steps by 1
    const pts = [...gridPoints(space)];
    expect(pts.map(pointKey)).toEqual(['{"mode":"a","n":1}', '{"mode":"a","n":2}', '{"mode":"a","n":3}', '{"mode":"b","n":1}', '{"mode":"b","n":2}', '{"mode":"b","n":3}']);
    expect(checkParams(s, withFixed(space, pts[0]!))).toEqual({ ok: true, params: { mode: 'a', n: 1, x: 7 } });
  });

  it('refuses bad grid syntax, unknown parameters, values the field rejects, fractional ints', () => {
    for (const bad of ['fast', 'fast=5', 'fast=5:x:1', 'fast=5:50:0', 'fast=50:5:5', '=1:2:1', 'fast=1:2:3:4']) {
      expect(() => parseGridFlag(bad), bad).toThrow(InputError);
    }
    expect(() => buildSearchSpace(sma, { grid: [parseGridFlag('fsat=5:50:5')] })).toThrow(/sma-cross has no parameter "fsat" \(it has: fast, slow\)/);
    expect(() => buildSearchSpace(sma, { grid: [parseGridFlag('fast=1:10:1')] })).toThrow(/fast=1 is not a valid sma-cross parameter/);
    expect(() => buildSearchSpace(sma, { grid: [parseGridFlag('fast=5:10:0.5')] })).toThrow(/integer parameter/);
    expect(() => buildSearchSpace(sma, {})).toThrow(/nothing to sweep/);
    expect(() => buildSearchSpace(sma, { grid: [parseGridFlag('fast=5:10:1')], fixed: { fast: 3 } })).toThrow(/also swept/);
  });

  it('an empty space after constraints is refused, not run', () => {
    const space = buildSearchSpace(sma, { grid: [parseGridFlag('fast=50:60:5'), parseGridFlag('slow=20:40:10')] });
    expect(() => allowedGrid(space, valid(sma, space))).toThrow(/all 9 combinations .* break the strategy's constraints/);
  });

  it('reads a YAML sweep config and names the field it rejects', () => {
    const cfg = parseSweepConfig('params:\n  fast: {min: 5, max: 20, step: 5}\n  slow: {values: [30, 40]}\nmethod: tpe\ntrials: 9\n', 'sweep.yaml');
    const space = buildSearchSpace(sma, { config: cfg });
    expect(spaceSize(space)).toBe(8);
    expect(cfg.method).toBe('tpe');
    expect(() => parseSweepConfig('params:\n  fast: {min: 5, max: 1}\n', 's.yaml')).toThrow(/s\.yaml: params\.fast/);
    expect(() => parseSweepConfig('{"methd": "grid"}', 's.json')).toThrow(/s\.json: .*methd/);
    expect(() => parseSweepConfig('{nope', 's.json')).toThrow(/not valid JSON/);
  });

  it('property: the grid is the cartesian product of the lattices, every point distinct and in bounds', () => {
    const s = defineStrategy({ name: 'p', params: z.object({ a: z.number().int(), b: z.number() }) }) as unknown as AnyStrategy;
    fc.assert(
      fc.property(fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 9 }), (a0, aSpan, aStep, bCount, bStepTenths) => {
        const bStep = bStepTenths / 10;
        const bMax = Number(((bCount - 1) * bStep).toFixed(10));
        const space = buildSearchSpace(s, { grid: [{ name: 'a', min: a0, max: a0 + aSpan, step: aStep }, { name: 'b', min: 0, max: bMax, step: bStep }] });
        const pts = [...gridPoints(space)];
        const nA = Math.floor(aSpan / aStep) + 1;
        expect(pts).toHaveLength(nA * bCount);
        expect(new Set(pts.map(pointKey)).size).toBe(pts.length);
        for (const p of pts) {
          expect(p.a as number).toBeGreaterThanOrEqual(a0);
          expect(p.a as number).toBeLessThanOrEqual(a0 + aSpan);
          expect(((p.a as number) - a0) % aStep).toBe(0);
          expect(p.b as number).toBeLessThanOrEqual(bMax + 1e-12);
        }
        expect(latticeValues(space.dimensions[1] as never)).toHaveLength(bCount);
      }),
      { numRuns: 200 },
    );
  });
});
