/**
 * Child for journal-crash.test.ts: appends to a FileJournal in bursts (each burst shares one
 * fsync) and prints every acknowledged seq on stdout the moment its append resolves. Pipes are
 * synchronous on Linux, so a printed seq was acknowledged before the parent can kill us.
 * Usage: tsx journal-crash.child.ts <file> <seed>
 */
import { createRng } from '../../engine/rng.ts';
import { FileJournal } from '../../datasets/journal-store.ts';

const [path, seedArg] = process.argv.slice(2);
const rng = createRng(Number(seedArg));
const j = await FileJournal.open(path!, { keepEntries: false });
process.stdout.write(`ready ${j.head.seq} ${j.opened.truncatedBytes}\n`);
// Payloads of a few KB make batches span many pages, so a kill often lands inside a write.
const filler = 'x'.repeat(2000 + rng.int(3000));
for (let burst = 0; ; burst++) {
  const n = 1 + rng.int(30);
  const acks: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    acks.push(
      j.append('config_change', { key: `k${burst}.${i}`, after: filler, by: 'crash-test' }, burst).then((e) => {
        process.stdout.write(`ack ${e.seq}\n`);
      }),
    );
  }
  await Promise.all(acks);
}
