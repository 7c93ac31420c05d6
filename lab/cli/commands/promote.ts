import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../../../engine/errors.ts';
import { parseRiskConfigText } from '../../../engine/risk.ts';
import { loadRun } from '../../../datasets/runs.ts';
import { loadStrategy, strategyRef } from '../../strategy-loader.ts';
import { promote, promotionJson } from '../../promote.ts';
import { addDbOption, addJsonOption, parseNumberOption as num, printJson } from '../options.ts';
import { gateConfigFrom, openExisting, type GateCliOptions } from './gate.ts';

export function register(program: Command): void {
  const cmd = program
    .command('promote')
    .description('gate a stored run and, if it passes, write a promotion record (code hash, params, data hash, gate report, scaled live limits)')
    .requiredOption('--run <id>', 'the stored backtest run to promote')
    .requiredOption('--out <file>', 'where to write the promotion record (JSON)')
    .option('--gate-config <file>', 'YAML/JSON gate criteria (as for cs gate --config)')
    .option('--min-sharpe <x>', 'override: minimum Sharpe ratio')
    .option('--max-drawdown <x>', 'override: maximum drawdown (0.2 or 20%)')
    .option('--min-history <months>', 'override: minimum history')
    .option('--min-trades <n>', 'override: minimum trades')
    .option('--min-dsr <p>', 'override: minimum deflated Sharpe ratio')
    .option('--risk-config <file>', 'risk limits to scale (engine/risk.ts YAML); default: derived from the run')
    .option('--scale <f>', 'factor for every size limit, in (0, 1]', num('--scale'), 0.1);
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (o: GateCliOptions & { out: string; gateConfig?: string; riskConfig?: string; scale: number }) => {
    const gate = gateConfigFrom({ ...o, config: o.gateConfig });
    let baseLimits;
    if (o.riskConfig) {
      if (!existsSync(o.riskConfig)) throw new InputError(`--risk-config: file not found: ${o.riskConfig}`);
      baseLimits = parseRiskConfigText(readFileSync(o.riskConfig, 'utf8'), o.riskConfig);
    }
    const store = await openExisting(o.db);
    let run;
    try {
      run = await loadRun(store, o.run!);
    } finally {
      await store.close();
    }
    if (!run) throw new InputError(`no run "${o.run}" (cs backtest prints the run id)`);
    // The record pins the run's code hash; promoting code that has changed since would pin the wrong thing.
    const current = await loadStrategy(strategyRef(run.strategySource));
    const record = promote(run, { gate, scale: o.scale, ...(baseLimits ? { baseLimits } : {}), currentCodeHash: current.codeHash });
    writeFileSync(o.out, promotionJson(record));
    if (o.json) printJson({ out: o.out, runId: record.runId, recordHash: record.recordHash, codeHash: record.codeHash, params: record.params, limits: record.limits, gate: { pass: record.gate.pass } });
    else process.stdout.write(`promoted run ${record.runId} (${record.strategy} ${JSON.stringify(record.params)}) → ${o.out}\n  record ${record.recordHash.slice(0, 16)}  code ${record.codeHash.slice(0, 16)}  data ${record.datasetHash.slice(0, 16)}  limits ×${record.scale}\n`);
  });
}
