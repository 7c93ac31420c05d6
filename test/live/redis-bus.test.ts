import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisStreamBus } from '../../live/bus/redis-streams.ts';
import type { BusEvent } from '../../live/bus/events.ts';
import type { BusMessage, InvalidMessage } from '../../live/bus/bus.ts';

const redisUrl = inject('redisUrl');
const CHILD = join(import.meta.dirname, 'bus-consumer.child.ts');
const uid = () => `test:bus:${randomUUID()}`;

const bar = (seq: number): BusEvent => ({
  type: 'bar', ts: seq * 60_000, source: 'test',
  payload: { kind: 'bar', symbol: 'ETH/USDT', ts: seq * 60_000, seq, source: 0, timeframeMs: 60_000, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10 },
});

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

interface Consumer {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  readonly ready: Promise<void>;
}

function startConsumer(stream: string, group: string, name: string, dieAfter: number, idleMs: number): Consumer {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, redisUrl, stream, group, name, String(dieAfter), String(idleMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: string[] = [];
  let buf = '';
  let onReady: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout!.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line === 'ready') onReady();
      else lines.push(line);
    }
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, lines, exited, ready };
}

async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Redis Streams bus (real redis-server)', () => {
  it('publishes and consumes in one process; a bad message is acknowledged and reported, never handled', async () => {
    const stream = uid();
    const invalid: InvalidMessage[] = [];
    const bus = new RedisStreamBus({ url: redisUrl, stream, blockMs: 50, onInvalid: (m) => invalid.push(m) });
    const got: BusMessage[] = [];
    await bus.subscribe({ group: 'g', consumer: 'c1' }, (m) => void got.push(m));
    const id1 = await bus.publish(bar(1));
    // Something else writes garbage to the same stream: it must not reach the handler.
    const raw = new Redis(redisUrl);
    const badId = (await raw.call('XADD', stream, '*', 'e', JSON.stringify({ type: 'fill', ts: 1, source: 'evil', payload: { orderId: 'x' } }))) as string;
    await raw.quit();
    const id2 = await bus.publish(bar(2));
    await until(() => got.length === 2 && invalid.length === 1, 5_000).catch((e) => {
      throw new Error(`${e.message}: got ${JSON.stringify(got)} invalid ${JSON.stringify(invalid)}`);
    });
    expect(got.map((m) => m.id)).toEqual([id1, id2]);
    expect(got[0]!.event).toEqual(bar(1));
    expect(invalid[0]!.id).toBe(badId);
    expect(invalid[0]!.error).toMatch(/fill payload/);
    await until(async () => (await bus.pendingCount('g')) === 0, 2_000);
    await bus.close();
  });

  it('three consumer processes share one stream: every event handled exactly once, a killed consumer\'s pending events reclaimed', async () => {
    const stream = uid();
    const group = 'workers';
    const N = 60;
    const idleMs = 400;
    // c1 dies inside the handler of its 3rd event, holding that event and the rest of its batch unacknowledged.
    const cs = [startConsumer(stream, group, 'c1', 3, idleMs), startConsumer(stream, group, 'c2', 0, idleMs), startConsumer(stream, group, 'c3', 0, idleMs)];
    await Promise.all(cs.map((c) => c.ready));
    const bus = new RedisStreamBus({ url: redisUrl, stream });
    const ids = new Set<string>();
    for (let i = 0; i < N; i++) ids.add(await bus.publish(bar(i)));
    expect(await cs[0]!.exited).toBe(0);
    const handled = () => cs.flatMap((c) => c.lines);
    await until(() => handled().length >= N, 20_000);
    await until(async () => (await bus.pendingCount(group)) === 0, 5_000);
    const all = handled().map((l) => l.split(' ')[1]!);
    expect(all.length).toBe(N);
    expect(new Set(all)).toEqual(ids);
    // The dead consumer handled 2, and the survivors picked up what it left behind.
    expect(cs[0]!.lines.length).toBe(2);
    expect(cs[1]!.lines.length + cs[2]!.lines.length).toBe(N - 2);
    for (const c of cs.slice(1)) c.child.kill('SIGTERM');
    await Promise.all(cs.slice(1).map((c) => c.exited));
    await bus.close();
  }, 120_000);

  it('a handler that always fails: the event is reclaimed and retried, then dead-lettered after maxDeliveries', async () => {
    const stream = uid();
    const dead: [string, number][] = [];
    const bus = new RedisStreamBus({ url: redisUrl, stream, blockMs: 50, claimIdleMs: 100, maxDeliveries: 3, onDeadLetter: (m, n) => dead.push([m.id, n]) });
    let attempts = 0;
    await bus.subscribe({ group: 'g', consumer: 'c' }, () => {
      attempts++;
      throw new Error('cannot handle this one');
    });
    const id = await bus.publish(bar(7));
    await until(() => dead.length === 1, 10_000);
    expect(dead).toEqual([[id, 3]]);
    expect(attempts).toBe(3);
    expect(await bus.pendingCount('g')).toBe(0);
    await bus.close();
  });
});
