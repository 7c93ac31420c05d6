/**
 * A user strategy, written the way a user writes one in their own project:
 *
 *   cs backtest --strategy examples/strategies/momentum.ts --symbol BTC/USDT --timeframe 1h --param lookback=48
 *
 * Long when the close is above its `lookback`-bar average and RSI is not overbought, with a
 * protective trailing stop; out when the close falls back below the average. State lives in the
 * engine (indicators, positions), never in module variables, so sweeps and workers stay exact.
 */
import { z } from 'zod';
import { defineStrategy } from 'cryptosentinel';

export default defineStrategy({
  name: 'momentum',
  description: 'Close above SMA(lookback) and RSI below maxRsi, fraction of equity, trailing stop',
  params: z
    .object({
      lookback: z.number().int().min(2).default(24),
      maxRsi: z.number().min(50).max(100).default(75),
      fraction: z.number().positive().max(1).default(0.5),
      trailPercent: z.number().positive().max(50).default(5),
    })
    .strict(),
  init(ctx) {
    ctx.indicator('rsi', 'rsi', { period: 14 });
    ctx.indicator('avg', 'sma', { period: ctx.params.lookback });
  },
  onBar(ctx, bar) {
    const avg = ctx.value('avg');
    const rsi = ctx.value('rsi');
    if (avg !== avg || rsi !== rsi) return;
    const qty = ctx.position(bar.symbol).qty;
    const momentum = bar.close / avg - 1;
    if (momentum > 0 && rsi < ctx.params.maxRsi && qty === 0 && ctx.openOrders(bar.symbol).length === 0) {
      const reason = { factors: { momentum, rsi }, weights: { momentum: 0.7, rsi: 0.3 }, confidence: 55, reasoning: `close ${(momentum * 100).toFixed(2)} % above its ${ctx.params.lookback}-bar average` };
      const size = ctx.sizing.fraction(ctx.params.fraction);
      if (ctx.buy(bar.symbol, { size, reason })) {
        ctx.sell(bar.symbol, { size, type: 'trailing_stop', trailingPercent: ctx.params.trailPercent, reduceOnly: true, reason: { ...reason, reasoning: 'protective trailing stop' } });
      }
    } else if (momentum < 0 && qty > 0) {
      ctx.cancelAll(bar.symbol);
      ctx.close(bar.symbol, { factors: { momentum }, confidence: 55, reasoning: 'close fell below its average' });
    }
  },
});
