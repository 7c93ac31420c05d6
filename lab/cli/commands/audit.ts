import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { CheckFailedError, InputError } from '../../../engine/errors.ts';
import { verify, type JournalEntry } from '../../../engine/journal.ts';
import { openStore } from '../../../datasets/store.ts';
import { readJournal, readJournalFile } from '../../../datasets/journal-store.ts';
import { AUDIT_FORMATS, auditHistory, formatAudit, type AuditFormat } from '../../../reports/audit.ts';
import { readAuditParquet, writeAuditParquet } from '../../../reports/audit-parquet.ts';
import { decisionHtml, decisionView, type DecisionQuery } from '../../../reports/decision-view.ts';
import { addDbOption, addJsonOption, parseOptions, parseTime, printJson, resolveDbPath, writeOutFile } from '../options.ts';

/** Every export format: the decision records (jsonl, csv) or the chain itself, one row per entry (parquet). */
const FORMATS = [...AUDIT_FORMATS, 'parquet'] as const;

/**
 * `cs audit export`: the decision history of a run journal (store) or a live JSONL journal, one
 * record per decision with the fate of its orders and the seq/hash of every journal entry used.
 * The chain is verified first; the output file appears whole or not at all.
 */
const Options = z
  .object({
    run: z.string().min(1).optional(),
    file: z.string().min(1).optional(),
    db: z.string().min(1).optional(),
    format: z.enum(FORMATS).default('jsonl'),
    out: z.string().min(1).optional(),
    json: z.boolean().optional(),
  })
  .strict()
  .refine((o) => Boolean(o.run) !== Boolean(o.file), { message: 'give exactly one of --run <run-id> or --file <journal.jsonl>', path: ['file'] })
  .refine((o) => o.format !== 'parquet' || o.out, { message: 'Parquet is binary: give --out <file.parquet>', path: ['out'] });

async function load(opts: { run?: string | undefined; file?: string | undefined; db?: string | undefined }): Promise<{ label: string; entries: JournalEntry[] }> {
  if (opts.file?.toLowerCase().endsWith('.parquet')) return { label: opts.file, entries: (await readAuditParquet(opts.file)).entries };
  if (opts.file) return { label: opts.file, entries: (await readJournalFile(opts.file)).entries };
  const db = resolveDbPath(opts.db);
  if (!existsSync(db)) throw new InputError(`--db ${db}: no such store`);
  const store = await openStore(db, { readOnly: true });
  try {
    const entries = await readJournal(store, opts.run!);
    if (entries.length === 0) throw new InputError(`${db}: no journal for run "${opts.run}" (cs journal ls lists them)`);
    return { label: `run ${opts.run}`, entries };
  } finally {
    await store.close();
  }
}

export function register(program: Command): void {
  const audit = program.command('audit').description('audit exports of the decision journal');
  const cmd = audit
    .command('export')
    .description('the decision history (why, risk checks, rejections, fills) with journal seq/hash references, as JSONL or CSV; or the hash-chained entries themselves as Parquet')
    .option('--run <run-id>', 'a run journal in the DuckDB store')
    .option('--file <jsonl>', 'a live JSONL journal file (or an audit .parquet file)')
    .addOption(new Option('--format <format>', 'output format').choices([...FORMATS]).default('jsonl'))
    .option('--out <file>', 'write here (default: stdout; required for parquet)')
    .addHelpText('after', [
      '',
      'jsonl/csv: one record per decision. parquet: one row per journal entry with the chain columns',
      '(seq, ts, type, payload JSON, prev_hash, hash) plus time, decision_id, order_id, agent_id, symbol;',
      'the chain head is kept in the file\'s metadata, so `cs audit verify x.parquet` re-checks it from the file alone.',
      'Example: cs audit export --run r1 --format csv --out decisions.csv',
      '         cs audit export --run r1 --format parquet --out audit.parquet',
    ].join('\n'));
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (raw: Record<string, unknown>) => {
    const opts = parseOptions(Options, raw);
    const { label, entries } = await load(opts);
    if (opts.format === 'parquet') {
      const r = await writeAuditParquet(entries, opts.out!, { runId: opts.run ?? null, source: label });
      if (opts.json) printJson({ source: label, format: 'parquet', out: opts.out, journalEntries: r.entries, head: r.head });
      else process.stdout.write(`wrote ${r.entries} journal entries of ${label} (head seq ${r.head.seq} ${r.head.hash}) to ${opts.out} (parquet)\n`);
      return;
    }
    const history = auditHistory(entries, label, opts.run ?? null);
    const text = formatAudit(history, opts.format as AuditFormat);
    if (opts.out) await writeOutFile(opts.out, text);
    const summary = { source: label, format: opts.format, out: opts.out ?? null, records: history.records.length, journalEntries: history.entries, head: history.head };
    if (opts.json) printJson(opts.out ? summary : { ...summary, history });
    else if (opts.out) process.stdout.write(`wrote ${history.records.length} decision records of ${label} (${history.entries} entries, head seq ${history.head.seq} ${history.head.hash}) to ${opts.out} (${opts.format})\n`);
    else process.stdout.write(text);
  });

  registerVerify(audit);
  registerDecision(audit);
}

const VerifyOptions = z.object({ json: z.boolean().optional() }).strict();

function registerVerify(audit: Command): void {
  const cmd = audit
    .command('verify')
    .argument('<file>', 'an audit .parquet file (cs audit export --format parquet)')
    .description('re-check the hash chain of an audit Parquet export from the file alone: every hash, every link, and the head recorded at export');
  addJsonOption(cmd);
  cmd.action(async (file: string, raw: Record<string, unknown>) => {
    const opts = parseOptions(VerifyOptions, raw);
    if (!file.toLowerCase().endsWith('.parquet')) throw new InputError(`${file}: not a .parquet file (a JSONL journal is checked with cs journal verify --file)`);
    if (!existsSync(file)) throw new InputError(`${file}: no such file`);
    const f = await readAuditParquet(file);
    const v = verify(f.entries, f.head ? { expectedHead: f.head } : {});
    if (opts.json) printJson({ source: file, runId: f.runId, recordedHead: f.head, ...v });
    else if (v.ok) process.stdout.write(`ok ${file}: ${v.count} entries, head seq ${v.head.seq} ${v.head.hash}${f.head ? ' (matches the head recorded at export)' : ' (no head recorded in the file)'}\n`);
    if (!v.ok) throw new CheckFailedError(`${file}: ${v.problem} at row ${v.index + 1}, ${v.message}`);
  });
}

const DecisionOptions = z
  .object({
    run: z.string().min(1).optional(),
    file: z.string().min(1).optional(),
    db: z.string().min(1).optional(),
    order: z.string().min(1).optional(),
    at: z.string().min(1).optional(),
    html: z.string().min(1).optional(),
    json: z.boolean().optional(),
  })
  .strict()
  .refine((o) => Boolean(o.run) !== Boolean(o.file), { message: 'give exactly one of --run <run-id> or --file <journal.jsonl|audit.parquet>', path: ['file'] });

function registerDecision(audit: Command): void {
  const cmd = audit
    .command('decision')
    .argument('[decision-id]', 'the decision to show (or pick it with --order or --at)')
    .description('why did the agent trade? One decision: factors and weights, confidence, reasoning, orders, risk rejections, fills, outcome and its hash-chain links')
    .option('--run <run-id>', 'a run journal in the DuckDB store')
    .option('--file <file>', 'a live JSONL journal file or an audit .parquet export')
    .option('--order <order-id>', 'the decision that sent this order')
    .option('--at <time>', 'the last decision at or before this time (ISO 8601 or epoch ms)')
    .option('--html <out.html>', 'write a self-contained HTML page here')
    .addHelpText('after', '\nExample: cs audit decision d-42 --run r1 --html why.html\n         cs audit decision --order o-7 --file live.jsonl --html why.html');
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (decisionId: string | undefined, raw: Record<string, unknown>) => {
    const opts = parseOptions(DecisionOptions, raw);
    const given = [decisionId, opts.order, opts.at].filter((x) => x !== undefined).length;
    if (given !== 1) throw new InputError('give exactly one of <decision-id>, --order <order-id> or --at <time>');
    const query: DecisionQuery = decisionId !== undefined ? { decisionId } : opts.order !== undefined ? { orderId: opts.order } : { ts: parseTime(opts.at!, '--at') };
    const { label, entries } = await load(opts);
    const view = decisionView(entries, query, label, opts.run ?? null);
    if (opts.html) await writeOutFile(opts.html, decisionHtml(view));
    if (opts.json) printJson({ ...view, html: opts.html ?? null });
    else {
      const r = view.record;
      process.stdout.write(`${r.kind === 'decision' ? `decision ${r.decisionId}` : `order ${r.orders[0]?.id} (no journaled decision)`}: ${r.action} ${r.symbol} by ${r.agentId}, confidence ${r.confidence ?? '–'}; ` +
        `${r.orders.map((o) => `${o.id} ${o.status}`).join(', ') || 'no orders'}; journal seq ${r.evidenceSeqs.join(', ')} (chain verified, head seq ${view.chain.head.seq})` +
        `${opts.html ? `; wrote ${opts.html}` : ''}\n`);
    }
  });
}
