import { z } from 'zod';
import { defineStrategy } from '../strategy.ts';

/** Long while the fast SMA is above the slow one; flat otherwise. */
export default defineStrategy({
  name: 'sma-cross',
  description: 'Long while SMA(fast) > SMA(slow), flat otherwise',
  params: z
    .object({ fast: z.number().int().min(2).default(20), slow: z.number().int().min(3).default(50) })
    .strict()
    .refine((p) => p.fast < p.slow, { message: 'fast must be smaller than slow', path: ['fast'] }),
  init(ctx) {
    ctx.indicator('fast', 'sma', { period: ctx.params.fast });
    ctx.indicator('slow', 'sma', { period: ctx.params.slow });
  },
  onBar(ctx, bar) {
    const fast = ctx.value('fast');
    const slow = ctx.value('slow');
    if (slow !== slow) return; // still warming up
    const qty = ctx.position(bar.symbol).qty;
    if (fast > slow && qty === 0) {
      ctx.buy(bar.symbol, { size: ctx.sizing.allIn(), reason: { factors: { fast, slow }, weights: { trend: 1 }, confidence: 60, reasoning: `SMA${ctx.params.fast} crossed above SMA${ctx.params.slow}` } });
    } else if (fast < slow && qty > 0) {
      ctx.close(bar.symbol, { factors: { fast, slow }, weights: { trend: 1 }, confidence: 60, reasoning: `SMA${ctx.params.fast} crossed below SMA${ctx.params.slow}` });
    }
  },
});
