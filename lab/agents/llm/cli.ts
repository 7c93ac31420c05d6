import { Option, type Command } from 'commander';
import { InputError } from '../../../engine/errors.ts';
import { PromptCache, cacheModeSchema, type CacheMode } from './cache.ts';
import { runWithPromptCache, type LlmRunSummary } from './session.ts';
import { isLlmStrategyRef } from './strategy.ts';

/** The prompt-cache flags of a command that runs strategies (`cs backtest`). */
export function addLlmOptions(cmd: Command): Command {
  return cmd
    .option('--llm-cache <file>', 'prompt cache (JSONL) for llm:* strategies; required with them')
    .addOption(new Option('--llm-mode <mode>', 'replay: answers only from the cache (a missing one fails); record: fetch missing prompts (ANTHROPIC_API_KEY); live: fetch every prompt again').choices(['replay', 'record', 'live']).default('replay'))
    .option('--llm-max-fetches <n>', 'stop after this many API calls in this command', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InputError(`--llm-max-fetches expects a positive integer, got "${v}"`);
      return n;
    });
}

/**
 * Runs `run` inside a prompt-cache session when the strategy is llm:*, else as it is. Progress of
 * fetches goes to stderr; the API key is never printed.
 */
export async function withLlmSession<T>(o: Record<string, unknown>, strategy: string, run: () => Promise<T>): Promise<{ result: T; llm: LlmRunSummary | null }> {
  // A debate may have llm:* members (`--param agents=conservative,llm:aggressive`): they need the session too.
  const debateWithCache = strategy === 'debate' && o.llmCache !== undefined;
  if (!isLlmStrategyRef(strategy) && !debateWithCache) {
    if (o.llmCache !== undefined) throw new InputError(`--llm-cache is for llm:* strategies and debates with llm:* agents, not "${strategy}"`);
    return { result: await run(), llm: null };
  }
  if (typeof o.llmCache !== 'string' || o.llmCache === '') throw new InputError(`${strategy} needs --llm-cache <file> (the prompt cache; replay mode reads it, record mode appends to it)`);
  const mode: CacheMode = cacheModeSchema.parse(o.llmMode ?? 'replay');
  const cache = PromptCache.load(o.llmCache);
  return runWithPromptCache(run, {
    cache,
    mode,
    ...(typeof o.llmMaxFetches === 'number' ? { maxFetches: o.llmMaxFetches } : {}),
    onFetch: ({ fetches, tokens }) => process.stderr.write(`llm: fetched ${fetches} prompt(s), ${tokens} tokens\n`),
  });
}

export function describeLlm(s: LlmRunSummary): string {
  const cost = (c: number | null) => (c === null ? 'no price for the model' : `~$${c.toFixed(4)} (estimate)`);
  return (
    `llm: ${s.mode} from ${s.cache ?? 'memory'}; ${s.total.calls} answer(s), ${s.total.totalTokens} tokens, ${cost(s.total.costUsd)}; ` +
    `fetched ${s.fetched.calls} (${s.fetched.totalTokens} tokens, ${cost(s.fetched.costUsd)}), ${s.retries} retr${s.retries === 1 ? 'y' : 'ies'}, ${s.passes} pass(es)\n`
  );
}
