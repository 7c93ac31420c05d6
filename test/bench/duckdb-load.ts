/**
 * Benchmark 3 of issue 2: DuckDB → typed arrays, 10 M bars, target < 1 s.
 *
 *   npx tsx test/bench/duckdb-load.ts [rows=10000000] [--baseline-rows N]
 *
 * Prints one JSON line per figure; `ratio` = baseline seconds / figure seconds (a speed-up over
 * DuckDB's getColumns(), measured in this process on the same data). Also prints the cost of
 * merely allocating and touching the output arrays ("floor"): every path pays it, and on a fresh
 * VM it dominates (first-touch page faults). The chunked scan reuses its buffers, so it does not
 * pay that cost per load: it shows what the cache itself costs. The `-thp` figures repeat the
 * full loads in a child process started with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (transparent
 * huge pages for large allocations), which cuts that floor.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type LoadBuffer } from '../../datasets/store.ts';
import { allocBarArrays, indexFileOf, readArrowCache, type CacheIndex } from '../../datasets/columns.ts';

const args = process.argv.slice(2);

// Child mode: load an existing cache file in a fresh process (run with other malloc settings).
const childAt = args.indexOf('--child-load');
if (childAt >= 0) {
  const file = args[childAt + 1]!;
  const idx = JSON.parse(readFileSync(indexFileOf(file), 'utf8')) as CacheIndex;
  let t = performance.now();
  let c0 = process.cpuUsage();
  const a = allocBarArrays(idx.rows, false);
  for (const c of Object.values(a)) c.fill(1);
  const out: Record<string, number> = { floor: (performance.now() - t) / 1000, floorCpu: cpuSince(c0) };
  for (const shared of [false, true]) {
    t = performance.now();
    c0 = process.cpuUsage();
    const r = readArrowCache(file, { key: idx.key, version: idx.version }, shared);
    if (!r || r.columns.ts.length !== idx.rows) throw new Error('child: cache unreadable');
    out[shared ? 'shared' : 'plain'] = (performance.now() - t) / 1000;
    out[shared ? 'sharedCpu' : 'plainCpu'] = cpuSince(c0);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

const rows = Number(args.find((a) => /^\d+$/.test(a)) ?? 10_000_000);
const bi = args.indexOf('--baseline-rows');
const baselineRows = bi >= 0 ? Number(args[bi + 1]) : rows;
const key = { exchange: 'bench', symbol: 'BTC/USDT', timeframe: '1m' };
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/**
 * CPU seconds (user + system, all threads of this process) since `since`: with two cores shared by
 * several jobs, wall time measures the queue as much as the work; this says what the work cost.
 */
function cpuSince(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}
let cpu0 = process.cpuUsage();

function emit(bench: string, seconds: number, n: number, baseline?: number, cpuSec: number = cpuSince(cpu0)): void {
  const line: Record<string, unknown> = { bench, value: round(seconds), unit: 's', rows: n, barsPerSec: Math.round(n / seconds), cpuSec: round(cpuSec) };
  if (baseline !== undefined) Object.assign(line, { baseline: round(baseline), ratio: round(baseline / seconds) });
  process.stdout.write(JSON.stringify(line) + '\n');
}
const round = (x: number) => Math.round(x * 1000) / 1000;

const dir = mkdtempSync(join(tmpdir(), 'cs-bench-duckdb-'));
try {
  const store = await openStore(join(dir, 'bench.duckdb'));
  // A random walk, written through the public API (so the write path is measured too).
  {
    const a = allocBarArrays(rows, false);
    let p = 30_000;
    let s = 12345;
    for (let i = 0; i < rows; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const r = (s / 4294967296 - 0.5) * 0.002;
      const o = p;
      p = p * (1 + r);
      a.ts[i] = 1_500_000_000_000 + i * 60_000;
      a.open[i] = o;
      a.close[i] = p;
      a.high[i] = Math.max(o, p) * 1.0005;
      a.low[i] = Math.min(o, p) * 0.9995;
      a.volume[i] = (s & 0xffff) / 100;
    }
    const t0 = performance.now();
    cpu0 = process.cpuUsage();
    await store.writeBars(key, { length: rows, ...a });
    emit('duckdb-load/write-bars', (performance.now() - t0) / 1000, rows);
  }
  gc();

  // Floor: allocate and touch as many bytes as the result.
  cpu0 = process.cpuUsage();
  let t0 = performance.now();
  {
    const a = allocBarArrays(rows, false);
    for (const c of Object.values(a)) c.fill(1);
  }
  const floor = (performance.now() - t0) / 1000;
  const floorCpu = cpuSince(cpu0);
  gc();

  // (0) baseline: getColumns(), one JS value per cell, then into Float64Arrays.
  let baseline: number;
  {
    cpu0 = process.cpuUsage();
    t0 = performance.now();
    const baseRows = await store.withConnection(async (conn) => {
      const r = await conn.runAndReadAll(
        `SELECT ts::DOUBLE, open, high, low, close, volume FROM bars WHERE exchange = 'bench' ORDER BY ts LIMIT ${baselineRows}`,
      );
      const cols = r.getColumns();
      const out = cols.map((c) => Float64Array.from(c as number[]));
      return out[0]!.length;
    });
    baseline = ((performance.now() - t0) / 1000) * (rows / baseRows);
    emit(`duckdb-load/getColumns${baseRows !== rows ? `-extrapolated-from-${baseRows}` : ''}`, baseline, rows, baseline, cpuSince(cpu0) * (rows / baseRows));
  }
  gc();
  emit('duckdb-load/floor-alloc-touch', floor, rows, baseline, floorCpu);

  // (a) streaming 2,048-row chunks, copying each DOUBLE vector's Float64Array.
  cpu0 = process.cpuUsage();
  t0 = performance.now();
  await store.loadBars(key, {}, { cache: false });
  emit('duckdb-load/stream-chunks', (performance.now() - t0) / 1000, rows, baseline);
  gc();

  // (b) Arrow IPC cache: first load builds it (stream + hash + write), later loads map it.
  cpu0 = process.cpuUsage();
  t0 = performance.now();
  const first = await store.loadBars(key);
  emit('duckdb-load/arrow-cache-build', (performance.now() - t0) / 1000, rows, baseline);
  const firstHash = first.datasetHash;
  gc();
  for (const shared of [false, true]) {
    for (let rep = 0; rep < 2; rep++) {
      cpu0 = process.cpuUsage();
      t0 = performance.now();
      const r = await store.loadBars(key, {}, { shared });
      const sec = (performance.now() - t0) / 1000;
      if (r.datasetHash !== firstHash || r.columns.length !== rows) throw new Error('cache returned different data');
      emit(`duckdb-load/arrow-cache${shared ? '-shared' : ''}${rep ? '-again' : ''}`, sec, rows, baseline);
      gc();
    }
  }
  // (c) chunked scan of the same cache: bounded memory, buffers reused (no fresh pages per load).
  for (const chunkRows of [1 << 20, 1 << 16]) {
    cpu0 = process.cpuUsage();
    t0 = performance.now();
    let n = 0;
    let sum = 0;
    for await (const c of store.scanBars(key, {}, { chunkRows })) {
      n += c.length;
      sum += c.close[c.length - 1]!;
    }
    const sec = (performance.now() - t0) / 1000;
    if (n !== rows || !Number.isFinite(sum)) throw new Error(`scan returned ${n} rows`);
    emit(`duckdb-load/arrow-cache-scan-chunks-${chunkRows}`, sec, rows, baseline);
  }
  // (c2) full loads through one kept buffer (`reuse`): the first pays the fresh pages (the floor
  // above), a reload into the same resident buffer does not. The gap between the two is the
  // page-fault cost; the reload is what the cache load itself costs.
  {
    const reuse: LoadBuffer = {};
    for (const rep of ['first', 'reload', 'reload-again']) {
      cpu0 = process.cpuUsage();
      t0 = performance.now();
      const r = await store.loadBars(key, {}, { reuse });
      const sec = (performance.now() - t0) / 1000;
      if (r.datasetHash !== firstHash || r.columns.length !== rows || r.columns.close.buffer !== reuse.bytes?.buffer) throw new Error('reuse load returned other data');
      emit(`duckdb-load/arrow-cache-reuse-${rep}`, sec, rows, baseline);
    }
  }
  // (d) the same cache loads in a fresh process whose malloc asks for transparent huge pages:
  // 512x fewer first-touch page faults, the floor every full load pays.
  const cacheDir = join(dir, '.cs-cache', 'bench.duckdb');
  const arrow = readdirSync(cacheDir).find((f) => f.endsWith('.arrow'))!;
  const child = JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child-load', join(cacheDir, arrow)], {
      env: { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' },
      encoding: 'utf8',
    }),
  ) as Record<'floor' | 'plain' | 'shared' | 'floorCpu' | 'plainCpu' | 'sharedCpu', number>;
  emit('duckdb-load/floor-alloc-touch-thp', child.floor, rows, baseline, child.floorCpu);
  emit('duckdb-load/arrow-cache-thp', child.plain, rows, baseline, child.plainCpu);
  emit('duckdb-load/arrow-cache-shared-thp', child.shared, rows, baseline, child.sharedCpu);
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
