import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { EChartsOption } from 'echarts';

/**
 * The page shell every tearsheet shares: one self-contained HTML file. The ECharts browser bundle
 * is inlined (nothing is fetched when the file is opened), chart options travel as JSON in a
 * `<script type="application/json">` block, and every string that came from data is escaped.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an HTML element body or a quoted attribute value. */
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/**
 * JSON that can sit inside a <script> element: `<` becomes \u003c so no `</script>` or `<!--`
 * in a strategy name or parameter can end the block; U+2028/2029 are escaped for old parsers.
 */
export function scriptJson(value: unknown): string {
  const text = JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
  return text.replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

let bundle: string | undefined;

/**
 * The minified ECharts browser bundle, read once from the installed package (the `echarts`
 * dependency), made safe to inline: a `</script` or `<!--` inside it would end or confuse the
 * script element, and in JavaScript `<\/` means the same as `</` wherever it can appear.
 */
export function echartsBundle(): string {
  if (bundle === undefined) {
    const entry = createRequire(import.meta.url).resolve('echarts');
    const text = readFileSync(join(dirname(entry), 'echarts.min.js'), 'utf8');
    bundle = text.replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\!--');
  }
  return bundle;
}

export interface ChartSpec {
  readonly id: string;
  readonly option: EChartsOption;
  readonly height?: number;
}

/** Pieces of a page body, in order. */
export type Block = { readonly html: string } | { readonly chart: ChartSpec };

export const chart = (id: string, option: EChartsOption, height?: number): Block => ({ chart: { id, option, ...(height ? { height } : {}) } });

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;background:#f5f6f8}
main{max-width:1180px;margin:0 auto;padding:20px 24px 60px}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dce3;padding-bottom:4px}
.sub{color:#5b6472;margin:0 0 12px}
.chart{background:#fff;border:1px solid #e1e4ea;border-radius:6px;margin:10px 0;width:100%}
table{border-collapse:collapse;background:#fff;margin:8px 0;font-size:13px}
th,td{border:1px solid #e1e4ea;padding:4px 8px;text-align:right;white-space:nowrap}
th{background:#eef1f5}td.l,th.l{text-align:left}
.scroll{max-height:420px;overflow:auto;display:inline-block;max-width:100%}
.pass{color:#137a3a;font-weight:600}.fail{color:#b3261e;font-weight:600}.warn{color:#9a6700}
.grid2{display:flex;flex-wrap:wrap;gap:0 24px;align-items:flex-start}
code{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
`;

/** Draws every chart on a canvas; instances are kept on window.__csCharts for inspection. */
const CLIENT = `
(function () {
  var specs = JSON.parse(document.getElementById('cs-charts').textContent);
  var charts = {};
  window.__csCharts = charts;
  specs.forEach(function (s) {
    var c = echarts.init(document.getElementById(s.id), null, { renderer: 'canvas' });
    c.setOption(s.option);
    charts[s.id] = c;
  });
  window.addEventListener('resize', function () { for (var k in charts) charts[k].resize(); });
  document.body.setAttribute('data-charts-ready', String(specs.length));
})();
`;

export function page(input: { readonly title: string; readonly subtitle?: string; readonly blocks: readonly Block[] }): string {
  const charts: ChartSpec[] = [];
  const body = input.blocks
    .map((b) => {
      if ('html' in b) return b.html;
      charts.push(b.chart);
      return `<div class="chart" id="${escapeHtml(b.chart.id)}" style="height:${b.chart.height ?? 360}px"></div>`;
    })
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.title)}</title>
<style>${STYLE}</style>
</head><body>
<main>
<h1>${escapeHtml(input.title)}</h1>
${input.subtitle ? `<p class="sub">${escapeHtml(input.subtitle)}</p>` : ''}
${body}
</main>
<script>${echartsBundle()}</script>
<script type="application/json" id="cs-charts">${scriptJson(charts.map((c) => ({ id: c.id, option: c.option })))}</script>
<script>${CLIENT}</script>
</body></html>
`;
}

export const section = (title: string, ...inner: string[]): string => `<h2>${escapeHtml(title)}</h2>\n${inner.join('\n')}`;

export interface Column<T> {
  readonly head: string;
  readonly cell: (row: T) => string;
  /** Left-aligned (text) rather than right-aligned (numbers). */
  readonly text?: boolean;
  /** The cell is already HTML (a class on a verdict); otherwise it is escaped. */
  readonly html?: boolean;
}

/** A table of rows; every cell escaped unless its column says it is HTML. */
export function table<T>(columns: readonly Column<T>[], rows: readonly T[], opts: { scroll?: boolean } = {}): string {
  const head = columns.map((c) => `<th${c.text ? ' class="l"' : ''}>${escapeHtml(c.head)}</th>`).join('');
  const body = rows.map((r) => `<tr>${columns.map((c) => `<td${c.text ? ' class="l"' : ''}>${c.html ? c.cell(r) : escapeHtml(c.cell(r))}</td>`).join('')}</tr>`).join('\n');
  const t = `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
  return opts.scroll ? `<div class="scroll">${t}</div>` : t;
}

/** Two-column key/value table. */
export function keyValues(pairs: readonly (readonly [string, string])[]): string {
  return table<readonly [string, string]>([{ head: 'field', cell: (p) => p[0], text: true }, { head: 'value', cell: (p) => `<code>${escapeHtml(p[1])}</code>`, text: true, html: true }], pairs);
}

export const paragraph = (text: string, cls?: string): string => `<p${cls ? ` class="${cls}"` : ''}>${escapeHtml(text)}</p>`;
