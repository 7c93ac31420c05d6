import { Option, type Command } from 'commander';
import { z } from 'zod';
import { importSentimentFile } from '../../../datasets/sentiment.ts';
import { debateAt, formatDebate } from '../../agents/debate.ts';
import { consensusConfig, parseAgentList } from '../../agents/personas.ts';
import { analyzeSentiment, scoreText } from '../../agents/sentiment.ts';
import { addDbOption, addJsonOption, parseNumberOption, parseOptions, parseTime, printJson, timeframeSchema, withStore } from '../options.ts';
import { registerAgentScore } from './agents-score.ts';

/**
 * `cs agents …`: trading agents. `debate` (one decision, explained) and `sentiment` live here;
 * `score` is registered by agents-score.ts (other subcommands plug in the same way: a
 * `register…(agents: Command)` function called below).
 */
export function register(program: Command): void {
  const agents = program.command('agents').description('trading agents: personas, debate, sentiment and their scores');
  registerDebate(agents);
  registerSentiment(agents);
  registerAgentScore(agents);
}

const debateOptions = z.object({
  symbol: z.string().trim().min(1),
  at: z.string().min(1),
  timeframe: timeframeSchema.default('1h'),
  exchange: z.string().optional(),
  agents: z.string().default('conservative,aggressive,trend-follower'),
  rounds: z.number().int('must be a whole number').min(0).max(10).default(1),
  quorum: z.number().min(0).max(1).default(0.5),
  minWeight: z.number().min(0).max(1).default(0),
  tie: z.enum(['hold', 'risk-off', 'chair']).default('hold'),
  riskAgents: z.string().optional(),
  noVeto: z.boolean().optional(),
  window: z.number().int('must be a whole number').min(60).max(5000).default(200),
  db: z.string().optional(),
  json: z.boolean().optional(),
});

function registerDebate(agents: Command): void {
  const cmd = agents
    .command('debate')
    .description('one debate at a past time: each agent\'s five steps, the debate rounds, the vote and the decision')
    .requiredOption('--symbol <symbol>', 'market symbol, e.g. BTC/USDT')
    .requiredOption('--at <time>', 'replay time (YYYY-MM-DD, ISO time or epoch ms): only bars closed and sentiment stamped by then are read')
    .option('--timeframe <tf>', 'bar timeframe', '1h')
    .option('--exchange <id>', 'exchange of the stored data (default: the only one holding the symbol)')
    .option('--agents <list>', 'comma-separated personas: conservative, aggressive, trend-follower', 'conservative,aggressive,trend-follower')
    .option('--rounds <n>', 'debate rounds after the first answers', parseNumberOption('--rounds'), 1)
    .option('--quorum <x>', 'share of agents that must vote (0–1)', parseNumberOption('--quorum'), 0.5)
    .option('--min-weight <x>', 'share of confidence the winner needs to act (0–1)', parseNumberOption('--min-weight'), 0)
    .addOption(new Option('--tie <rule>', 'how a tie is settled').choices(['hold', 'risk-off', 'chair']).default('hold'))
    .option('--risk-agents <ids>', 'agents whose veto or sell vote blocks a buy (comma-separated)')
    .option('--no-veto', 'agents\' own risk vetoes do not block the desk\'s buy')
    .option('--window <bars>', 'bars the agents see', parseNumberOption('--window'), 200);
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (raw: Record<string, unknown>) => {
    // commander's --no-veto sets `veto: false`
    const o = parseOptions(debateOptions, { ...raw, noVeto: raw.veto === false, veto: undefined });
    const at = parseTime(o.at, '--at');
    const list = parseAgentList(o.agents);
    const consensus = consensusConfig({ rounds: o.rounds, quorum: o.quorum, minWeight: o.minWeight, tie: o.tie, vetoOnAnyAgent: !o.noVeto, riskAgents: o.riskAgents ?? '' }, 'debate');
    const view = await withStore(o.db, true, (store) => debateAt(store, { symbol: o.symbol, timeframe: o.timeframe, at, agents: list, consensus, window: o.window, ...(o.exchange ? { exchange: o.exchange } : {}) }));
    if (o.json) printJson({ ...view, atIso: new Date(view.at).toISOString(), nowIso: new Date(view.now).toISOString() });
    else process.stdout.write(formatDebate(view));
  });
}

const importOptions = z.object({
  kind: z.enum(['fear-greed', 'headlines']),
  db: z.string().optional(),
  json: z.boolean().optional(),
});

const showOptions = z.object({
  symbol: z.string().trim().min(1),
  at: z.string().min(1),
  db: z.string().optional(),
  json: z.boolean().optional(),
});

function registerSentiment(agents: Command): void {
  const group = agents.command('sentiment').description('time-stamped sentiment the agents read: Fear & Greed history and scored headlines');
  const imp = group
    .command('import')
    .description('import a Fear & Greed history (ts, value 0–100; alternative.me JSON works) or headlines (ts, symbol, source, title[, score]) from CSV or JSON; headlines without a score are scored by the AFINN lexicon')
    .argument('<file>', '.csv or .json file')
    .addOption(new Option('--kind <kind>', 'what the file holds').choices(['fear-greed', 'headlines']).makeOptionMandatory());
  addDbOption(imp);
  addJsonOption(imp);
  imp.action(async (file: string, raw: Record<string, unknown>) => {
    const o = parseOptions(importOptions, raw);
    const r = await withStore(o.db, false, (store) => importSentimentFile(store, file, o.kind, scoreText));
    if (o.json) printJson(r);
    else process.stdout.write(`imported ${r.rows} ${o.kind} row(s) from ${file}, ${new Date(r.first!).toISOString()} → ${new Date(r.last!).toISOString()}\n`);
  });
  const show = group
    .command('show')
    .description('the sentiment reading an agent sees for a symbol at a replay time (nothing stamped later is read)')
    .requiredOption('--symbol <symbol>', 'market symbol, e.g. BTC/USDT')
    .requiredOption('--at <time>', 'replay time (YYYY-MM-DD, ISO time or epoch ms)');
  addDbOption(show);
  addJsonOption(show);
  show.action(async (raw: Record<string, unknown>) => {
    const o = parseOptions(showOptions, raw);
    const at = parseTime(o.at, '--at');
    const r = await withStore(o.db, true, (store) => analyzeSentiment(store, o.symbol, at));
    if (o.json) printJson({ symbol: o.symbol, at, reading: r });
    else process.stdout.write(r ? `${o.symbol} at ${new Date(at).toISOString()}: ${r.score >= 0 ? '+' : ''}${r.score.toFixed(2)} (${r.detail})\n` : `${o.symbol} at ${new Date(at).toISOString()}: no sentiment stamped in the look-back\n`);
  });
}
