import type { Command } from 'commander';
import { z } from 'zod';
import { CheckFailedError, InputError } from '../../../engine/errors.ts';
import { verify, why, type JournalEntry, type WhyReport } from '../../../engine/journal.ts';
import { openStore, type Store } from '../../../datasets/store.ts';
import { exportJournal, listJournalRuns, readJournal, readJournalFile } from '../../../datasets/journal-store.ts';
import { addDbOption, addJsonOption, parseOptions, parseTime, printJson, resolveDbPath } from '../options.ts';

/**
 * `cs journal verify|why|export|ls`: the decision audit journal of a backtest run (DuckDB table
 * `journal`, chosen by --run) or of a live JSONL journal file (--file).
 */
const Source = z
  .object({
    db: z.string().min(1).optional(),
    run: z.string().min(1).optional(),
    file: z.string().min(1).optional(),
    json: z.boolean().optional(),
  })
  .refine((o) => !(o.file && o.run), { message: '--run and --file exclude each other', path: ['file'] });

type SourceOpts = z.infer<typeof Source>;

async function withStore<T>(opts: SourceOpts, fn: (s: Store) => Promise<T>): Promise<T> {
  const store = await openStore(resolveDbPath(opts.db), { readOnly: true });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

interface Loaded {
  readonly label: string;
  readonly entries: JournalEntry[];
  readonly tornBytes: number;
}

/** The journals named by the options: one file, one run, or every run in the store. */
async function load(opts: SourceOpts): Promise<Loaded[]> {
  if (opts.file) {
    const r = await readJournalFile(opts.file);
    return [{ label: opts.file, entries: r.entries, tornBytes: r.tornBytes }];
  }
  return withStore(opts, async (s) => {
    const runs = opts.run ? [opts.run] : (await listJournalRuns(s)).map((r) => r.runId);
    if (runs.length === 0) throw new InputError(`${s.path}: no journal in this store (run a backtest with a journal first, or use --file)`);
    const out: Loaded[] = [];
    for (const run of runs) {
      const entries = await readJournal(s, run);
      if (entries.length === 0) throw new InputError(`${s.path}: no journal for run "${run}"`);
      out.push({ label: `run ${run}`, entries, tornBytes: 0 });
    }
    return out;
  });
}

function sourceOptions(cmd: Command): Command {
  addDbOption(cmd);
  addJsonOption(cmd);
  return cmd
    .option('--run <id>', 'run id in the DuckDB store (default: every run for verify; the only run otherwise)')
    .option('--file <jsonl>', 'a live JSONL journal file instead of the store');
}

export function register(program: Command): void {
  const journal = program.command('journal').description('verify, explain and export the hash-chained decision journal');

  sourceOptions(
    journal
      .command('verify')
      .description('check the hash chain; exit 1 and say where when an entry was changed, removed, inserted or reordered'),
  ).action(async (raw: Record<string, unknown>) => {
    const opts = parseOptions(Source, raw);
    const results = (await load(opts)).map((j) => ({ source: j.label, tornBytes: j.tornBytes, ...verify(j.entries) }));
    const bad = results.filter((r) => !r.ok);
    if (opts.json) printJson({ ok: bad.length === 0, results });
    else {
      for (const r of results) {
        if (r.ok) process.stdout.write(`ok ${r.source}: ${r.count} entries, head seq ${r.head.seq} ${r.head.hash}\n`);
        if (r.tornBytes > 0) process.stdout.write(`note ${r.source}: a torn last line (${r.tornBytes} bytes, an unfinished write) follows the chain; opening the journal for writing cuts it\n`);
      }
    }
    if (bad.length) {
      throw new CheckFailedError(
        bad.map((r) => (r.ok ? '' : `${r.source}: ${r.problem} at ${opts.file ? 'line' : 'entry'} ${r.index + 1}, ${r.message}`)).join('; '),
      );
    }
  });

  sourceOptions(
    journal
      .command('why')
      .argument('<order-or-time>', 'an order id, or a time (ISO 8601 or epoch ms): the last order submitted by then')
      .description('the decision behind an order: factors, weights, confidence, reasoning, risk checks, fills'),
  ).action(async (query: string, raw: Record<string, unknown>) => {
    const opts = parseOptions(Source, raw);
    const journals = await load(opts);
    let found: { label: string; report: WhyReport } | null = null;
    for (const j of journals) {
      const report = why(j.entries, { orderId: query });
      if (report) {
        found = { label: j.label, report };
        break;
      }
    }
    if (!found) {
      let ts: number;
      try {
        ts = parseTime(query, 'order-or-time');
      } catch {
        throw new InputError(`no order "${query}" in ${journals.map((j) => j.label).join(', ')}`);
      }
      if (journals.length > 1) throw new InputError(`a time query needs one journal: give --run (runs: ${journals.map((j) => j.label.slice(4)).join(', ')})`);
      const report = why(journals[0]!.entries, { ts });
      if (!report) throw new InputError(`no order submitted at or before ${new Date(ts).toISOString()} in ${journals[0]!.label}`);
      found = { label: journals[0]!.label, report };
    }
    if (opts.json) printJson({ source: found.label, ...found.report });
    else process.stdout.write(formatWhy(found.label, found.report));
  });

  const ExportOpts = z.object({
    format: z.enum(['jsonl', 'csv', 'parquet']),
    out: z.string().min(1),
    db: z.string().min(1).optional(),
    run: z.string().min(1).optional(),
    file: z.string().min(1).optional(),
    json: z.boolean().optional(),
  });
  sourceOptions(
    journal
      .command('export')
      .description('write a journal as JSONL, CSV or Parquet (payload as JSON text)')
      .requiredOption('--format <format>', 'jsonl | csv | parquet')
      .requiredOption('--out <file>', 'output file'),
  ).action(async (raw: Record<string, unknown>) => {
    const opts = parseOptions(ExportOpts, raw);
    const journals = await load(opts);
    if (journals.length > 1) throw new InputError(`the store has ${journals.length} runs: choose one with --run`);
    const j = journals[0]!;
    await exportJournal(j.entries, opts.format, opts.out, opts.run ?? '');
    if (opts.json) printJson({ source: j.label, format: opts.format, out: opts.out, entries: j.entries.length });
    else process.stdout.write(`wrote ${j.entries.length} entries of ${j.label} to ${opts.out} (${opts.format})\n`);
  });

  const ls = journal.command('ls').description('list the runs that have a journal in the store');
  addDbOption(ls);
  addJsonOption(ls);
  ls.action(async (raw: Record<string, unknown>) => {
    const opts = parseOptions(Source, raw);
    const runs = await withStore(opts, (s) => listJournalRuns(s));
    if (opts.json) printJson(runs);
    else if (runs.length === 0) process.stdout.write('no journals\n');
    else for (const r of runs) process.stdout.write(`${r.runId}\t${r.entries} entries\t${iso(r.firstTs)} … ${iso(r.lastTs)}\n`);
  });
}

const iso = (ts: number): string => new Date(ts).toISOString();

function formatWhy(label: string, r: WhyReport): string {
  const lines: string[] = [`order ${r.orderId} (${label})`];
  const o = r.order;
  if (o) {
    lines.push(`  ${o.side} ${o.amount} ${o.symbol} ${o.type}${o.price !== undefined ? ` @ ${o.price}` : ''} by ${o.agentId}`);
  }
  const d = r.decision;
  if (d) {
    lines.push(`decision ${d.id}: ${d.action} ${d.symbol}, confidence ${d.confidence}`);
    for (const [k, v] of Object.entries(d.factors)) lines.push(`  factor ${k} = ${String(v)}${d.weights[k] !== undefined ? ` (weight ${d.weights[k]})` : ''}`);
    for (const [k, w] of Object.entries(d.weights)) if (!(k in d.factors)) lines.push(`  weight ${k} = ${w}`);
    if (d.reasoning) lines.push(`  reasoning: ${d.reasoning}`);
  } else lines.push('decision: none journaled (every order should have one)');
  if (r.accepted) {
    const c = r.accepted.checks;
    lines.push(`accepted at ${iso(r.accepted.ts)}${c === null ? ' (the entry does not list the risk checks)' : ` after ${c.length} risk checks: ${c.join(', ') || '(none configured)'}`}`);
  }
  if (r.rejected) lines.push(`risk: REJECTED at ${iso(r.rejected.ts)} by ${r.rejected.breach.limit} (${r.rejected.breach.scope}): ${r.rejected.breach.message}`);
  for (const f of r.fills) lines.push(`fill: ${f.side} ${f.amount} @ ${f.price}, fee ${f.fee} (${f.liquidity}) at ${iso(f.ts)}`);
  if (r.cancelled) lines.push(`cancelled at ${iso(r.cancelled.ts)}${r.cancelled.reason ? `: ${r.cancelled.reason}` : ''}`);
  lines.push(`journal entries: seq ${r.seqs.join(', ')}`);
  return lines.join('\n') + '\n';
}
