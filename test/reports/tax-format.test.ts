import { describe, expect, it } from 'vitest';
import { taxReport } from '../../reports/tax.ts';
import { taxCsv, taxHtml, taxJson, TAX_CSV_HEADER } from '../../reports/tax-format.ts';
import { buy, sell } from './tax.support.ts';

describe('tax report formats', () => {
  // a loss (bought 100 + 1 fee, sold 90 − 1: 89.00 − 101.00 = −12.00) on an asset whose name a
  // spreadsheet would run as a formula, and an order id with a comma and a quote
  const r = taxReport(
    [buy('b,"1"', '2024-01-01', 1, 100, 1, '=HYPERLINK/USD'), sell('<s>', '2024-02-01', 1, 90, 1, '=HYPERLINK/USD')],
    { method: 'fifo', year: 2024 },
  );

  it('CSV: one column per header, RFC 4180 quoting, formula-looking text defused, losses as numbers', () => {
    const lines = taxCsv(r).split('\r\n');
    expect(lines[0]!.split(',').length).toBe(TAX_CSV_HEADER.length);
    expect(lines[1]).toBe(`I,C,1 =HYPERLINK,01/01/2024,02/01/2024,89.00,101.00,,,-12.00,short,'=HYPERLINK,1,'=HYPERLINK/USD,<s>,"b,""1"""`);
    expect(lines[2]).toBe('');
  });

  it('HTML: text escaped, a loss in parentheses, no scripts or outside links', () => {
    const html = taxHtml(r);
    expect(html).toContain('&lt;s&gt; ← b,&quot;1&quot;');
    expect(html).toContain('<td class="num loss">(12.00)</td>');
    expect(html).not.toMatch(/<script|https?:\/\/|<s>/);
  });

  it('JSON: the report object itself', () => {
    expect(JSON.parse(taxJson(r))).toEqual(JSON.parse(JSON.stringify(r)));
  });
});
