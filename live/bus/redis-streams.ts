import { Redis } from 'ioredis';
import { parseBusEvent, type BusEvent } from './events.ts';
import type { BusHandler, BusMessage, EventBus, InvalidMessage, SubscribeOptions, Subscription } from './bus.ts';

export interface RedisStreamBusOptions {
  /** redis://host:port[/db] */
  readonly url: string;
  /** The stream key; one stream per bus. */
  readonly stream: string;
  /** How long XREADGROUP blocks waiting for new events (ms); bounds how fast `close` returns. Default 200. */
  readonly blockMs?: number;
  /** A pending event idle this long is taken over by a live consumer (XAUTOCLAIM). Default 5,000 ms. */
  readonly claimIdleMs?: number;
  /** Events per read. Default 32. */
  readonly batch?: number;
  /** Approximate cap on the stream's length (XADD MAXLEN ~); default none. */
  readonly maxLen?: number;
  /** Where a new group starts: '0' (the whole stream, default) or '$' (only new events). */
  readonly groupStart?: '0' | '$';
  /** Messages that are not valid events: acknowledged (so they do not come back) and reported here. */
  readonly onInvalid?: (m: InvalidMessage) => void;
  /** A handler failed; the event stays pending and is reclaimed after `claimIdleMs`. */
  readonly onHandlerError?: (m: BusMessage, error: unknown) => void;
  /**
   * Deliveries after which a reclaimed event is given up on (acknowledged and passed to
   * `onDeadLetter`), so one event every handler chokes on cannot circulate for ever. Default 5.
   */
  readonly maxDeliveries?: number;
  readonly onDeadLetter?: (m: BusMessage, deliveries: number) => void;
}

type Entry = [id: string, fields: string[] | null];

/**
 * The Redis Streams bus: XADD to publish; per subscriber a dedicated connection running
 * XREADGROUP (consumer groups), XACK after the handler, and XAUTOCLAIM to take over events left
 * pending by a consumer that died or failed. Every message read is validated (zod) before a
 * handler sees it.
 */
export class RedisStreamBus implements EventBus {
  private readonly pub: Redis;
  private readonly subs = new Set<RedisSubscription>();
  readonly blockMs: number;
  readonly claimIdleMs: number;
  readonly batch: number;

  constructor(readonly opts: RedisStreamBusOptions) {
    this.pub = connect(opts.url);
    this.blockMs = opts.blockMs ?? 200;
    this.claimIdleMs = opts.claimIdleMs ?? 5_000;
    this.batch = opts.batch ?? 32;
  }

  async publish(event: BusEvent): Promise<string> {
    const cap = this.opts.maxLen !== undefined ? ['MAXLEN', '~', String(this.opts.maxLen)] : [];
    return (await this.pub.call('XADD', this.opts.stream, ...cap, '*', 'e', JSON.stringify(event))) as string;
  }

  async subscribe(opts: SubscribeOptions, handler: BusHandler): Promise<Subscription> {
    const conn = connect(this.opts.url);
    try {
      await conn.call('XGROUP', 'CREATE', this.opts.stream, opts.group, this.opts.groupStart ?? '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).startsWith('BUSYGROUP')) {
        conn.disconnect();
        throw err;
      }
    }
    const sub: RedisSubscription = new RedisSubscription(this, conn, opts, handler, () => this.subs.delete(sub));
    this.subs.add(sub);
    sub.start();
    return sub;
  }

  /** Events delivered to the group and not yet acknowledged (XPENDING summary count). */
  async pendingCount(group: string): Promise<number> {
    const r = (await this.pub.call('XPENDING', this.opts.stream, group)) as [number, ...unknown[]];
    return Number(r[0]);
  }

  async close(): Promise<void> {
    await Promise.all([...this.subs].map((s) => s.close()));
    await this.pub.quit();
  }
}

class RedisSubscription implements Subscription {
  private closed = false;
  private loop: Promise<void> = Promise.resolve();
  private claimCursor = '0-0';
  private lastClaim = 0;

  constructor(
    private readonly bus: RedisStreamBus,
    private readonly conn: Redis,
    private readonly opts: SubscribeOptions,
    private readonly handler: BusHandler,
    private readonly onClose: () => void,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const { stream } = this.bus.opts;
    const { group, consumer } = this.opts;
    while (!this.closed) {
      try {
        // Reclaim first: an event a dead consumer held must not wait behind an endless new stream.
        const now = Date.now();
        if (now - this.lastClaim >= this.bus.claimIdleMs / 2) {
          this.lastClaim = now;
          const r = (await this.conn.call('XAUTOCLAIM', stream, group, consumer, String(this.bus.claimIdleMs), this.claimCursor, 'COUNT', String(this.bus.batch))) as [string, Entry[], string[]?];
          this.claimCursor = r[0];
          for (const e of r[1]) if (!this.closed) await this.deliver(e, true);
          if (r[1].length > 0) continue;
        }
        const res = await this.conn.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', String(this.bus.batch), 'BLOCK', String(this.bus.blockMs), 'STREAMS', stream, '>');
        for (const e of streamEntries(res)) if (!this.closed) await this.deliver(e, false);
      } catch (err) {
        if (this.closed) return;
        // Connection trouble: ioredis reconnects; wait a little instead of spinning.
        await new Promise((r) => setTimeout(r, 100));
        void err;
      }
    }
  }

  private async deliver([id, fields]: Entry, redelivered: boolean): Promise<void> {
    const { stream } = this.bus.opts;
    const raw = fieldValue(fields, 'e');
    // A claimed entry that was trimmed from the stream comes back with no fields.
    if (raw === undefined) {
      await this.conn.call('XACK', stream, this.opts.group, id);
      if (fields !== null) this.bus.opts.onInvalid?.({ id, error: 'no "e" field', raw: JSON.stringify(fields) });
      return;
    }
    const parsed = parseBusEvent(raw);
    if (!parsed.ok) {
      await this.conn.call('XACK', stream, this.opts.group, id);
      this.bus.opts.onInvalid?.({ id, error: parsed.error, raw });
      return;
    }
    if (redelivered) {
      // XAUTOCLAIM counted this delivery; XPENDING tells how many there have been.
      const p = (await this.conn.call('XPENDING', stream, this.opts.group, id, id, '1')) as [string, string, number, number][];
      const deliveries = Number(p[0]?.[3] ?? 0);
      if (deliveries > (this.bus.opts.maxDeliveries ?? 5)) {
        await this.conn.call('XACK', stream, this.opts.group, id);
        this.bus.opts.onDeadLetter?.({ id, event: parsed.event, redelivered }, deliveries - 1);
        return;
      }
    }
    const types = this.opts.types;
    if (types === undefined || types.includes(parsed.event.type)) {
      const m: BusMessage = { id, event: parsed.event, redelivered };
      try {
        await this.handler(m);
      } catch (err) {
        this.bus.opts.onHandlerError?.(m, err);
        return; // stays pending; reclaimed after claimIdleMs
      }
    }
    await this.conn.call('XACK', stream, this.opts.group, id);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    // The blocking read returns within blockMs; then the connection can close cleanly.
    await this.loop;
    await this.conn.quit().catch(() => this.conn.disconnect());
  }
}

/**
 * XREADGROUP's reply: RESP2 gives [[stream, entries], ...]; ioredis 6 speaks RESP3, where the
 * map comes back flattened as [stream, entries, ...]. One stream is read, so take its entries.
 */
function streamEntries(res: unknown): Entry[] {
  if (!Array.isArray(res) || res.length === 0) return [];
  if (typeof res[0] === 'string') return (res[1] ?? []) as Entry[];
  return res.flatMap((pair: [string, Entry[]]) => pair[1]);
}

function fieldValue(fields: string[] | null, name: string): string | undefined {
  if (fields === null) return undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** Commands must wait through reconnects instead of failing after a few retries (blocking reads). */
export function connect(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}
