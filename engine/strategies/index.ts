import type { AnyStrategy } from '../strategy.ts';
import smaCross from './sma-cross.ts';
import rsiReversion from './rsi-reversion.ts';
import bollingerBreakout from './bollinger-breakout.ts';
import buyAndHold from './buy-and-hold.ts';

/** The built-in example strategies, by name (a user strategy is a .ts file given by path). */
export const builtinStrategies: Readonly<Record<string, AnyStrategy>> = Object.freeze({
  'sma-cross': smaCross as unknown as AnyStrategy,
  'rsi-reversion': rsiReversion as unknown as AnyStrategy,
  'bollinger-breakout': bollingerBreakout as unknown as AnyStrategy,
  'buy-and-hold': buyAndHold as unknown as AnyStrategy,
});
