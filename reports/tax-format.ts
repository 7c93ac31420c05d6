import type { Form8949Part, TaxRow, TaxYearReport } from './tax.ts';

/**
 * Tax report renderings: CSV (one line per Form 8949 row, a column per form field (a)–(h), dates
 * as the form writes them, MM/DD/YYYY), a self-contained HTML page (no scripts, no network), JSON.
 * Money stays the exact decimal text the report computed; nothing here does arithmetic.
 */
export type TaxFormat = 'csv' | 'html' | 'json';
export const TAX_FORMATS: readonly TaxFormat[] = ['csv', 'html', 'json'];

/** YYYY-MM-DD → MM/DD/YYYY. */
export const form8949Date = (iso: string): string => `${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(0, 4)}`;

export const TAX_CSV_HEADER = [
  'Part', 'Box',
  '(a) Description of property', '(b) Date acquired', '(c) Date sold or disposed of', '(d) Proceeds (sales price)',
  '(e) Cost or other basis', '(f) Code(s)', '(g) Amount of adjustment', '(h) Gain or (loss)',
  'Term', 'Asset', 'Quantity', 'Symbol', 'Sell order', 'Lot (buy order)',
] as const;

/**
 * A CSV cell. Text that a spreadsheet would run as a formula (=, +, -, @ first) gets a leading
 * quote mark; money is never text of that kind except a loss, which is written as is.
 */
function cell(v: string, text: boolean): string {
  const safe = text && /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function csvRow(part: Form8949Part, r: TaxRow): string {
  const fields: [string, boolean][] = [
    [part.part, false], [part.box, false],
    [r.description, true], [form8949Date(r.dateAcquired), false], [form8949Date(r.dateSold), false], [r.proceeds, false],
    [r.costBasis, false], ['', false], ['', false], [r.gain, false],
    [r.term, false], [r.asset, true], [r.quantity, false], [r.symbol, true], [r.sellOrderId, true], [r.lotOrderId, true],
  ];
  return fields.map(([v, t]) => cell(v, t)).join(',');
}

/** Part I rows, then Part II rows; totals are in the JSON and HTML forms (and sum from these rows). */
export function taxCsv(report: TaxYearReport): string {
  const lines = [TAX_CSV_HEADER.map((h) => cell(h, false)).join(',')];
  for (const part of [report.partI, report.partII]) for (const r of part.rows) lines.push(csvRow(part, r));
  return lines.join('\r\n') + '\r\n';
}

export function taxJson(report: TaxYearReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const money = (s: string): string => `<td class="num${s.startsWith('-') ? ' loss' : ''}">${esc(s.startsWith('-') ? `(${s.slice(1)})` : s)}</td>`;

function partTable(p: Form8949Part): string {
  const body = p.rows.length
    ? p.rows
        .map((r) => `<tr><td>${esc(r.description)}</td><td>${form8949Date(r.dateAcquired)}</td><td>${form8949Date(r.dateSold)}</td>${money(r.proceeds)}${money(r.costBasis)}<td></td><td></td>${money(r.gain)}<td class="ref">${esc(r.sellOrderId)} ← ${esc(r.lotOrderId)}</td></tr>`)
        .join('\n')
    : '<tr><td colspan="9" class="empty">No transactions</td></tr>';
  const t = p.totals;
  return `<section>
<h2>Part ${p.part} — ${esc(p.title)}</h2>
<p>Box ${esc(p.box)} checked (transactions not reported to you on a Form 1099).</p>
<table data-part="${p.part}">
<thead><tr><th>(a) Description of property</th><th>(b) Date acquired</th><th>(c) Date sold or disposed of</th><th>(d) Proceeds (sales price)</th><th>(e) Cost or other basis</th><th>(f) Code(s)</th><th>(g) Amount of adjustment</th><th>(h) Gain or (loss)</th><th>Sell ← lot</th></tr></thead>
<tbody>
${body}
</tbody>
<tfoot><tr><th>Totals (line 2)</th><td></td><td></td>${money(t.proceeds)}${money(t.costBasis)}<td></td>${money(t.adjustments)}${money(t.gain)}<td></td></tr></tfoot>
</table>
</section>`;
}

export function taxHtml(report: TaxYearReport): string {
  const sd = report.scheduleD;
  const line = (l: typeof sd.shortTerm): string =>
    `<tr><td>${esc(l.label)}${l.line ? ` (Schedule D line ${esc(l.line)})` : ''}</td>${money(l.proceeds)}${money(l.costBasis)}${money(l.adjustments)}${money(l.gain)}</tr>`;
  const notes: string[] = [
    `Lot method: ${esc(report.method.toUpperCase())}. Dates are UTC calendar dates. Holding period starts the day after acquisition; more than one year is long-term.`,
    'Amounts in US dollars (USD-stablecoin quotes at $1). Fees are added to cost basis on buys and subtracted from proceeds on sells. Each fill is rounded once to cents (half up); split fills share their cents pro rata, the last piece taking the remainder, so rows add up exactly.',
  ];
  if (report.unidentified.length) notes.push(`Not named in the specific identification, matched FIFO: ${report.unidentified.map(esc).join(', ')}.`);
  if (report.residues.length) notes.push(`Float residue absorbed: ${report.residues.map((r) => `${esc(r.orderId)} ${esc(r.qty)} (${r.kind})`).join(', ')}.`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Form 8949 / Schedule D — tax year ${report.year}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #bbb;padding:.25em .6em;text-align:left}
thead th{background:#eee}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.loss{color:#a00}
td.ref{color:#666;font-size:12px}
td.empty{color:#666;font-style:italic}
tfoot{font-weight:bold}
</style></head>
<body>
<h1>Form 8949 and Schedule D — tax year ${report.year}</h1>
${partTable(report.partI)}
${partTable(report.partII)}
<section>
<h2>Schedule D (Form 1040) totals</h2>
<table data-part="schedule-d">
<thead><tr><th></th><th>(d) Proceeds</th><th>(e) Cost or other basis</th><th>(g) Adjustments</th><th>(h) Gain or (loss)</th></tr></thead>
<tbody>
${line(sd.shortTerm)}
${line(sd.longTerm)}
</tbody>
<tfoot><tr><th>Net gain or (loss)</th><td></td><td></td><td></td>${money(sd.netGain)}</tr></tfoot>
</table>
</section>
<section><h2>Notes</h2><ul>${notes.map((n) => `<li>${n}</li>`).join('')}</ul></section>
</body></html>
`;
}

export function formatTax(report: TaxYearReport, format: TaxFormat): string {
  return format === 'csv' ? taxCsv(report) : format === 'html' ? taxHtml(report) : taxJson(report);
}
