import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../../datasets/store.ts';
import { listSweeps } from '../../../datasets/sweeps.ts';
import { seedBtcHourly } from '../../support/bars.ts';
import { csInProcess, csSpawn } from '../../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'cs-sweep-cli-'));
const db = join(dir, 'sw.duckdb');

beforeAll(async () => {
  await seedBtcHourly(db, Date.UTC(2024, 3, 1));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = ['sweep', '--strategy', 'sma-cross', '--symbol', 'BTC/USDT', '--timeframe', '1h', '--db', db];

async function sweepsStored(): Promise<number> {
  const store = await openStore(db, { readOnly: true });
  try {
    return (await listSweeps(store)).length;
  } finally {
    await store.close();
  }
}

describe('cs sweep: bad input exits 2 and stores nothing', () => {
  const cases: [string, string[], RegExp][] = [
    ['bad grid syntax', ['--grid', 'fast=5-50-5'], /expected name=min:max\[:step\]/],
    ['a step that is not a number', ['--grid', 'fast=5:50:x'], /step "x" is not a number/],
    ['unknown parameter', ['--grid', 'fats=5:50:5'], /sma-cross has no parameter "fats"/],
    ['empty space after constraints', ['--grid', 'fast=60:80:10', '--grid', 'slow=20:50:10'], /no combination to run: all 12 combinations/],
    ['unknown metric', ['--grid', 'fast=5:10:5', '--grid', 'slow=20:30:10', '--metric', 'shrpe'], /unknown metric "shrpe"/],
    ['random without --trials', ['--grid', 'fast=5:10:5', '--method', 'random'], /needs --trials/],
    ['not a redis URL', ['--grid', 'fast=5:10:5', '--grid', 'slow=20:30:10', '--queue', 'http://x:1'], /redis:\/\//],
    ['a config that does not parse', ['--config', join(dir, 'bad.yaml')], /bad\.yaml: params\.fast/],
  ];
  beforeAll(() => writeFileSync(join(dir, 'bad.yaml'), 'params:\n  fast: {min: 9, max: 2}\n'));
  for (const [what, args, msg] of cases) {
    it(what, async () => {
      const r = await csInProcess([...base, ...args, '--workers', '0']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.out).toBe('');
      expect(await sweepsStored()).toBe(0);
    });
  }
});

describe('cs sweep / cs sweeps', () => {
  it('--help for sweep, worker and sweeps', async () => {
    for (const c of ['sweep', 'worker', 'sweeps']) {
      const r = await csInProcess([c, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain('--json');
    }
  });

  it('runs through the real bin with 2 worker threads, and a rerun resumes everything (JSON contract)', () => {
    const args = [...base, '--grid', 'fast=5:20:5', '--grid', 'slow=20:40:10', '--workers', '2', '--json'];
    const a = csSpawn(args);
    expect(a.err).toBe('');
    expect(a.code).toBe(0);
    const r = JSON.parse(a.out);
    // fast ∈ {5,10,15,20} × slow ∈ {20,30,40} = 12, minus (20,20) = 11.
    expect(r).toMatchObject({ strategy: 'sma-cross', method: 'grid', metric: 'sharpe', trials: 11, ran: 11, resumed: 0, skippedInvalid: 1 });
    expect(r.sweepId).toMatch(/^sw-[0-9a-f]{16}$/);
    const sharpes = r.best.map((b: { sharpe: number }) => b.sharpe);
    expect(sharpes).toEqual(sharpes.slice().sort((x: number, y: number) => y - x));
    const b = JSON.parse(csSpawn(args).out);
    expect(b).toMatchObject({ sweepId: r.sweepId, trials: 11, ran: 0, resumed: 11 });
    expect(b.best).toEqual(r.best);
  });

  it('cs sweeps lists the stored sweep and shows its best runs by another metric', async () => {
    const list = JSON.parse((await csInProcess(['sweeps', '--db', db, '--json'])).out);
    expect(list).toHaveLength(1);
    expect(list[0].trials).toBe(11);
    const show = await csInProcess(['sweeps', list[0].sweepId, '--metric', 'totalReturn', '--top', '3', '--db', db, '--json']);
    expect(show.code).toBe(0);
    const s = JSON.parse(show.out);
    expect(s.best).toHaveLength(3);
    const tr = s.best.map((x: { metrics: { totalReturn: number } }) => x.metrics.totalReturn);
    expect(tr).toEqual(tr.slice().sort((x: number, y: number) => y - x));
    const text = await csInProcess(['sweeps', list[0].sweepId, '--db', db]);
    expect(text.out).toMatch(/best by sharpe/);
    expect((await csInProcess(['sweeps', 'sw-nope', '--db', db])).code).toBe(2);
  });
});
