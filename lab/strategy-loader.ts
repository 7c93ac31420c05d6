import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../engine/errors.ts';
import { sha256Hex } from '../engine/hash.ts';
import type { AnyStrategy } from '../engine/strategy.ts';
import { builtinStrategies } from '../engine/strategies/index.ts';
import { isLlmStrategyRef, LLM_PREFIX, loadLlmStrategy } from './agents/llm/strategy.ts';
import { DEBATE_REF, isAgentStrategyRef, loadAgentStrategy, PERSONA_PREFIX } from './agents/strategy.ts';
import { BUILTIN_PERSONAS } from './agents/personas.ts';

export interface LoadedStrategy {
  readonly strategy: AnyStrategy;
  /** Where it came from: `builtin:<name>` or an absolute file path. */
  readonly source: string;
  /** sha256 of the strategy's source file: what a promotion record pins. */
  readonly codeHash: string;
}

const BUILTIN_FILES: Record<string, string> = {
  'sma-cross': 'sma-cross.ts',
  'rsi-reversion': 'rsi-reversion.ts',
  'bollinger-breakout': 'bollinger-breakout.ts',
  'buy-and-hold': 'buy-and-hold.ts',
};

/** The ref `loadStrategy` takes for a stored `LoadedStrategy.source`: `builtin:sma-cross` → `sma-cross`; a path stays a path. */
export const strategyRef = (source: string): string => (source.startsWith('builtin:') ? source.slice('builtin:'.length) : source);

/** A built-in name, or a path to a .ts/.js file whose default export is `defineStrategy({...})`. */
export async function loadStrategy(ref: string): Promise<LoadedStrategy> {
  const builtin = builtinStrategies[ref];
  if (builtin) {
    const file = new URL(`../engine/strategies/${BUILTIN_FILES[ref]}`, import.meta.url);
    return { strategy: builtin, source: `builtin:${ref}`, codeHash: sha256Hex(readFileSync(file)) };
  }
  if (isLlmStrategyRef(ref)) return loadLlmStrategy(ref);
  if (isAgentStrategyRef(ref)) return loadAgentStrategy(ref);
  const looksLikePath = /[/\\]|\.(m?[jt]s)$/.test(ref);
  if (!looksLikePath) {
    const known = [...Object.keys(builtinStrategies), ...BUILTIN_PERSONAS.map((p) => PERSONA_PREFIX + p), DEBATE_REF, `${LLM_PREFIX}<persona>`];
    throw new InputError(`unknown strategy "${ref}" (built-in: ${known.join(', ')}; or give a path to a .ts file)`);
  }
  const path = resolve(ref);
  if (!existsSync(path)) throw new InputError(`strategy file not found: ${path}`);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    // tsx compiles a .ts file outside an ESM package as CommonJS, which cannot import our ESM API.
    const hint = /require\(\)|require\(esm\)|Cannot find (package|module)/.test(msg)
      ? ' (a strategy file is an ES module that imports `cryptosentinel` and `zod`: keep it in a project that has them installed and "type": "module" in its package.json, or name it .mts)'
      : '';
    throw new InputError(`cannot load strategy file ${path}: ${msg}${hint}`);
  }
  const s = mod.default as Partial<AnyStrategy> | undefined;
  if (!s || typeof s !== 'object' || typeof s.name !== 'string' || !s.params || typeof (s.params as { safeParse?: unknown }).safeParse !== 'function') {
    throw new InputError(`${path} must \`export default defineStrategy({ name, params: z.object(...), ... })\``);
  }
  return { strategy: s as AnyStrategy, source: path, codeHash: sha256Hex(readFileSync(path)) };
}
