import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadStrategy, strategyRef } from '../../lab/strategy-loader.ts';
import { strategyRef as fromMonteCarlo } from '../../lab/cli/commands/montecarlo.ts';

describe('strategyRef', () => {
  it('gives back the ref that loads the same strategy from a stored source', async () => {
    const file = fileURLToPath(new URL('../../engine/strategies/sma-cross.ts', import.meta.url));
    for (const ref of ['sma-cross', 'persona:aggressive', 'debate', file]) {
      const loaded = await loadStrategy(ref);
      expect(strategyRef(loaded.source)).toBe(ref);
      expect((await loadStrategy(strategyRef(loaded.source))).codeHash).toBe(loaded.codeHash);
    }
    await expect(loadStrategy('sma-cross').then((l) => l.source)).resolves.toBe('builtin:sma-cross');
  });

  it('leaves a path alone, even one containing "builtin:" further in', () => {
    expect(strategyRef('/tmp/builtin:x.ts')).toBe('/tmp/builtin:x.ts');
    expect(strategyRef('builtin:rsi-reversion')).toBe('rsi-reversion');
  });

  it('is the one the montecarlo command re-exports', () => {
    expect(fromMonteCarlo).toBe(strategyRef);
  });
});
