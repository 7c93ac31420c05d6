import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { InputError } from '../../../engine/errors.ts';
import { PromptCache } from '../../agents/llm/cache.ts';
import { addUsage, emptyTotals, type UsageTotals } from '../../agents/llm/cost.ts';
import { addJsonOption, printJson } from '../options.ts';

/**
 * `cs llm cache <file>`: what a prompt cache holds — answers per model, their tokens and what
 * recording them cost (an estimate from the price table, see docs/llm-agents.md).
 */
export function register(program: Command): void {
  const llm = program.command('llm').description('LLM agents: inspect prompt caches (backtests: cs backtest --strategy llm:<persona> --llm-cache FILE)');
  const cache = llm
    .command('cache <file>')
    .description('summarise a prompt cache: answers per model, tokens, estimated cost of recording them');
  addJsonOption(cache);
  cache.action((file: string, o: { json?: boolean }) => {
    if (!existsSync(file)) throw new InputError(`prompt cache not found: ${file}`);
    const c = PromptCache.load(file);
    const byModel: Record<string, UsageTotals> = {};
    const total = emptyTotals();
    for (const { response } of c.list()) {
      addUsage((byModel[response.model] ??= emptyTotals()), response.usage, response.model);
      addUsage(total, response.usage, response.model);
    }
    const out = { file, answers: c.size, byModel, total };
    if (o.json) return printJson(out);
    const cost = (x: number | null) => (x === null ? 'no price' : `~$${x.toFixed(4)}`);
    const lines = [`${file}: ${c.size} answer(s), ${total.totalTokens} tokens, ${cost(total.costUsd)} (estimate)`];
    for (const [m, t] of Object.entries(byModel).sort()) lines.push(`  ${m}: ${t.calls} answer(s), in ${t.inputTokens}, out ${t.outputTokens}, cache write ${t.cacheWriteTokens}, read ${t.cacheReadTokens}, ${cost(t.costUsd)}`);
    process.stdout.write(lines.join('\n') + '\n');
  });
}
