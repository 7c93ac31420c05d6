import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { artifactPath, launchBrowser, watchPage, type PageWatch } from '../support/browser.ts';
import { HOSTILE_NAME, HOSTILE_PARAM, monteCarloHtml, runHtml, sweepHtml, walkForwardHtml } from './tearsheet.support.ts';

/**
 * Each tearsheet kind opened from a file:// URL in real Chromium: it must load with no console
 * error, no failed request and no request but the file itself (everything is inlined), draw data
 * in every chart (series data in the ECharts instance and painted canvas pixels), and keep user
 * strings inert. A full-page screenshot of each is kept in test-artifacts/.
 */

let browser: Browser;
let dir: string;
// One page for every document: opening a page costs more than loading a file into it.
let page: Page;
let watch: PageWatch;

beforeAll(async () => {
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watch = watchPage(page);
  dir = mkdtempSync(join(tmpdir(), 'cs-tearsheet-'));
});

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface ChartState {
  id: string;
  seriesPoints: number;
  paintedPixels: number;
  canvasPixels: number;
}

// Browser-side code as source text: the project's TypeScript has no DOM types (Node only).
const NEXT_FRAME = 'new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))';

/** Per chart: data points in its ECharts series, and canvas pixels painted (alpha > 0). */
const CHART_STATE = `[...document.querySelectorAll('div.chart')].map((div) => {
  const series = window.__csCharts[div.id]?.getOption().series ?? [];
  const canvas = div.querySelector('canvas');
  let painted = 0, total = 0;
  if (canvas) {
    const img = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    total = canvas.width * canvas.height;
    for (let i = 3; i < img.length; i += 4) if (img[i] > 0) painted++;
  }
  return { id: div.id, seriesPoints: series.reduce((a, s) => a + (s.data?.length ?? 0), 0), paintedPixels: painted, canvasPixels: total };
})`;

const kinds: [string, () => string, number][] = [
  ['run', runHtml, 6],
  ['sweep', sweepHtml, 1],
  ['walkforward', walkForwardHtml, 3],
  ['montecarlo', monteCarloHtml, 1],
];

describe('tearsheets in Chromium', () => {
  it.each(kinds)('%s: loads offline, draws every chart, keeps data strings inert', async (kind, build, expectedCharts) => {
    const file = join(dir, `${kind}.html`);
    writeFileSync(file, build());
    const url = pathToFileURL(file).href;
    watch.reset();
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('body[data-charts-ready]', { timeout: 15_000 });
    // A frame for ECharts' first paint (it draws on the next animation frame).
    await page.evaluate(NEXT_FRAME);
    const charts = (await page.evaluate(CHART_STATE)) as ChartState[];
    // JPEG: a full-page PNG of a long report takes seconds to encode.
    await page.screenshot({ path: artifactPath(`tearsheet-${kind}.jpg`), fullPage: true, type: 'jpeg', quality: 70 });

    expect(watch.pageErrors).toEqual([]);
    expect(watch.consoleErrors).toEqual([]);
    expect(watch.failedRequests).toEqual([]);
    expect(watch.requests).toEqual([url]);
    expect(watch.dialogs).toEqual([]);

    expect(charts.length).toBe(expectedCharts);
    for (const c of charts) {
      expect(c.seriesPoints, c.id).toBeGreaterThan(0);
      expect(c.canvasPixels, c.id).toBeGreaterThan(0);
      // Axes and labels alone paint ~1–2 % of a chart; data fills far more (lines, areas, cells).
      expect(c.paintedPixels / c.canvasPixels, c.id).toBeGreaterThan(0.02);
    }

    // Markup in names and parameters is shown as text, not run.
    const text = String(await page.evaluate('document.body.innerText'));
    if (kind !== 'montecarlo') expect(text).toContain(HOSTILE_NAME);
    expect(text).toContain(HOSTILE_PARAM);
    expect(await page.evaluate("document.querySelectorAll('main script, main img').length")).toBe(0);
  });

  it('an empty chart is told apart from a drawn one (the pixel check can fail)', async () => {
    // Only axes, no data: what a chart with an empty series paints.
    const file = join(dir, 'empty.html');
    const html = runHtml().replace(/<script type="application\/json" id="cs-charts">[\s\S]*?<\/script>/, () =>
      `<script type="application/json" id="cs-charts">[{"id":"equity","option":{"xAxis":{"type":"time"},"yAxis":{"type":"value"},"series":[{"type":"line","data":[]}]}}]</script>`,
    );
    writeFileSync(file, html);
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('body[data-charts-ready]');
    await page.evaluate(NEXT_FRAME);
    const [state] = (await page.evaluate(CHART_STATE)) as ChartState[];
    const share = state!.paintedPixels / state!.canvasPixels;
    expect(share).toBeLessThan(0.02);
  });
});
