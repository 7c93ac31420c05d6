import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '../../engine/rng.ts';
import { verify } from '../../engine/journal.ts';
import { FileJournal, readJournalFile } from '../../datasets/journal-store.ts';

const CHILD = fileURLToPath(new URL('./journal-crash.child.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cs-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run the child until it has appended for `delayMs`, SIGKILL it, and return the seqs it acknowledged. */
function runAndKill(path: string, seed: number, delayMs: number): Promise<{ acked: number[]; startSeq: number; truncated: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (timer === undefined && out.includes('\n')) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`child exited (${code}) before the kill: ${err}`));
      const lines = out.split('\n');
      const [, start, truncated] = lines[0]!.split(' ').map(Number);
      // A line cut mid-print is not an acknowledgement we can read; every complete "ack N" is.
      const acked = lines.slice(1).filter((l) => /^ack \d+$/.test(l)).map((l) => Number(l.slice(4)));
      resolve({ acked, startSeq: start!, truncated: truncated! });
    });
  });
}

describe('journal file under SIGKILL', () => {
  it('reopens as a valid prefix holding every acknowledged entry, 22 kills in a row', async () => {
    const path = join(dir, 'crash.jsonl');
    const rng = createRng(20241125);
    let prevHead = 0;
    let lastAcked = 0;
    let tornByKill = 0;
    const KILLS = 22;
    for (let k = 0; k < KILLS; k++) {
      const run = await runAndKill(path, k, 5 + rng.int(120));
      // The child continued the chain exactly where the last reopen left it.
      expect(run.startSeq).toBe(prevHead);
      const acked = run.acked;
      for (let i = 1; i < acked.length; i++) expect(acked[i]).toBe(acked[i - 1]! + 1);
      if (acked.length) lastAcked = acked.at(-1)!;

      // SIGKILL rarely tears a line (one write() into the page cache completes), a power cut
      // does: every third round also appends half a line, as a torn write would leave it.
      const injected = k % 3 === 2 ? '{"seq":' + (prevHead + 999) + ',"ts":1,"type":"cancel","payload":{"orde' : '';
      if (injected) appendFileSync(path, injected);
      const raw = await readJournalFile(path);
      if (raw.tornBytes > injected.length) tornByKill++;
      const j = await FileJournal.open(path, { keepEntries: false });
      await j.close();
      expect(j.opened.truncatedBytes).toBe(raw.tornBytes);
      if (injected) expect(j.opened.truncatedBytes).toBeGreaterThanOrEqual(injected.length);
      const after = await readJournalFile(path);
      expect(after.tornBytes).toBe(0);
      expect(statSync(path).size).toBe(raw.validBytes);
      expect(verify(after.entries).ok).toBe(true);
      // Every acknowledged entry is there (seqs are contiguous from 1, so the head bounds them).
      expect(j.head.seq).toBeGreaterThanOrEqual(lastAcked);
      expect(after.entries.length).toBe(j.head.seq);
      prevHead = j.head.seq;
    }
    expect(lastAcked).toBeGreaterThan(0);
    console.info(`journal crash test: ${KILLS} kills, ${prevHead} entries, ${lastAcked} acknowledged, ${tornByKill} lines torn by a kill itself`);
  }, 180_000);
});
