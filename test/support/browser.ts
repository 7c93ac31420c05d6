import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from './cli.ts';

/** Debian's Chromium; `npx playwright install` cannot work here, so playwright-core drives this one. */
export const CHROMIUM = '/usr/bin/chromium';

/** Where screenshots and other test artefacts go (git-ignored). */
export const ARTIFACTS = join(ROOT, 'test-artifacts');

/**
 * Launches headless Chromium with a fresh profile and no background traffic. A missing browser is
 * a failure with the reason, never a skip: the global setup installs it (test/setup/provision.ts).
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the report tests need Debian's chromium (apt-get install chromium; test/setup/provision.ts installs it when run as root)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

export interface PageWatch {
  readonly consoleErrors: string[];
  readonly pageErrors: string[];
  readonly failedRequests: string[];
  /** Every URL the page asked for, the page itself included. */
  readonly requests: string[];
  readonly dialogs: string[];
  /** Forget everything seen so far (one page reused for several documents). */
  reset(): void;
}

/** Records what a test must see empty: console errors, uncaught errors, failed or unexpected requests, dialogs. */
export function watchPage(page: Page): PageWatch {
  const w: PageWatch = {
    consoleErrors: [],
    pageErrors: [],
    failedRequests: [],
    requests: [],
    dialogs: [],
    reset() {
      for (const a of [w.consoleErrors, w.pageErrors, w.failedRequests, w.requests, w.dialogs]) a.length = 0;
    },
  };
  page.on('console', (m) => {
    if (m.type() === 'error') w.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => w.pageErrors.push(String(e)));
  page.on('requestfailed', (r) => w.failedRequests.push(`${r.url()}: ${r.failure()?.errorText ?? ''}`));
  page.on('request', (r) => w.requests.push(r.url()));
  page.on('dialog', (d) => {
    w.dialogs.push(d.message());
    void d.dismiss();
  });
  return w;
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
