import { z } from 'zod';
import { defineStrategy } from '../strategy.ts';

/** The seed's example: buy when RSI < lower (oversold), sell when RSI > upper (overbought). */
export default defineStrategy({
  name: 'rsi-reversion',
  description: 'Buy RSI < lower, sell RSI > upper (Wilder RSI)',
  params: z
    .object({
      period: z.number().int().min(2).default(14),
      lower: z.number().min(0).max(100).default(30),
      upper: z.number().min(0).max(100).default(70),
    })
    .strict()
    .refine((p) => p.lower < p.upper, { message: 'lower must be below upper', path: ['lower'] }),
  init(ctx) {
    ctx.indicator('rsi', 'rsi', { period: ctx.params.period });
  },
  onBar(ctx, bar) {
    const rsi = ctx.value('rsi');
    if (rsi !== rsi) return;
    const qty = ctx.position(bar.symbol).qty;
    const { lower, upper } = ctx.params;
    const entry = rsi < lower && qty === 0;
    // Return before any reason literal on bars that do not trade: literals holding rsi in two
    // branches made V8 box it where the branches meet, on every bar (see sma-cross).
    if (!entry && !(rsi > upper && qty > 0)) return;
    if (entry) {
      ctx.buy(bar.symbol, { size: ctx.sizing.allIn(), reason: { factors: { rsi, lower }, weights: { rsi: 1 }, confidence: Math.min(100, 50 + (lower - rsi) * 2), reasoning: `RSI ${rsi.toFixed(1)} below ${lower}: oversold` } });
    } else {
      ctx.close(bar.symbol, { factors: { rsi, upper }, weights: { rsi: 1 }, confidence: Math.min(100, 50 + (rsi - upper) * 2), reasoning: `RSI ${rsi.toFixed(1)} above ${upper}: overbought` });
    }
  },
});
