import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../engine/errors.ts';
import { Journal } from '../../engine/journal.ts';
import { openStore } from '../../datasets/store.ts';
import { writeJournal } from '../../datasets/journal-store.ts';
import { decisionHtml, decisionView } from '../../reports/decision-view.ts';
import { csInProcess as cs } from '../support/cli.ts';
import { artifactPath, launchBrowser, watchPage } from '../support/browser.ts';
import { clone, sampleJournal, T0 } from '../engine/journal.support.ts';

/**
 * The sample journal (test/engine/journal.support.ts): d1 buys 1 BTC in two fills of 0.5 @100 (fee
 * 0.05 each), d2 sells 0.4 @110 (fee 0.044), d3 leaves a limit buy resting, d4's order is rejected
 * by maxPositionNotional (limit 5000, attempted 11 060, current 660); run_end marks BTC at 112.
 */
const entries = sampleJournal().entries();
let dir: string;
const f = (name: string): string => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cs-audit-decision-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('decisionView', () => {
  it('d1: its order, both fills, and the outcome marked at the last price, worked by hand', () => {
    const v = decisionView(entries, { decisionId: 'd1' });
    expect(v.record).toMatchObject({ decisionId: 'd1', action: 'buy', confidence: 62, reasoning: 'RSI oversold', weights: { rsi: 0.7, trend: 0.3 } });
    expect(v.fills.map((x) => [x.amount, x.price, x.fee])).toEqual([[0.5, 100, 0.05], [0.5, 100, 0.05]]);
    // bought 1 @ 100 with 0.10 fees, marked at 112: 1 × (112 − 100) − 0.10 = 11.90
    expect(v.outcomes).toHaveLength(1);
    expect(v.outcomes[0]!).toMatchObject({ orderId: 'o1', filled: 1, avgPrice: 100, mark: 112 });
    expect(v.outcomes[0]!.pnlAtMark).toBeCloseTo(11.9, 10);
    expect(v.evidence.map((e) => [e.seq, e.type, e.linked])).toEqual([
      [2, 'decision', true], [3, 'order_submitted', true], [4, 'order_accepted', true], [5, 'fill', true], [6, 'fill', true],
    ]);
    expect(v.evidence[0]!.prevHash).toBe(entries[0]!.hash);
    expect(v.chain).toEqual({ entries: 17, head: { seq: 17, hash: entries[16]!.hash } });
  });

  it('a sell marks the other way: 0.4 × (110 − 112) − 0.044 = −0.844', () => {
    const v = decisionView(entries, { decisionId: 'd2' });
    expect(v.outcomes[0]!.pnlAtMark).toBeCloseTo(-0.844, 10);
  });

  it('by order id or by time; nothing found → InputError; an altered journal is refused', () => {
    expect(decisionView(entries, { orderId: 'o4' }).record.decisionId).toBe('d4');
    expect(decisionView(entries, { ts: T0 + 200_000 }).record.decisionId).toBe('d2'); // d2 at +180 s, d3/d4 at +240 s
    expect(decisionView(entries, { ts: T0 + 240_000 }).record.decisionId).toBe('d4');
    expect(() => decisionView(entries, { ts: T0 })).toThrow(InputError);
    expect(() => decisionView(entries, { decisionId: 'nope' }, 'run r1')).toThrow(/run r1: no decision "nope"/);
    const bad = clone(entries);
    (bad[1]!.payload as { confidence: number }).confidence = 99;
    expect(() => decisionView(bad, { decisionId: 'd1' })).toThrow(/does not verify \(hash-mismatch at entry 2/);
  });

  it('HTML: every journaled string is escaped', () => {
    const j = new Journal();
    const evil = '<script>window.__pwned=1</script>';
    j.append('decision', {
      id: 'x"><img src=x onerror="window.__pwned=2">', ts: T0, agentId: `llm ${evil}`, symbol: 'BTC/USDT', action: 'buy',
      factors: { [`<b>f</b>`]: '<i>v</i>' }, weights: { [`<b>f</b>`]: 1 }, confidence: 50, reasoning: `because ${evil} & more`, orderIds: [],
      detail: { steps: [{ step: 'observe', note: evil }] },
    }, T0);
    const view = decisionView(j.entries(), { ts: T0 });
    expect(view.detail).toEqual({ steps: [{ step: 'observe', note: evil }] });
    const html = decisionHtml(view);
    expect(html).toContain('&quot;note&quot;: &quot;&lt;script&gt;window.__pwned=1&lt;/script&gt;&quot;');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>f</b>');
    expect(html).toContain('because &lt;script&gt;window.__pwned=1&lt;/script&gt; &amp; more');
  });
});

describe('cs audit decision --html, in real Chromium', () => {
  let browser: Browser;
  let db: string;
  beforeAll(async () => {
    db = f('a.duckdb');
    const s = await openStore(db);
    await writeJournal(s, 'r1', entries);
    await s.close();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(file: string) {
    const page = await browser.newPage();
    const w = watchPage(page);
    await page.goto(pathToFileURL(file).href);
    const problems = (): string[] => [...w.consoleErrors, ...w.pageErrors, ...w.failedRequests, ...w.dialogs];
    return { page, problems, requests: w.requests };
  }

  it('d4: factors with weight bars, the rejection with the limit hit, the chain links and the verified badge', async () => {
    const out = f('d4.html');
    const r = await cs(['audit', 'decision', '--order', 'o4', '--run', 'r1', '--db', db, '--html', out]);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toContain('decision d4: buy BTC/USDT by a1, confidence 62; o4 rejected; journal seq 14, 15');
    const { page, problems, requests } = await open(out);
    try {
      expect(requests).toEqual([pathToFileURL(out).href]); // self-contained: nothing else is fetched
      expect(await page.locator('#verified').textContent()).toBe('✓ hash chain verified: 17 entries, head seq 17');
      expect(await page.locator('table.factors tbody tr').allTextContents()).toEqual(['rsi27.40.7', 'trendUptrue–', 'trend–0.3']);
      // bars drawn to scale: widths in the ratio of the weights 0.7 : 0.3
      const widths = await page.locator('svg.weights rect').evaluateAll((rs) => rs.map((x) => (x as unknown as { getBBox(): { width: number } }).getBBox().width));
      expect(widths).toHaveLength(2);
      expect(widths[0]! / widths[1]!).toBeCloseTo(7 / 3, 3); // coordinates are written to 0.01 px
      const rej = await page.locator('table.rejections tbody tr td').allTextContents();
      expect(rej).toEqual(['o4', 'maxPositionNotional', 'global', '5000', '11060', '660', 'too big']);
      const chain = await page.locator('table.chain tbody tr').evaluateAll((rows) => rows.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
      expect(chain.map((c) => [c[0], c[2], c[3], c[4], c[5]])).toEqual([
        ['14', 'decision', entries[12]!.hash, entries[13]!.hash, '✓ links to seq 13'],
        ['15', 'order_rejected', entries[13]!.hash, entries[14]!.hash, '✓ links to seq 14'],
      ]);
      expect(await page.locator('.reasoning').textContent()).toBe('RSI oversold');
      await page.screenshot({ path: artifactPath('audit-decision-d4.png'), fullPage: true });
      expect(problems()).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('d1 (by time): fills and the outcome table; a hostile journal renders as text, no script runs', async () => {
    const out = f('d1.html');
    const r = await cs(['audit', 'decision', '--at', new Date(T0 + 60_000).toISOString(), '--run', 'r1', '--db', db, '--html', out]);
    expect(r.code).toBe(0);
    const { page, problems } = await open(out);
    try {
      expect(await page.locator('table.fills tbody tr').count()).toBe(2);
      expect(await page.locator('table.outcome td.pnl').textContent()).toBe('11.90');
      expect(await page.locator('table.orders td.status').textContent()).toBe('filled');
      expect(problems()).toEqual([]);
    } finally {
      await page.close();
    }

    const j = new Journal();
    j.append('decision', {
      id: 'evil', ts: T0, agentId: 'llm', symbol: 'BTC/USDT', action: 'hold', factors: { '<img src=x onerror="window.__pwned=1">': 1 },
      weights: {}, confidence: 5, reasoning: '<script>window.__pwned=2</script>', orderIds: [],
    }, T0);
    const hostile = f('hostile.html');
    writeFileSync(hostile, decisionHtml(decisionView(j.entries(), { decisionId: 'evil' })));
    const h = await open(hostile);
    try {
      expect(await h.page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned ?? null)).toBeNull();
      expect(await h.page.locator('script, img').count()).toBe(0);
      expect(await h.page.locator('.reasoning').textContent()).toBe('<script>window.__pwned=2</script>');
      expect(h.problems()).toEqual([]);
    } finally {
      await h.page.close();
    }
  });

  it('bad input → exit 2 and no file: two selectors, an unknown decision', async () => {
    const out = f('none.html');
    const a = await cs(['audit', 'decision', 'd1', '--order', 'o1', '--run', 'r1', '--db', db, '--html', out]);
    expect(a.code).toBe(2);
    const b = await cs(['audit', 'decision', 'd9', '--run', 'r1', '--db', db, '--html', out]);
    expect([b.code, b.err]).toEqual([2, expect.stringMatching(/no decision "d9"/)]);
    expect(() => readFileSync(out)).toThrow();
  });
});
