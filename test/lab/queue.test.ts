import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { canonicalJson } from '../../engine/hash.ts';
import { generateBars } from '../../datasets/synth.ts';
import { openStore, type Store } from '../../datasets/store.ts';
import { loadSweepRuns, type SweepRow } from '../../datasets/sweeps.ts';
import { parseRunConfig } from '../../lab/evaluate.ts';
import { marketFromColumns } from '../../lab/market-data.ts';
import { parseRedisUrl, queueExecutor } from '../../lab/queue.ts';
import { buildSearchSpace, parseGridFlag } from '../../lab/search-space.ts';
import { loadStrategy } from '../../lab/strategy-loader.ts';
import { runSweep, type SweepOptions } from '../../lab/sweep.ts';
import { CS_BIN, csSpawnAsync, ROOT } from '../support/cli.ts';

const redisUrl = inject('redisUrl');
const dir = mkdtempSync(join(tmpdir(), 'cs-queue-'));
const queueName = `cs-sweep-test-${process.pid}`;
const STRATEGY = join(ROOT, 'test/lab/fixtures/slow-sma.ts');

interface Spawned {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

const children: Spawned[] = [];
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  const q = new Queue(queueName, { connection: parseRedisUrl(redisUrl) });
  await q.obliterate({ force: true });
  await q.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A real `cs worker` process with a short lock, so a dead worker's job comes back within seconds. */
function startWorker(): Spawned {
  const child = spawn(process.execPath, [CS_BIN, 'worker', '--queue', redisUrl, '--queue-name', queueName, '--lock-ms', '1500', '--stalled-ms', '500'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  child.stderr!.on('data', (d) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const s = { child, lines, exited };
  children.push(s);
  return s;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const bars = generateBars({ symbol: 'BTC/USDT', timeframeMs: 3_600_000, from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 2, 1), seed: 21, model: { kind: 'gbm', drift: 0.2, vol: 0.7 } });
const market = marketFromColumns([bars], 'synthetic');
const config = parseRunConfig({ strategy: STRATEGY, symbols: ['BTC/USDT'], timeframe: '1h' });

async function withStore<T>(name: string, fn: (s: Store) => Promise<T>): Promise<T> {
  const s = await openStore(join(dir, name));
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

const essence = (rows: readonly SweepRow[]) => rows.map((r) => canonicalJson([r.runKey, r.seq, r.params, r.resultHash, r.metrics])).sort();

describe('distributed sweep on BullMQ with a real redis-server', () => {
  it('two cs worker processes, one SIGKILLed mid-job: the job is retried, results equal the local sweep, nothing stored twice', async () => {
    const { strategy } = await loadStrategy(STRATEGY);
    const space = buildSearchSpace(strategy, { grid: [parseGridFlag('fast=5:15:5'), parseGridFlag('slow=30:40:10')] });
    const opts: SweepOptions = { strategy: STRATEGY, config, market, space, method: 'grid' };

    const local = await withStore('local.duckdb', async (store) => {
      const r = await runSweep({ ...opts, workers: 2, store });
      return { r, rows: await loadSweepRuns(store, r.sweepId) };
    });
    expect(local.rows).toHaveLength(6);

    // A alone first, so it certainly takes a job; B starts once A has died inside it.
    const a = startWorker();
    await until(() => a.lines.some((l) => l.includes('waiting for jobs')), 60_000, 'worker A to connect');

    const dist = withStore('dist.duckdb', async (store) => {
      const r = await runSweep({ ...opts, store, executor: queueExecutor({ url: redisUrl, dataDir: join(dir, 'data'), queueName }) });
      return { r, rows: await loadSweepRuns(store, r.sweepId) };
    });
    // Kill A while it is inside a job (the job's first run alone spends 700 ms in init).
    await until(() => a.lines.some((l) => / started /.test(l)), 60_000, 'worker A to start a job');
    const killedJob = /job (\S+) started/.exec(a.lines.find((l) => / started /.test(l))!)![1]!;
    a.child.kill('SIGKILL');
    await a.exited;
    expect(a.lines.some((l) => l.includes(`job ${killedJob} done`))).toBe(false);
    // B takes the waiting jobs and, once A's lock has expired, A's job too.
    const b = startWorker();

    const d = await dist;
    expect(d.r.sweepId).toBe(local.r.sweepId);
    expect(d.r.ran).toBe(6);
    expect(d.rows).toHaveLength(6);
    expect(new Set(d.rows.map((r) => r.runKey)).size).toBe(6);
    expect(essence(d.rows)).toEqual(essence(local.rows));
    // Returns came back through Redis (base64) bit for bit: the same T×N matrix, the same PBO and DSR.
    const bits = (rs: readonly SweepRow[]) => Object.fromEntries(rs.map((r) => [r.runKey, Buffer.from(r.returns!.buffer, r.returns!.byteOffset, r.returns!.byteLength).toString('hex')]));
    expect(bits(d.r.runs)).toEqual(bits(local.r.runs));
    expect(d.r.overfitting).toEqual(local.r.overfitting);
    expect(d.r.overfitting.pbo).not.toBeNull();
    // The killed worker's job was taken up again by the survivor after its lock expired.
    expect(b.lines.some((l) => l.startsWith(`job ${killedJob} started`) && /stalled [1-9]/.test(l))).toBe(true);
    expect(b.lines.some((l) => l.startsWith(`job ${killedJob} done`))).toBe(true);
    // Enqueueing the same sweep again (another sweep process, its own empty database) adds no
    // job: the job ids exist, their return values come back, and no worker runs anything.
    const startedBefore = b.lines.filter((l) => / started /.test(l)).length;
    const again = await withStore('dist2.duckdb', async (store) => {
      const r = await runSweep({ ...opts, store, executor: queueExecutor({ url: redisUrl, dataDir: join(dir, 'data'), queueName }) });
      return loadSweepRuns(store, r.sweepId);
    });
    expect(essence(again)).toEqual(essence(local.rows));
    expect(b.lines.filter((l) => / started /.test(l)).length).toBe(startedBefore);

    // The same through the CLI: `cs sweep --queue` on stored data, two new parameter sets for B.
    await withStore('cli.duckdb', (store) => store.writeBars({ exchange: 'synthetic', symbol: 'BTC/USDT', timeframe: '1h' }, bars));
    const cli = await csSpawnAsync(['sweep', '--strategy', STRATEGY, '--symbol', 'BTC/USDT', '--timeframe', '1h', '--grid', 'fast=20:25:5', '--grid', 'slow=45:45', '--queue', redisUrl, '--queue-name', queueName, '--db', join(dir, 'cli.duckdb'), '--json']);
    expect(cli.err).toBe('');
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.out)).toMatchObject({ trials: 2, ran: 2, resumed: 0 });
    expect(b.lines.filter((l) => / started /.test(l)).length).toBe(startedBefore + 2);

    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  }, 180_000);
});
