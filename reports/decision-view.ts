import { InputError } from '../engine/errors.ts';
import { canonicalJson } from '../engine/hash.ts';
import { why, type ChainHead, type JournalEntry } from '../engine/journal.ts';
import type { Fill } from '../engine/orders.ts';
import { auditHistory, type AuditOrder, type AuditRecord } from './audit.ts';

/**
 * "Why did the agent trade?": one decision from the journal, with everything an auditor asks
 * about it — the factors and their weights, confidence and reasoning, the orders it sent and what
 * became of them (risk checks passed, the limit that rejected one, fills), the outcome marked at
 * the run's last price, and the journal entries it rests on with their hash-chain links.
 * `decisionView` is pure; `decisionHtml` renders one self-contained page (no scripts, no network,
 * every string from the journal escaped).
 */
export type DecisionQuery = { readonly decisionId: string } | { readonly orderId: string } | { readonly ts: number };

export interface EvidenceEntry {
  readonly seq: number;
  readonly ts: number;
  readonly type: string;
  readonly prevHash: string;
  readonly hash: string;
  /** prevHash is the hash of the entry before it in the chain (checked, not assumed). */
  readonly linked: boolean;
}

export interface OrderOutcome {
  readonly orderId: string;
  readonly side: string | null;
  readonly filled: number;
  readonly avgPrice: number | null;
  readonly fees: number;
  /** The symbol's last price in the journal (run_end), null when the run has not ended. */
  readonly mark: number | null;
  /**
   * Filled amount marked at `mark`, fees included: for a buy what holding it to the mark made, for
   * a sell what not holding it did (positive when the price fell after). Null when nothing filled or no mark.
   */
  readonly pnlAtMark: number | null;
}

export interface DecisionView {
  readonly source: string;
  readonly runId: string | null;
  readonly record: AuditRecord;
  /** The decision's structured evidence (an agent's five steps, a debate's votes), as journaled; null when none. */
  readonly detail: unknown;
  readonly fills: readonly Fill[];
  readonly outcomes: readonly OrderOutcome[];
  readonly evidence: readonly EvidenceEntry[];
  /** The whole chain verified (the view refuses a journal that does not). */
  readonly chain: { readonly entries: number; readonly head: ChainHead };
}

function markOf(entries: readonly JournalEntry[], symbol: string): number | null {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    if (e.type !== 'run_end') continue;
    const m = e.payload.marks?.[symbol];
    if (m !== undefined && Number.isFinite(m)) return m;
    const p = e.payload.final?.positions.find((x) => x.symbol === symbol);
    if (p && Number.isFinite(p.lastPrice)) return p.lastPrice;
  }
  return null;
}

function outcomeOf(o: AuditOrder, mark: number | null): OrderOutcome {
  let pnl: number | null = null;
  if (o.filled > 0 && o.avgPrice !== null && mark !== null) {
    const sign = o.side === 'sell' ? -1 : 1;
    pnl = sign * (mark - o.avgPrice) * o.filled - o.fees;
  }
  return { orderId: o.id, side: o.side, filled: o.filled, avgPrice: o.avgPrice, fees: o.fees, mark, pnlAtMark: pnl };
}

function describeQuery(q: DecisionQuery): string {
  if ('decisionId' in q) return `decision "${q.decisionId}"`;
  if ('orderId' in q) return `order "${q.orderId}"`;
  return `a decision at or before ${new Date(q.ts).toISOString()}`;
}

/**
 * The view of one decision. `ts` picks the last decision made at or before that time; an order id
 * picks the decision that sent it (or the order's own record when its decision is not journaled).
 */
export function decisionView(entries: readonly JournalEntry[], query: DecisionQuery, source = 'journal', runId: string | null = null): DecisionView {
  const history = auditHistory(entries, source, runId);
  let record: AuditRecord | undefined;
  if ('decisionId' in query) record = history.records.find((r) => r.kind === 'decision' && r.decisionId === query.decisionId);
  else if ('orderId' in query) {
    // `why` is the engine's own answer to "which order is this"; the record is the one holding it.
    const w = why(entries, { orderId: query.orderId });
    if (w) record = history.records.find((r) => r.orders.some((o) => o.id === w.orderId));
  } else {
    for (const r of history.records) if (r.ts <= query.ts && (record === undefined || r.ts >= record.ts)) record = r;
  }
  if (!record) throw new InputError(`${source}: no ${describeQuery(query)} in the journal`);
  const orderIds = new Set(record.orders.map((o) => o.id));
  const fills = entries.filter((e) => e.type === 'fill' && orderIds.has(e.payload.orderId)).map((e) => e.payload as Fill);
  const mark = markOf(entries, record.symbol);
  const entrySeq = record.entrySeq;
  const entry = entries.find((e) => e.seq === entrySeq);
  const detail = entry?.type === 'decision' && entry.payload.detail !== undefined ? entry.payload.detail : null;
  const bySeq = new Map(entries.map((e, i) => [e.seq, i]));
  const evidence = record.evidenceSeqs.map((seq): EvidenceEntry => {
    const i = bySeq.get(seq)!;
    const e = entries[i]!;
    const prevHash = i === 0 ? '0'.repeat(64) : entries[i - 1]!.hash;
    return { seq, ts: e.ts, type: e.type, prevHash: e.prevHash, hash: e.hash, linked: e.prevHash === prevHash };
  });
  return {
    source, runId: history.runId, record, detail, fills, outcomes: record.orders.map((o) => outcomeOf(o, mark)), evidence,
    chain: { entries: history.entries, head: history.head },
  };
}

// ---------------------------------------------------------------------------------------------
// HTML

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const iso = (ts: number): string => (Number.isFinite(ts) ? new Date(ts).toISOString().replace('.000Z', 'Z') : String(ts));
const fmt = (x: number | null | undefined, digits = 8): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : String(Number(x.toPrecision(digits)));
/** Breach numbers can be strings (e.g. a symbol list): show those as they are. */
const numOrText = (x: number | string | undefined): string => (typeof x === 'string' ? x : fmt(x));
const valueText = (v: unknown): string => (typeof v === 'string' ? v : canonicalJson(v));
const cell = (s: string, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(s)}</td>`;

/** Horizontal bars from a zero line, so negative weights point left. Inline SVG: no script needed. */
export function weightsSvg(weights: Readonly<Record<string, number>>): string {
  const items = Object.entries(weights).filter(([, w]) => Number.isFinite(w));
  if (items.length === 0) return '<p class="muted">No factor weights were journaled.</p>';
  const label = 160;
  const plot = 360;
  const rowH = 26;
  const max = Math.max(...items.map(([, w]) => Math.abs(w))) || 1;
  const hasNeg = items.some(([, w]) => w < 0);
  const zero = label + (hasNeg ? plot / 2 : 0);
  const scale = (hasNeg ? plot / 2 : plot) / max;
  const height = items.length * rowH + 10;
  const bars = items.map(([name, w], i) => {
    const y = 5 + i * rowH;
    const len = Math.abs(w) * scale;
    const x = w < 0 ? zero - len : zero;
    return `<g class="bar" data-factor="${escapeHtml(name)}" data-weight="${w}">` +
      `<text x="${label - 8}" y="${y + 17}" text-anchor="end">${escapeHtml(name)}</text>` +
      `<rect x="${x.toFixed(2)}" y="${y + 4}" width="${len.toFixed(2)}" height="${rowH - 8}" fill="${w < 0 ? '#c0392b' : '#2e86c1'}"><title>${escapeHtml(`${name}: ${w}`)}</title></rect>` +
      `<text x="${(w < 0 ? x - 4 : x + len + 4).toFixed(2)}" y="${y + 17}" text-anchor="${w < 0 ? 'end' : 'start'}" class="v">${escapeHtml(fmt(w, 6))}</text></g>`;
  });
  return `<svg class="weights" role="img" aria-label="factor weights" xmlns="http://www.w3.org/2000/svg" width="${label + plot + 60}" height="${height}" viewBox="0 0 ${label + plot + 60} ${height}">` +
    `<line x1="${zero}" y1="0" x2="${zero}" y2="${height}" stroke="#888"/>${bars.join('')}</svg>`;
}

const STYLE = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1000px;color:#1b1f23;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:26px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f6f8}td.num{text-align:right;font-variant-numeric:tabular-nums}.hash{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
.badge{display:inline-block;padding:3px 10px;border-radius:12px;font-weight:600;font-size:13px}.ok{background:#d4efdf;color:#145a32}.bad{background:#fadbd8;color:#78281f}.loss{color:#a93226}
.muted{color:#666}.reasoning{white-space:pre-wrap;background:#f8f9fa;border-left:3px solid #2e86c1;padding:8px 12px}
pre.detail{background:#f8f9fa;border:1px solid #ddd;padding:8px 12px;overflow:auto;max-height:480px;font-size:12px}
svg.weights text{font-size:12px;fill:#1b1f23}svg.weights text.v{fill:#555}.kv td:first-child{width:180px;color:#555}`;

/** The page (the badge can only say verified: a view is never built from a journal that does not verify). */
export function decisionHtml(view: DecisionView): string {
  const r = view.record;
  const title = r.kind === 'decision' ? `Decision ${r.decisionId ?? ''}` : `Order ${r.orders[0]?.id ?? ''} (no journaled decision)`;
  const factorNames = [...new Set([...Object.keys(r.factors), ...Object.keys(r.weights)])];
  const factors = factorNames.length === 0
    ? '<p class="muted">No factors were journaled.</p>'
    : `<table class="factors"><thead><tr><th>factor</th><th>value</th><th>weight</th></tr></thead><tbody>${factorNames
      .map((k) => `<tr>${cell(k)}${cell(k in r.factors ? valueText(r.factors[k]) : '–', 'num')}${cell(fmt(r.weights[k], 6), 'num')}</tr>`)
      .join('')}</tbody></table>`;
  const orders = r.orders.length === 0
    ? '<p class="muted">This decision sent no order (a hold).</p>'
    : `<table class="orders"><thead><tr><th>order</th><th>side</th><th>type</th><th>amount</th><th>limit price</th><th>status</th><th>risk checks passed</th></tr></thead><tbody>${r.orders
      .map((o) => `<tr>${cell(o.id)}${cell(o.side ?? '–')}${cell(o.type ?? '–')}${cell(fmt(o.amount), 'num')}${cell(fmt(o.price), 'num')}${cell(o.status, `status ${o.status}`)}${cell(o.rejection ? `– (rejected by ${o.rejection.limit})` : o.checks === null ? 'not listed in the journal' : o.checks.join(', ') || '(none configured)')}</tr>`)
      .join('')}</tbody></table>`;
  const rejected = r.orders.filter((o) => o.rejection);
  const rejections = rejected.length === 0
    ? '<p class="muted">No order of this decision was rejected.</p>'
    : `<table class="rejections"><thead><tr><th>order</th><th>limit hit</th><th>scope</th><th>limit</th><th>attempted</th><th>current</th><th>message</th></tr></thead><tbody>${rejected
      .map((o) => {
        const b = o.rejection!;
        return `<tr>${cell(o.id)}${cell(b.limit)}${cell(b.scope ?? '–')}${cell(numOrText(b.limitValue), 'num')}${cell(numOrText(b.attempted), 'num')}${cell(numOrText(b.current), 'num')}${cell(b.message)}</tr>`;
      })
      .join('')}</tbody></table>`;
  const fills = view.fills.length === 0
    ? '<p class="muted">No fills.</p>'
    : `<table class="fills"><thead><tr><th>time</th><th>order</th><th>side</th><th>amount</th><th>price</th><th>fee</th><th>liquidity</th></tr></thead><tbody>${view.fills
      .map((f) => `<tr>${cell(iso(f.ts))}${cell(f.orderId)}${cell(f.side)}${cell(fmt(f.amount), 'num')}${cell(fmt(f.price), 'num')}${cell(fmt(f.fee), 'num')}${cell(f.liquidity)}</tr>`)
      .join('')}</tbody></table>`;
  const outcome = view.outcomes.length === 0
    ? '<p class="muted">Nothing traded, so no outcome to mark.</p>'
    : `<table class="outcome"><thead><tr><th>order</th><th>filled</th><th>average price</th><th>fees</th><th>last price</th><th title="buys: gain of holding the bought amount to the last price; sells: loss avoided (or gain missed) by not holding it">P&amp;L vs last price, after fees</th></tr></thead><tbody>${view.outcomes
      .map((o) => `<tr>${cell(o.orderId)}${cell(fmt(o.filled), 'num')}${cell(fmt(o.avgPrice), 'num')}${cell(fmt(o.fees), 'num')}${cell(fmt(o.mark), 'num')}${cell(o.pnlAtMark === null ? '–' : o.pnlAtMark.toFixed(2), `num pnl${o.pnlAtMark !== null && o.pnlAtMark < 0 ? ' loss' : ''}`)}</tr>`)
      .join('')}</tbody></table>`;
  const chain = `<table class="chain"><thead><tr><th>seq</th><th>time</th><th>entry</th><th>prev hash</th><th>hash</th><th>link</th></tr></thead><tbody>${view.evidence
    .map((e) => `<tr data-seq="${e.seq}">${cell(String(e.seq), 'num')}${cell(iso(e.ts))}${cell(e.type)}${cell(e.prevHash, 'hash')}${cell(e.hash, 'hash')}${cell(e.linked ? '✓ links to seq ' + (e.seq - 1) : '✗ broken', e.linked ? 'ok' : 'bad')}</tr>`)
    .join('')}</tbody></table>`;
  const badge = `<span class="badge ok" id="verified">✓ hash chain verified: ${view.chain.entries} entries, head seq ${view.chain.head.seq}</span>`;
  const kv = (k: string, v: string): string => `<tr>${cell(k)}${cell(v)}</tr>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p>${badge}</p>
<table class="kv summary"><tbody>
${kv('source', view.source)}${kv('run', view.runId ?? '–')}${kv('time', iso(r.ts))}${kv('agent', r.agentId || '–')}${kv('symbol', r.symbol || '–')}${kv('action', r.action || '–')}${kv('confidence', r.confidence === null ? '–' : `${fmt(r.confidence, 6)} / 100`)}
</tbody></table>
<h2>Reasoning</h2>
${r.reasoning ? `<div class="reasoning">${escapeHtml(r.reasoning)}</div>` : '<p class="muted">No reasoning was journaled.</p>'}
${view.detail === null ? '' : `<h2>Detail</h2>\n<pre class="detail">${escapeHtml(JSON.stringify(view.detail, null, 2))}</pre>`}
<h2>Factors and weights</h2>
${factors}
${weightsSvg(r.weights)}
<h2>Orders</h2>
${orders}
<h2>Risk rejections</h2>
${rejections}
<h2>Fills</h2>
${fills}
<h2>Outcome</h2>
${outcome}
<h2>Journal entries (hash chain)</h2>
<p class="muted">Each entry's hash is sha256 of its canonical JSON {payload, prevHash, seq, ts, type}; prev hash is the hash of the entry before it. Chain head: seq ${view.chain.head.seq}, <span class="hash">${escapeHtml(view.chain.head.hash)}</span>.</p>
${chain}
</body></html>
`;
}
