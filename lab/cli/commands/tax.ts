import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { InputError } from '../../../engine/errors.ts';
import { openStore } from '../../../datasets/store.ts';
import { readJournal } from '../../../datasets/journal-store.ts';
import { loadRun } from '../../../datasets/runs.ts';
import { isValidTaxYear, specificIdentificationSchema, taxReport, TAX_LOT_METHODS, type SpecificIdentification, type TaxFill } from '../../../reports/tax.ts';
import { fillsFromJournal, parseFills } from '../../../reports/tax-fills.ts';
import { formatTax, TAX_FORMATS } from '../../../reports/tax-format.ts';
import { addDbOption, addJsonOption, printJson, resolveDbPath, writeOutFile } from '../options.ts';

/**
 * `cs tax`: Form 8949 rows and Schedule D totals of one tax year, from a run's journal in the
 * store or from a fills file. Everything is read and computed before anything is written, and the
 * output file appears whole (written beside, then renamed), so bad input leaves no file behind.
 */
const Options = z
  .object({
    year: z.string().regex(/^\d{4}$/, 'expects a 4-digit year, e.g. 2024').transform(Number).refine(isValidTaxYear, 'must be 2009 or later'),
    method: z.enum(TAX_LOT_METHODS as [string, ...string[]], { message: `expects one of ${TAX_LOT_METHODS.join(', ')}` }),
    specific: z.string().min(1).optional(),
    run: z.string().min(1).optional(),
    fills: z.string().min(1).optional(),
    db: z.string().min(1).optional(),
    format: z.enum(TAX_FORMATS as [string, ...string[]], { message: `expects one of ${TAX_FORMATS.join(', ')}` }).default('csv'),
    out: z.string().min(1).optional(),
    json: z.boolean().optional(),
  })
  .strict()
  .refine((o) => Boolean(o.run) !== Boolean(o.fills), { message: 'give exactly one of --run <run-id> or --fills <file>', path: ['fills'] })
  .refine((o) => (o.method === 'specific') === Boolean(o.specific), { message: '--specific <json file> goes with --method specific (and only with it)', path: ['specific'] });

const flag = (key: PropertyKey | undefined): string => `--${String(key ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message}`);
  }
}

async function readSpecific(path: string): Promise<SpecificIdentification> {
  const text = await readText(path, '--specific');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InputError(`--specific ${path}: not JSON (${(err as Error).message})`);
  }
  const r = specificIdentificationSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new InputError(`--specific ${path}: ${i.path.join('.') || '(root)'}: ${i.message} (expected {"<sell order id>": [{"lot": "<buy order id>", "qty": "0.5"}, ...]})`);
  }
  return r.data;
}

async function runFills(db: string, runId: string): Promise<TaxFill[]> {
  if (!existsSync(db)) throw new InputError(`--db ${db}: no such store`);
  const store = await openStore(db, { readOnly: true });
  try {
    const entries = await readJournal(store, runId);
    if (entries.length > 0) return fillsFromJournal(entries, `run ${runId} journal`, (i) => `run ${runId} journal seq ${entries[i]!.seq}`);
    const run = await loadRun(store, runId);
    throw new InputError(
      run
        ? `run ${runId} was stored without a journal, and its fills are only kept there; rerun it with a journal, or export its fills and use --fills`
        : `${db}: no run "${runId}" (cs journal ls lists the runs with a journal)`,
    );
  } finally {
    await store.close();
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('tax')
    .description('capital gains for Form 8949 and Schedule D of one tax year, from a run journal or a fills file (exact to the cent)')
    .requiredOption('--year <yyyy>', 'tax year (the UTC year of the sale)')
    .addOption(new Option('--method <method>', 'lot matching').choices([...TAX_LOT_METHODS]).default('fifo'))
    .option('--specific <json>', 'with --method specific: {"<sell order id>": [{"lot": "<buy order id>", "qty": "0.5"}]}; sells not named are matched FIFO')
    .option('--run <run-id>', 'the fills of a run journal in the DuckDB store')
    .option('--fills <file>', 'fills as CSV (orderId,symbol,side,amount,price,fee,ts), JSONL (fill objects, or a journal export) or a JSON array')
    .addOption(new Option('--format <format>', 'output format').choices([...TAX_FORMATS]).default('csv'))
    .option('--out <file>', 'write the report here (default: stdout)')
    .addHelpText(
      'after',
      '\nLots from every year of the history are matched; the report lists the sales of --year. Dates are UTC.\n' +
        'Fees are added to basis (buys) and subtracted from proceeds (sells); each fill is rounded once to cents,\n' +
        'half up, and split fills share their cents pro rata, so rows add up exactly to the totals.\n' +
        'Example: cs tax --year 2024 --method hifo --fills fills.csv --format html --out tax-2024.html',
    );
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (raw: Record<string, unknown>) => {
    const parsed = Options.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new InputError(`${flag(i.path[0])}: ${i.message}`);
    }
    const opts = parsed.data;
    const specific = opts.specific ? await readSpecific(opts.specific) : undefined;
    const fills = opts.fills
      ? parseFills(await readText(opts.fills, '--fills'), opts.fills)
      : await runFills(resolveDbPath(opts.db), opts.run!);
    const report = taxReport(fills, {
      method: opts.method as (typeof TAX_LOT_METHODS)[number],
      year: opts.year,
      ...(specific ? { specific } : {}),
    });
    const format = opts.format as (typeof TAX_FORMATS)[number];
    const text = formatTax(report, format);
    if (opts.out) await writeOutFile(opts.out, text);
    for (const id of report.unidentified) process.stderr.write(`note: sell order ${id} is not in the specific identification; matched FIFO\n`);
    for (const r of report.residues) process.stderr.write(`note: float residue of ${r.qty} (${r.kind}, order ${r.orderId}) absorbed\n`);
    if (opts.json) {
      printJson({ ...(opts.out ? { out: opts.out, format } : {}), ...report });
      return;
    }
    if (!opts.out) {
      process.stdout.write(text);
      return;
    }
    const sd = report.scheduleD;
    process.stdout.write(
      `wrote tax year ${report.year} (${report.method}) to ${opts.out} (${format}): ` +
        `short-term ${sd.shortTerm.rows} rows, gain ${sd.shortTerm.gain}; long-term ${sd.longTerm.rows} rows, gain ${sd.longTerm.gain}; net ${sd.netGain}\n`,
    );
  });
}
