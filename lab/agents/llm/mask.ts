/**
 * What the model is shown of names, times and prices. With masking on, an asset is `ASSET_A`, a time
 * is "t-3" (bars before the current one) and prices are rebased so the window's first close is 100:
 * the model cannot recall what BTC did in June 2024 if it is never told it is looking at BTC in June
 * 2024. The same masker serves the prompt and every tool result of one decision, so they agree, and
 * it turns the model's price answers (target, stop) back into market prices.
 */
export interface Masker {
  readonly on: boolean;
  symbol(s: string): string;
  /** A bar's time, given its index from the end of the window (0 = the bar that just closed). */
  time(ts: number, barsAgo: number): string;
  price(p: number): number;
  /** Model price → market price. */
  unprice(p: number): number;
  /** Undo symbol masking in free text the model wrote (its reasoning), for the journal. */
  unmaskText(s: string): string;
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** `ASSET_A`, `ASSET_B`, … by position in the run's symbol list, so the name is stable for a whole run. */
export function maskedName(index: number): string {
  let s = '';
  let i = index;
  do {
    s = LETTERS[i % 26] + s;
    i = Math.floor(i / 26) - 1;
  } while (i >= 0);
  return `ASSET_${s}`;
}

export function createMasker(opts: { on: boolean; symbols: readonly string[]; basePrice: number }): Masker {
  if (!opts.on) {
    return {
      on: false,
      symbol: (s) => s,
      time: (ts) => new Date(ts).toISOString().slice(0, 16) + 'Z',
      price: (p) => p,
      unprice: (p) => p,
      unmaskText: (s) => s,
    };
  }
  const sorted = [...new Set(opts.symbols)].sort();
  const names = new Map(sorted.map((s, i) => [s, maskedName(i)]));
  const k = opts.basePrice > 0 && Number.isFinite(opts.basePrice) ? 100 / opts.basePrice : 1;
  return {
    on: true,
    symbol: (s) => names.get(s) ?? maskedName(sorted.length),
    time: (_ts, barsAgo) => `t-${barsAgo}`,
    // Rounded so the rebased price carries no more digits than a chart would: the exact ratio to
    // 12 digits could identify the asset.
    price: (p) => round6(p * k),
    unprice: (p) => p / k,
    unmaskText: (text) => {
      let out = text;
      // Longest names first, so ASSET_AB is not read as ASSET_A followed by "B".
      for (const [sym, name] of [...names].sort((a, b) => b[1].length - a[1].length)) out = out.split(name).join(sym);
      return out;
    },
  };
}

function round6(x: number): number {
  return Number(x.toPrecision(6));
}
