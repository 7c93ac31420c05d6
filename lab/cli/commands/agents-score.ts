import { Option, type Command } from 'commander';
import { z } from 'zod';
import { InputError } from '../../../engine/errors.ts';
import { scoreRun, type RunScore } from '../../agents/scoring-run.ts';
import { addDbOption, addJsonOption, parseNumberOption, parseOptions, printJson, withStore } from '../options.ts';

/**
 * `cs agents score <run-id>`: how a stored run's agents did (definitions in lab/agents/scoring.ts
 * and docs/agents.md). Hooked under the `agents` group by lab/cli/commands/agents.ts.
 */
const optionsSchema = z.object({
  horizon: z.number().int('must be a whole number of bars').min(1, 'must be at least 1 bar').default(1),
  by: z.enum(['regime']).optional(),
  exchange: z.string().optional(),
  seed: z.number().int('must be an integer').optional(),
  minSamples: z.number().int().min(2, 'must be at least 2').default(30),
  importance: z.enum(['call', 'price']).default('call'),
  learn: z.boolean().optional(),
  walkForward: z.string().regex(/^\d+:\d+$/, 'expects TRAIN:TEST in bars, e.g. 500:250').optional(),
  db: z.string().optional(),
  json: z.boolean().optional(),
});

export function registerAgentScore(agents: Command): void {
  const cmd = agents
    .command('score')
    .description("score a stored run's agents: call P&L and consensus attribution, hit rate, Brier, factor importance, by regime")
    .argument('<run-id>', 'a run stored by cs backtest (with its journal)')
    .option('--horizon <bars>', 'bars after a decision at which its outcome is read', parseNumberOption('--horizon'), 1)
    .addOption(new Option('--by <what>', 'also break the scores and factor importance down').choices(['regime']))
    .option('--exchange <id>', 'exchange of the run\'s bars (default: the only one holding the symbol)')
    .option('--seed <n>', 'seed of the permutation shuffles (default: the run\'s seed)', parseNumberOption('--seed'))
    .option('--min-samples <n>', 'fewest calls with factors for a factor-importance figure', parseNumberOption('--min-samples'), 30)
    .addOption(new Option('--importance <target>', 'factor importance explains: call (the agent\'s call was right) or price (the price rose)').choices(['call', 'price']).default('call'))
    .option('--learn', 'also learn each agent\'s factor weights from all its calls (meta-learning), for its next run')
    .option('--walk-forward <train:test>', 'also evaluate regime-weighted agent selection walk-forward (spans in bars)');
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (runId: string, raw: Record<string, unknown>) => {
    const o = parseOptions(optionsSchema, raw);
    if (!runId.trim()) throw new InputError('run id must not be empty');
    const [train, test] = o.walkForward ? o.walkForward.split(':').map(Number) as [number, number] : [0, 0];
    if (o.walkForward && (train < 1 || test < 1)) throw new InputError('--walk-forward: both spans must be at least 1 bar');
    const r = await withStore(o.db, false, (store) =>
      scoreRun(store, runId, {
        horizon: o.horizon, byRegime: o.by === 'regime', minSamples: o.minSamples, importanceTarget: o.importance,
        ...(o.exchange ? { exchange: o.exchange } : {}),
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
        ...(o.learn ? { learn: true } : {}),
        ...(o.walkForward ? { selection: { trainBars: train, testBars: test } } : {}),
      }),
    );
    if (o.json) printJson(r);
    else process.stdout.write(formatRunScore(r));
  });
}

const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '—');
const num = (x: number, d = 3): string => (Number.isFinite(x) ? x.toFixed(d) : '—');

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  const line = (r: readonly string[]): string => r.map((c, j) => (j === 0 ? c.padEnd(w[j]!) : c.padStart(w[j]!))).join('  ').trimEnd() + '\n';
  return line(head) + rows.map(line).join('');
}

export function formatRunScore(r: RunScore): string {
  let s = `run ${r.runId} (${r.strategy}, ${r.timeframe}): ${r.calls} calls, ${r.scored} with an outcome ${r.horizon} bar(s) later\n\n`;
  s += table(
    ['agent', 'calls', 'directional', 'hit rate', 'Brier', 'call P&L', 'consensus P&L'],
    r.agents.map((a) => [a.agentId, String(a.n), String(a.directional), pct(a.hitRate), num(a.brier), pct(a.pnl), pct(a.consensusPnl)]),
  );
  if (r.consensus.decisions > 0) s += `consensus: ${r.consensus.decisions} decisions, P&L ${pct(r.consensus.total)}, split among the agents that voted for each by vote weight\n`;
  s += '\ncalibration (directional calls by confidence: n, share right vs mean confidence)\n';
  for (const [agent, buckets] of Object.entries(r.reliability)) {
    const cells = buckets.filter((b) => b.n > 0).map((b) => `${b.lo}–${b.hi}: ${b.n} ${pct(b.hitRate)} vs ${num(b.meanConfidence, 0)}`);
    s += `  ${agent}: ${cells.join('; ') || 'no directional calls'}\n`;
  }
  const target = r.importance[0]?.target === 'price' ? 'the price rising' : 'the call being right';
  s += `\nfactor importance for ${target} (increase in log loss when shuffled, nats/decision)\n`;
  if (r.importance.length === 0) s += '  too few calls with factors\n';
  for (const g of r.importance) {
    const top = g.factors.slice(0, 6).map((f) => `${f.factor} ${num(f.importance, 4)}`).join(', ');
    s += `  ${g.agentId}${g.regime === 'all' ? '' : ` [${g.regime}]`} (n ${g.n}): ${top}\n`;
  }
  if (r.regimes) {
    s += '\nby regime at the decision bar\n';
    s += table(['regime', 'agent', 'calls', 'hit rate', 'Brier', 'call P&L'], r.regimes.map((x) => [x.regime, x.agentId, String(x.n), pct(x.hitRate), num(x.brier), pct(x.pnl)]));
  }
  if (r.learned) {
    s += '\nlearned factor weights (from all calls with an outcome; prior = the mean journaled weights)\n';
    for (const l of r.learned) {
      const w = Object.entries(l.weights).map(([k, v]) => `${k} ${num(l.prior[k]!, 2)}→${num(v, 2)}`).join(', ');
      s += `  ${l.agentId} (${l.samples} calls${l.learned ? '' : ', prior kept'}): ${w}\n`;
    }
  }
  if (r.selection) {
    s += `\nregime-weighted selection, walk-forward (${r.selection.windows.length} windows): P&L ${pct(r.selection.pnl)} vs equal weights ${pct(r.selection.equalPnl)}\n`;
  }
  return s;
}
