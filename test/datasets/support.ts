import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BarColumns } from '../../engine/types.ts';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
export const SHARED = resolve(ROOT, '../shared/datasets');

/** Real data is required, not optional: a missing file fails loudly instead of skipping. */
export function shared(rel: string): string {
  const p = join(SHARED, rel);
  if (!existsSync(p)) throw new Error(`test data missing: ${p} (see ../shared/datasets/README.md)`);
  return p;
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `cs-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function bars(rows: readonly (readonly [number, number, number, number, number, number])[], timeframeMs = 60_000, symbol = 'BTC/USDT'): BarColumns {
  const col = (j: number) => Float64Array.from(rows, (r) => r[j]!);
  return { symbol, timeframeMs, length: rows.length, ts: col(0), open: col(1), high: col(2), low: col(3), close: col(4), volume: col(5) };
}

/**
 * An independent reading of a simple `timestamp,open,high,low,close,volume` CSV with
 * 'YYYY-MM-DD HH:MM:SS' UTC times: plain string splitting and Date.UTC, no DuckDB involved.
 */
export function readSimpleCsv(file: string): Map<number, [number, number, number, number, number]> {
  const out = new Map<number, [number, number, number, number, number]>();
  const lines = readFileSync(file, 'utf8').trim().split(/\r?\n/).slice(1);
  for (const line of lines) {
    const [t, o, h, l, c, v] = line.split(',');
    const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})/.exec(t!)!;
    const ts = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
    out.set(ts, [Number(o), Number(h), Number(l), Number(c), Number(v)]);
  }
  return out;
}
