import type { JournalEntry, JournalPayloads, EntryType } from '../../engine/journal.ts';
import type { EventBus } from './bus.ts';
import type { BusEvent } from './events.ts';

/** A journal as the engine and the MCP session write it. */
export interface AppendOnlyJournal {
  append<T extends EntryType>(type: T, payload: JournalPayloads[T], ts: number): JournalEntry | Promise<JournalEntry>;
}

/**
 * Journal first, bus second: every entry is appended (and, for a durable journal, on disk) before
 * it is published, so an agent in another process never reacts to something the journal could
 * lose. Publishing is asynchronous; `drain()` awaits what is in flight, `onError` hears failures
 * (a bus outage does not stop the journal).
 */
export function journalToBus(journal: AppendOnlyJournal, bus: EventBus, source: string, onError: (err: unknown) => void = () => {}) {
  let inFlight: Promise<unknown>[] = [];
  const publish = (e: JournalEntry): void => {
    const p = bus.publish({ type: e.type, ts: e.ts, source, payload: e.payload } as BusEvent).catch(onError);
    inFlight.push(p);
  };
  return {
    append<T extends EntryType>(type: T, payload: JournalPayloads[T], ts: number): JournalEntry | Promise<JournalEntry> {
      const r = journal.append(type, payload, ts);
      if (r instanceof Promise) return r.then((e) => (publish(e), e));
      publish(r);
      return r;
    },
    async drain(): Promise<void> {
      while (inFlight.length > 0) {
        const batch = inFlight;
        inFlight = [];
        await Promise.all(batch);
      }
    },
  };
}
