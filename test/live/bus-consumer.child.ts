/**
 * A bus consumer in its own process: joins GROUP as CONSUMER on STREAM and prints
 * "ok <id> <seq>" for every event it handled (before the ack). With DIE_AFTER=n it exits inside
 * the handler of its n-th event, before printing or acknowledging: that event and the rest of the
 * batch it had read stay pending for the other consumers to reclaim.
 */
import { RedisStreamBus } from '../../live/bus/redis-streams.ts';

const [url, stream, group, consumer, dieAfter, idleMs] = process.argv.slice(2) as [string, string, string, string, string, string];
const die = Number(dieAfter);
let handled = 0;
const bus = new RedisStreamBus({ url, stream, claimIdleMs: Number(idleMs), blockMs: 100, batch: 8 });
await bus.subscribe({ group, consumer }, async (m) => {
  if (die > 0 && ++handled >= die) process.exit(0);
  // Give the other consumers a chance to take a share of the stream.
  await new Promise((r) => setTimeout(r, 5));
  process.stdout.write(`ok ${m.id} ${(m.event.payload as { seq: number }).seq}\n`);
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => void bus.close().then(() => process.exit(0)));
