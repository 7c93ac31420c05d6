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
    const entry = fast > slow && qty === 0;
    if (!entry && !(fast < slow && qty > 0)) return;
    // One reason, built past the return above: a literal holding fast and slow in each branch made
    // V8 box both numbers where the branches meet, on every bar, not only on the bars that trade.
    const reason = { factors: { fast, slow }, weights: { trend: 1 }, confidence: 60, reasoning: `SMA${ctx.params.fast} crossed ${entry ? 'above' : 'below'} SMA${ctx.params.slow}` };
    if (entry) ctx.buy(bar.symbol, { size: ctx.sizing.allIn(), reason });
    else ctx.close(bar.symbol, reason);
  },
});
