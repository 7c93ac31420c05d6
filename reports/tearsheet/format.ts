/** How tearsheet tables show numbers: fixed rules so the same run always reads the same. */

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

export const fmtPct = (x: unknown, d = 2): string => (finite(x) ? `${(x * 100).toFixed(d)}%` : x === Infinity ? '∞' : 'n/a');
export const fmtNum = (x: unknown, d = 3): string => (finite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: 0 }) : x === Infinity ? '∞' : x === -Infinity ? '−∞' : 'n/a');
export const fmtMoney = (x: unknown): string => (finite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : 'n/a');
export const fmtTime = (ts: unknown): string => (finite(ts) ? new Date(ts).toISOString().replace('.000Z', 'Z') : 'n/a');

export function fmtDuration(ms: unknown): string {
  if (!finite(ms)) return 'n/a';
  const h = ms / 3_600_000;
  if (h < 1) return `${Math.round(ms / 60_000)} min`;
  if (h < 48) return `${Number(h.toFixed(1))} h`;
  return `${Number((h / 24).toFixed(1))} d`;
}

/** Parameters as `k=v` pairs in key order: short enough for a table cell. */
export function fmtParams(p: unknown): string {
  if (p === null || typeof p !== 'object') return JSON.stringify(p) ?? '';
  return Object.keys(p)
    .sort()
    .map((k) => `${k}=${typeof (p as Record<string, unknown>)[k] === 'string' ? (p as Record<string, unknown>)[k] : JSON.stringify((p as Record<string, unknown>)[k])}`)
    .join(', ');
}

export type MetricKind = 'pct' | 'num' | 'int' | 'money' | 'duration';

/** The metrics a tearsheet lists, in order, with how each is shown. */
export const METRIC_ROWS: readonly { readonly key: string; readonly label: string; readonly kind: MetricKind; readonly benchmark?: boolean }[] = [
  { key: 'totalReturn', label: 'total return', kind: 'pct', benchmark: true },
  { key: 'cagr', label: 'CAGR', kind: 'pct', benchmark: true },
  { key: 'volatility', label: 'volatility (annual)', kind: 'pct', benchmark: true },
  { key: 'sharpe', label: 'Sharpe ratio', kind: 'num', benchmark: true },
  { key: 'sortino', label: 'Sortino ratio', kind: 'num', benchmark: true },
  { key: 'calmar', label: 'Calmar ratio', kind: 'num', benchmark: true },
  { key: 'maxDrawdown', label: 'max drawdown', kind: 'pct', benchmark: true },
  { key: 'maxDrawdownDurationMs', label: 'longest drawdown', kind: 'duration' },
  { key: 'numTrades', label: 'trades', kind: 'int' },
  { key: 'winRate', label: 'win rate', kind: 'pct' },
  { key: 'profitFactor', label: 'profit factor', kind: 'num' },
  { key: 'expectancy', label: 'expectancy (per trade)', kind: 'money' },
  { key: 'avgHoldingTime', label: 'average holding time', kind: 'duration' },
  { key: 'exposure', label: 'exposure', kind: 'pct' },
  { key: 'turnover', label: 'turnover (per year)', kind: 'num' },
];

export function fmtMetric(kind: MetricKind, x: unknown): string {
  switch (kind) {
    case 'pct':
      return fmtPct(x);
    case 'int':
      return fmtNum(x, 0);
    case 'money':
      return fmtMoney(x);
    case 'duration':
      return fmtDuration(x);
    default:
      return fmtNum(x);
  }
}
