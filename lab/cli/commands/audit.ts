import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { InputError } from '../../../engine/errors.ts';
import type { JournalEntry } from '../../../engine/journal.ts';
import { openStore } from '../../../datasets/store.ts';
import { readJournal, readJournalFile } from '../../../datasets/journal-store.ts';
import { AUDIT_FORMATS, auditHistory, formatAudit, type AuditFormat } from '../../../reports/audit.ts';
import { addDbOption, addJsonOption, printJson, resolveDbPath, writeOutFile } from '../options.ts';

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
    format: z.enum(AUDIT_FORMATS as [AuditFormat, ...AuditFormat[]]).default('jsonl'),
    out: z.string().min(1).optional(),
    json: z.boolean().optional(),
  })
  .strict()
  .refine((o) => Boolean(o.run) !== Boolean(o.file), { message: 'give exactly one of --run <run-id> or --file <journal.jsonl>', path: ['file'] });

async function load(opts: z.infer<typeof Options>): Promise<{ label: string; entries: JournalEntry[] }> {
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
    .description('the decision history (why, risk checks, rejections, fills) with journal seq/hash references, as JSONL or CSV')
    .option('--run <run-id>', 'a run journal in the DuckDB store')
    .option('--file <jsonl>', 'a live JSONL journal file')
    .addOption(new Option('--format <format>', 'output format').choices([...AUDIT_FORMATS]).default('jsonl'))
    .option('--out <file>', 'write here (default: stdout)')
    .addHelpText('after', '\nThe raw entries themselves (every field, for re-verification elsewhere): cs journal export.\nExample: cs audit export --run r1 --format csv --out decisions.csv');
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (raw: Record<string, unknown>) => {
    const parsed = Options.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new InputError(`--${String(i.path[0] ?? '')}: ${i.message}`);
    }
    const opts = parsed.data;
    const { label, entries } = await load(opts);
    const history = auditHistory(entries, label, opts.run ?? null);
    const text = formatAudit(history, opts.format);
    if (opts.out) await writeOutFile(opts.out, text);
    const summary = { source: label, format: opts.format, out: opts.out ?? null, records: history.records.length, journalEntries: history.entries, head: history.head };
    if (opts.json) printJson(opts.out ? summary : { ...summary, history });
    else if (opts.out) process.stdout.write(`wrote ${history.records.length} decision records of ${label} (${history.entries} entries, head seq ${history.head.seq} ${history.head.hash}) to ${opts.out} (${opts.format})\n`);
    else process.stdout.write(text);
  });
}
