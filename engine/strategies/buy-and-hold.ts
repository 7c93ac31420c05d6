import { z } from 'zod';
import { defineStrategy } from '../strategy.ts';

/** Spend all cash on the first bar of each symbol (equal shares of the cash when several). */
export default defineStrategy({
  name: 'buy-and-hold',
  description: 'Buy on the first bar and hold',
  params: z.object({}).strict(),
  onBar(ctx, bar) {
    if (bar.index !== 0) return;
    const n = ctx.symbols.length;
    // Several symbols share the cash equally; the spot cash cap trims the last one for fees.
    const size = n === 1 ? ctx.sizing.allIn() : ctx.sizing.fraction(1 / n);
    ctx.buy(bar.symbol, { size, reason: { factors: { first: true }, confidence: 50, reasoning: 'buy and hold' } });
  },
});
