import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeIssues } from '../../engine/errors.ts';

describe('describeIssues', () => {
  it('names a top-level field by its key', () => {
    const r = z.object({ symbol: z.string() }).safeParse({ symbol: 3 });
    expect(r.success).toBe(false);
    expect(describeIssues(r.error!)).toBe(`symbol: ${r.error!.issues[0]!.message}`);
  });

  it('joins a nested path with dots, array indices included', () => {
    const r = z.object({ legs: z.array(z.object({ qty: z.number().positive() })) }).safeParse({ legs: [{ qty: 1 }, { qty: -1 }] });
    expect(describeIssues(r.error!)).toMatch(/^legs\.1\.qty: /);
  });

  it('labels an issue with an empty path by the root given (or "(input)")', () => {
    const r = z.number().safeParse('x');
    const msg = r.error!.issues[0]!.message;
    expect(describeIssues(r.error!)).toBe(`(input): ${msg}`);
    expect(describeIssues(r.error!, '(options)')).toBe(`(options): ${msg}`);
  });

  it('lists every issue, in order, with the separator given', () => {
    const issues = [
      { path: ['a'], message: 'first' },
      { path: [], message: 'second' },
      { path: ['b', 0, 'c'], message: 'third' },
    ];
    expect(describeIssues({ issues })).toBe('a: first; (input): second; b.0.c: third');
    expect(describeIssues({ issues }, 'root', '\n')).toBe('a: first\nroot: second\nb.0.c: third');
  });

  it('shows a symbol key instead of throwing, and says nothing for no issue', () => {
    expect(describeIssues({ issues: [{ path: [Symbol('k')], message: 'm' }] })).toBe('Symbol(k): m');
    expect(describeIssues({ issues: [] })).toBe('');
  });

  it('reports each failing field of a real schema once', () => {
    const r = z.object({ from: z.number(), to: z.number() }).safeParse({});
    expect(describeIssues(r.error!).split('; ').map((s) => s.split(':')[0])).toEqual(['from', 'to']);
  });
});
