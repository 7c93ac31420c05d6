/** ccxt-style timeframe strings ('1m', '4h', '1d', '1w') ↔ milliseconds. */
const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

export const DAY_MS = 86_400_000;
export const YEAR_DAYS = 365;

export function timeframeToMs(tf: string): number {
  const m = /^(\d+)([smhdw])$/.exec(tf);
  if (!m) throw new RangeError(`unknown timeframe "${tf}" (expected e.g. 1m, 5m, 15m, 1h, 4h, 1d)`);
  const n = Number(m[1]);
  if (n <= 0) throw new RangeError(`timeframe "${tf}" must be positive`);
  return n * UNIT_MS[m[2]!]!;
}

export function msToTimeframe(ms: number): string {
  for (const u of ['w', 'd', 'h', 'm', 's'] as const) {
    const unit = UNIT_MS[u]!;
    if (ms % unit === 0) return `${ms / unit}${u}`;
  }
  throw new RangeError(`${ms} ms is not a whole number of seconds`);
}

/** Bars per 365-day year for a 24/7 market: the annualisation factor used by every metric. */
export function periodsPerYear(timeframeMs: number): number {
  return (YEAR_DAYS * DAY_MS) / timeframeMs;
}
