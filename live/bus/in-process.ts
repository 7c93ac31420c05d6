import type { BusEvent } from './events.ts';
import type { BusHandler, BusMessage, EventBus, SubscribeOptions, Subscription } from './bus.ts';

interface Consumer {
  readonly name: string;
  readonly opts: SubscribeOptions;
  readonly handler: BusHandler;
  open: boolean;
}

interface Group {
  readonly consumers: Consumer[];
  readonly queue: BusMessage[];
  next: number;
  running: boolean;
}

export interface InProcessBusOptions {
  /** Deliveries of one event before it is given up on (reported to `onDeadLetter`); default 5. */
  readonly maxDeliveries?: number;
  readonly onDeadLetter?: (m: BusMessage, error: unknown) => void;
}

/**
 * The default bus: consumer groups in memory. A group created after events were published starts
 * from the next event (nothing is retained for groups that do not exist yet).
 * Dispatch is asynchronous (a microtask after publish), so a handler never runs inside `publish`.
 */
export class InProcessBus implements EventBus {
  private readonly groups = new Map<string, Group>();
  private seq = 0;
  private closed = false;
  private readonly maxDeliveries: number;

  constructor(private readonly opts: InProcessBusOptions = {}) {
    this.maxDeliveries = opts.maxDeliveries ?? 5;
  }

  async publish(event: BusEvent): Promise<string> {
    if (this.closed) throw new Error('bus is closed');
    const id = `0-${++this.seq}`;
    for (const g of this.groups.values()) {
      g.queue.push({ id, event, redelivered: false });
      this.pump(g);
    }
    return id;
  }

  async subscribe(opts: SubscribeOptions, handler: BusHandler): Promise<Subscription> {
    if (this.closed) throw new Error('bus is closed');
    let g = this.groups.get(opts.group);
    if (!g) this.groups.set(opts.group, (g = { consumers: [], queue: [], next: 0, running: false }));
    const c: Consumer = { name: opts.consumer, opts, handler, open: true };
    g.consumers.push(c);
    this.pump(g);
    const group = g;
    return {
      close: async () => {
        c.open = false;
        const i = group.consumers.indexOf(c);
        if (i >= 0) group.consumers.splice(i, 1);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const g of this.groups.values()) g.consumers.length = 0;
  }

  /** One delivery at a time per group, round robin over its consumers. */
  private pump(g: Group): void {
    if (g.running) return;
    g.running = true;
    queueMicrotask(() => void this.drain(g));
  }

  private async drain(g: Group): Promise<void> {
    const attempts = new Map<string, number>();
    while (g.queue.length > 0 && g.consumers.length > 0 && !this.closed) {
      const m = g.queue[0]!;
      const c = g.consumers[g.next++ % g.consumers.length]!;
      const types = c.opts.types;
      if (types !== undefined && !types.includes(m.event.type)) {
        g.queue.shift();
        continue;
      }
      try {
        await c.handler(m);
        g.queue.shift();
      } catch (err) {
        const n = (attempts.get(m.id) ?? 0) + 1;
        attempts.set(m.id, n);
        g.queue.shift();
        if (n >= this.maxDeliveries) this.opts.onDeadLetter?.(m, err);
        else g.queue.unshift({ ...m, redelivered: true });
      }
    }
    g.running = false;
  }
}
