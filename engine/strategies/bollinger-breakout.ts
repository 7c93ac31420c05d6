import { z } from 'zod';
import { defineStrategy } from '../strategy.ts';

/** Buy a close above the upper band; exit on a close back below the middle band. */
export default defineStrategy({
  name: 'bollinger-breakout',
  description: 'Long on a close above the upper Bollinger band, exit below the middle band',
  params: z.object({ period: z.number().int().min(2).default(20), stddev: z.number().positive().default(2) }).strict(),
  init(ctx) {
    ctx.indicator('bb', 'bbands', { period: ctx.params.period, stddev: ctx.params.stddev });
  },
  onBar(ctx, bar) {
    const upper = ctx.value('bb', 'upper');
    const middle = ctx.value('bb', 'middle');
    if (upper !== upper) return;
    const qty = ctx.position(bar.symbol).qty;
    const entry = bar.close > upper && qty === 0;
    // Return before any reason literal on bars that do not trade (see sma-cross).
    if (!entry && !(bar.close < middle && qty > 0)) return;
    if (entry) {
      ctx.buy(bar.symbol, { size: ctx.sizing.allIn(), reason: { factors: { close: bar.close, upper }, weights: { breakout: 1 }, confidence: 55, reasoning: 'close broke above the upper band' } });
    } else {
      ctx.close(bar.symbol, { factors: { close: bar.close, middle }, weights: { breakout: 1 }, confidence: 55, reasoning: 'close fell back below the middle band' });
    }
  },
});
