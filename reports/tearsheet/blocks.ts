import type { ClosedTrade } from '../../engine/metrics.ts';
import type { ValidationReport } from '../../datasets/validate.ts';
import type { GateReport } from '../../lab/gate.ts';
import { escapeHtml, keyValues, paragraph, section, table } from './html.ts';
import { METRIC_ROWS, fmtDuration, fmtMetric, fmtMoney, fmtNum, fmtParams, fmtPct, fmtTime } from './format.ts';

/** Table blocks several tearsheets share. Every value from data goes through escapeHtml. */

type Bag = Readonly<Record<string, unknown>>;

/** The strategy's metrics beside the buy-and-hold benchmark's (return metrics only exist for both). */
export function metricsTable(metrics: Bag, benchmark?: Bag, labels: readonly [string, string] = ['strategy', 'buy & hold']): string {
  const rows = METRIC_ROWS.filter((r) => r.key in metrics || (benchmark && r.benchmark && r.key in benchmark));
  const cols = [
    { head: 'metric', cell: (r: (typeof rows)[number]) => r.label, text: true },
    { head: labels[0], cell: (r: (typeof rows)[number]) => fmtMetric(r.kind, metrics[r.key]) },
    ...(benchmark ? [{ head: labels[1], cell: (r: (typeof rows)[number]) => (r.benchmark ? fmtMetric(r.kind, benchmark[r.key]) : '') }] : []),
  ];
  return table(cols, rows);
}

/** The round trips, newest last; long lists are cut with a note (the JSON export has them all). */
export function tradesTable(trades: readonly ClosedTrade[], limit = 500): string {
  if (trades.length === 0) return paragraph('No closed trades.');
  const shown = trades.slice(0, limit).map((x, i) => ({ ...x, n: i + 1 }));
  const t = table<ClosedTrade & { n: number }>(
    [
      { head: '#', cell: (x) => String(x.n) },
      { head: 'symbol', cell: (x) => x.symbol, text: true },
      { head: 'side', cell: (x) => x.side, text: true },
      { head: 'entry', cell: (x) => fmtTime(x.entryTs), text: true },
      { head: 'exit', cell: (x) => fmtTime(x.exitTs), text: true },
      { head: 'held', cell: (x) => fmtDuration(x.exitTs - x.entryTs) },
      { head: 'qty', cell: (x) => fmtNum(x.qty, 8) },
      { head: 'entry price', cell: (x) => fmtNum(x.entryPrice, 8) },
      { head: 'exit price', cell: (x) => fmtNum(x.exitPrice, 8) },
      { head: 'fees', cell: (x) => fmtMoney(x.fees) },
      { head: 'pnl', cell: (x) => `<span class="${x.pnl >= 0 ? 'pass' : 'fail'}">${escapeHtml(fmtMoney(x.pnl))}</span>`, html: true },
      { head: 'return', cell: (x) => fmtPct(x.returnPct) },
    ],
    shown,
    { scroll: true },
  );
  return trades.length > limit ? `${t}\n${paragraph(`Showing the first ${limit} of ${trades.length} trades.`)}` : t;
}

/** The gate's verdict and each criterion; `undefined` when no gate was evaluated. */
export function gateBlock(gate: GateReport | undefined, how: string): string {
  if (!gate) return section('Gate verdict', paragraph('No gate was evaluated.'));
  const verdict = `<p>Verdict: <span class="${gate.pass ? 'pass' : 'fail'}">${gate.pass ? 'PASS' : 'FAIL'}</span> — ${escapeHtml(how)}</p>`;
  const t = table<GateReport['criteria'][number]>(
    [
      { head: 'criterion', cell: (c) => c.name, text: true },
      { head: 'result', cell: (c) => `<span class="${c.pass ? 'pass' : 'fail'}">${c.pass ? 'pass' : 'fail'}</span>`, html: true },
      { head: 'actual', cell: (c) => (c.actual === null ? 'n/a' : fmtNum(c.actual, 4)) },
      { head: 'threshold', cell: (c) => fmtNum(c.threshold, 4) },
      { head: 'detail', cell: (c) => c.message, text: true },
    ],
    gate.criteria,
  );
  const notes = gate.subject.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('');
  return section('Gate verdict', verdict, t, notes ? `<ul>${notes}</ul>` : '');
}

export interface NamedValidation {
  readonly name: string;
  readonly report: ValidationReport;
}

/** One row per dataset and check: counts, level, the first example. */
export function validationBlock(items: readonly NamedValidation[], missing?: string): string {
  if (items.length === 0) return section('Data validation', paragraph(missing ?? 'The data was not available to validate.'));
  const parts = items.map(({ name, report: r }) => {
    const head = `<p><b>${escapeHtml(name)}</b>: <span class="${r.ok ? 'pass' : 'fail'}">${r.ok ? 'OK' : 'ERRORS'}</span> — ${escapeHtml(`${r.rows} bars from ${fmtTime(r.first)} to ${fmtTime(r.last)}, ${r.errors} error(s), ${r.warnings} warning(s)`)}</p>`;
    const rows = Object.entries(r.checks).map(([check, c]) => ({ check, ...c }));
    const t = table<(typeof rows)[number]>(
      [
        { head: 'check', cell: (c) => c.check, text: true },
        { head: 'level', cell: (c) => c.level, text: true },
        { head: 'count', cell: (c) => `<span class="${c.count === 0 ? 'pass' : c.level === 'error' ? 'fail' : 'warn'}">${c.count}</span>`, html: true },
        { head: 'first example', cell: (c) => (c.examples[0] ? `row ${c.examples[0].index} ${c.examples[0].time}: ${c.examples[0].detail}` : ''), text: true },
      ],
      rows,
    );
    return head + t;
  });
  return section('Data validation', ...parts);
}

/** Everything that pins a result: ids, hashes, seed, parameters. */
export function identityBlock(pairs: readonly (readonly [string, unknown])[]): string {
  return section('Seed and hashes', keyValues(pairs.map(([k, v]) => [k, typeof v === 'string' ? v : k === 'params' ? fmtParams(v) : JSON.stringify(v) ?? ''] as const)));
}
