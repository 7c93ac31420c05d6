import type { BusEvent, BusEventType } from './events.ts';

/**
 * One interface for the in-process bus (default) and the Redis Streams adapter, with consumer-group
 * semantics in both:
 * - every subscriber GROUP sees every event; inside a group each event goes to ONE consumer;
 * - delivery is at least once: an event is acknowledged when the handler returns (or its promise
 *   resolves); a handler that throws leaves it pending, and it is delivered again (in process: to
 *   the next consumer at once; over Redis: reclaimed after `claimIdleMs` by a live consumer, which
 *   is also what happens to the pending events of a consumer that died);
 * - events are delivered in publish order per consumer; handlers should be idempotent by `id`.
 */
export interface BusMessage {
  /** Stream id (Redis: "<ms>-<n>"; in process: a counter in the same shape). */
  readonly id: string;
  readonly event: BusEvent;
  /** True when this delivery is a redelivery (reclaimed or retried). */
  readonly redelivered: boolean;
}

export type BusHandler = (m: BusMessage) => void | Promise<void>;

export interface SubscribeOptions {
  readonly group: string;
  readonly consumer: string;
  /** Only these event types reach the handler (others are acknowledged unseen). */
  readonly types?: readonly BusEventType[];
}

export interface Subscription {
  /** Stop receiving; unacknowledged events stay pending for the group. */
  close(): Promise<void>;
}

export interface EventBus {
  /** Resolves with the event's id once the bus holds it. */
  publish(event: BusEvent): Promise<string>;
  subscribe(opts: SubscribeOptions, handler: BusHandler): Promise<Subscription>;
  close(): Promise<void>;
}

/** A message the bus could not accept (bad JSON, wrong shape): acknowledged and reported, never handled. */
export interface InvalidMessage {
  readonly id: string;
  readonly error: string;
  readonly raw: string;
}
