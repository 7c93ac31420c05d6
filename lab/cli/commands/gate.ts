import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CheckFailedError, InputError } from '../../../engine/errors.ts';
import { openStore, type Store } from '../../../datasets/store.ts';
import { evaluateGate, gateJunit, gateMarkdown, gateText, loadSubject, parseGateConfig, readGateConfigText, type GateReport, type SubjectKind } from '../../gate.ts';
import { parsePboBlocks } from '../../sweep-overfitting.ts';
import { addDbOption, addJsonOption, printJson, resolveDbPath } from '../options.ts';

/** A flag value as the config schema expects it: numbers as numbers, "20%" / "12 months" as text. */
const scalar = (v: string): number | string => (v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);

const FLAG_KEYS = ['minSharpe', 'maxDrawdown', 'minHistory', 'minTrades', 'maxPbo', 'minDsr'] as const;

export interface GateCliOptions {
  run?: string;
  sweep?: string;
  walkforward?: string;
  config?: string;
  junit?: string;
  markdown?: string;
  json?: boolean;
  db?: string;
  [k: string]: unknown;
}

/** The subject named by exactly one of --run, --sweep, --walkforward. */
export function subjectRef(o: { run?: string; sweep?: string; walkforward?: string }): { kind: SubjectKind; id: string } {
  const given = (['run', 'sweep', 'walkforward'] as const).filter((k) => o[k] !== undefined);
  if (given.length !== 1) throw new InputError(`give exactly one of --run <id>, --sweep <id>, --walkforward <id>${given.length ? ` (got ${given.map((g) => `--${g}`).join(' and ')})` : ''}`);
  return { kind: given[0]!, id: o[given[0]!]! };
}

/** Config file (if any) with flags on top, validated. */
export function gateConfigFrom(o: GateCliOptions) {
  let raw: Record<string, unknown> = {};
  if (o.config) {
    if (!existsSync(o.config)) throw new InputError(`--config: file not found: ${o.config}`);
    raw = readGateConfigText(readFileSync(o.config, 'utf8'), o.config);
  }
  for (const k of FLAG_KEYS) if (o[k] !== undefined) raw = { ...raw, [k]: scalar(String(o[k])) };
  return parseGateConfig(raw, o.config ?? 'gate flags');
}

export async function openExisting(db: string | undefined): Promise<Store> {
  const path = resolveDbPath(db);
  if (path !== ':memory:' && !existsSync(path)) throw new InputError(`no database at ${path} (give --db, or run cs backtest first)`);
  return openStore(path, { readOnly: true });
}

export async function runGate(o: GateCliOptions): Promise<GateReport> {
  const ref = subjectRef(o);
  const config = gateConfigFrom(o);
  const store = await openExisting(o.db);
  try {
    return evaluateGate(await loadSubject(store, ref.kind, ref.id, typeof o.pboBlocks === 'number' ? { pboBlocks: o.pboBlocks } : {}), config);
  } finally {
    await store.close();
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('gate')
    .description('check a run, sweep or walk-forward against go-live criteria; exit 0 pass, 1 fail, 2 bad input')
    .option('--run <id>', 'a stored backtest run (cs backtest prints its id)')
    .option('--sweep <id>', 'a stored sweep: its best run by Sharpe, deflated by the number of runs; PBO by CSCV over its runs')
    .option('--pbo-blocks <S>', 'with --sweep: blocks of the CSCV split (even, default 16)', (v: string) => parsePboBlocks(v))
    .option('--walkforward <id>', 'a stored walk-forward: its stitched out-of-sample result')
    .option('--config <file>', 'YAML/JSON criteria: minSharpe, maxDrawdown, minHistory, minTrades, maxPbo, minDsr (flags win)')
    .option('--min-sharpe <x>', 'minimum annualised Sharpe ratio (default 1.0)')
    .option('--max-drawdown <x>', 'maximum drawdown, 0.2 or 20% (default 20%)')
    .option('--min-history <months>', 'minimum history: months, or "1y", "365d" (default 12)')
    .option('--min-trades <n>', 'minimum number of closed trades')
    .option('--max-pbo <p>', 'maximum probability of backtest overfitting (0–1)')
    .option('--min-dsr <p>', 'minimum deflated Sharpe ratio (0–1)')
    .option('--junit <file>', 'write JUnit XML (one testcase per criterion)')
    .option('--markdown <file>', 'write a markdown summary');
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (o: GateCliOptions) => {
    const report = await runGate(o);
    if (o.junit) writeFileSync(o.junit, gateJunit(report));
    if (o.markdown) writeFileSync(o.markdown, gateMarkdown(report));
    if (o.json) printJson(report);
    else process.stdout.write(gateText(report));
    if (!report.pass) {
      const failed = report.criteria.filter((c) => !c.pass);
      throw new CheckFailedError(`gate failed: ${failed.map((c) => c.name).join(', ')}`);
    }
  });
}
