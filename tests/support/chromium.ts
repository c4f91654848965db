/**
 * Real Chromium for the e2e suites: Debian's /usr/bin/chromium driven by playwright-core (no browser
 * download), a fresh temporary profile per launch, and screenshots a person can look at afterwards.
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page, type Response } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Issue 5: headless, no sandbox (containers), no GPU, nothing phoning home. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where screenshots and page logs go (git-ignored). */
export const ARTIFACTS_DIR = new URL('../../test-artifacts/e2e/', import.meta.url).pathname;

/** The screenshots the README shows (committed). */
export const DOCS_SCREENSHOTS_DIR = new URL('../../docs/screenshots/', import.meta.url).pathname;

/** With UPDATE_SCREENSHOTS=1, copies a screenshot to docs/screenshots/<name>.png; otherwise does nothing. */
export function keepForDocs(screenshot: string, name: string): void {
  if (process.env['UPDATE_SCREENSHOTS'] !== '1') return;
  mkdirSync(DOCS_SCREENSHOTS_DIR, { recursive: true });
  copyFileSync(screenshot, join(DOCS_SCREENSHOTS_DIR, `${name}.png`));
}

/**
 * Launches Chromium. Playwright gives the browser a fresh temporary user-data dir and removes it on
 * close; every `newContext()` is a separate cookie jar on top of that (one per simulated user).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS, headless: true, timeout: 30_000 });
}

export interface PageWatch {
  /** Every response the page received (main frame and subresources, any origin). */
  readonly responses: Response[];
  /** Dialogs the page opened (alert/confirm/prompt/beforeunload); none are expected. */
  readonly dialogs: string[];
  /** Console errors and uncaught page errors, for the artifacts log. */
  readonly errors: string[];
  /**
   * Content-Security-Policy violations: Chromium's own console reports ("Refused to … because it
   * violates …") and `securitypolicyviolation` events (see CSP_VIOLATION_LISTENER), with the page URL.
   */
  readonly cspViolations: string[];
}

const CSP_VIOLATION_PREFIX = 'csp-violation:';

/** Runs in every document before its own scripts: reports each violation event on the console. */
const CSP_VIOLATION_LISTENER = `document.addEventListener('securitypolicyviolation', (event) => {
  console.error(${JSON.stringify(CSP_VIOLATION_PREFIX)} + ' ' + event.effectiveDirective + ' blocked ' + (event.blockedURI || 'inline') + ' in ' + event.documentURI);
});`;

/** Records what a page does, so tests can assert on it and failures leave a readable log. */
export function watchPage(page: Page): PageWatch {
  const watch: PageWatch = { responses: [], dialogs: [], errors: [], cspViolations: [] };
  page.on('response', (response) => watch.responses.push(response));
  page.on('dialog', (dialog) => {
    watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss().catch(() => {});
  });
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error') watch.errors.push(`console: ${message.text()}`);
    if (message.text().startsWith(CSP_VIOLATION_PREFIX) || /Content Security Policy/.test(message.text())) {
      watch.cspViolations.push(`${message.text()} (page ${page.url()})`);
    }
  });
  page.on('pageerror', (error) => watch.errors.push(`pageerror: ${error.message}`));
  return watch;
}

/**
 * Screenshots of one test's steps: `test-artifacts/e2e/<test>/<NN>-<step>.png`, numbered in the
 * order taken. The folder is emptied first so a run never shows an older run's pictures.
 */
export class Screenshots {
  private count = 0;
  readonly dir: string;

  constructor(test: string) {
    this.dir = join(ARTIFACTS_DIR, slug(test));
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
  }

  async shot(page: Page, step: string): Promise<string> {
    this.count += 1;
    const path = join(this.dir, `${String(this.count).padStart(2, '0')}-${slug(step)}.png`);
    // A screenshot taken while the page is between two documents (a redirect chain) fails with
    // "Unable to capture screenshot": let the current navigation settle, and try once more.
    await page.waitForLoadState('load', { timeout: 15_000 }).catch(() => {});
    await page.screenshot({ path, timeout: 15_000 }).catch(async () => {
      await page.waitForLoadState('load', { timeout: 15_000 }).catch(() => {});
      await page.screenshot({ path, timeout: 15_000 });
    });
    return path;
  }

  /**
   * Runs one test's steps; when they fail, saves a `failure` screenshot of each page (and its HTML)
   * before rethrowing, so the artifacts show where it stopped.
   */
  async run(pages: readonly Page[], steps: () => Promise<void>): Promise<void> {
    try {
      await steps();
    } catch (error) {
      for (const [index, page] of pages.entries()) {
        if (page.isClosed()) continue;
        await this.shot(page, `failure ${index + 1}`).catch(() => {});
        const html = await page.content().catch(() => '');
        this.write(`failure-${index + 1}.html`, html);
      }
      throw error;
    }
  }

  /** Writes a text file next to the screenshots (e.g. the page's console errors). */
  note(name: string, lines: readonly string[]): void {
    this.write(`${slug(name)}.txt`, `${lines.join('\n')}\n`);
  }

  /** (Re)creates the folder first: another run of the same suite in this checkout may have emptied it. */
  private write(file: string, content: string): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, file), content);
  }
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
}

/** A page in its own context (its own cookies and storage), and what it did. */
export interface OpenPage {
  context: BrowserContext;
  page: Page;
  watch: PageWatch;
}

/** A new isolated context (its own cookies and storage) with a page of a size OHIF lays out well. */
export async function newPage(browser: Browser): Promise<OpenPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ignoreHTTPSErrors: false });
  await context.addInitScript(CSP_VIOLATION_LISTENER);
  const page = await context.newPage();
  return { context, page, watch: watchPage(page) };
}

/**
 * Runs one test's steps in fresh pages, one per name (a simulated user each), with
 * `Screenshots(test)`: on failure a screenshot of every page; always the pages' errors noted and
 * their contexts closed.
 */
export async function withPages<Name extends string>(
  browser: Browser,
  test: string,
  names: readonly Name[],
  steps: (pages: Record<Name, OpenPage>, shots: Screenshots) => Promise<void>,
): Promise<void> {
  const shots = new Screenshots(test);
  const opened: OpenPage[] = [];
  try {
    while (opened.length < names.length) opened.push(await newPage(browser));
    const pages = Object.fromEntries(names.map((name, index) => [name, opened[index]!])) as Record<Name, OpenPage>;
    await shots.run(
      opened.map(({ page }) => page),
      () => steps(pages, shots),
    );
  } finally {
    shots.note('page errors', opened.flatMap(({ watch }) => watch.errors));
    await Promise.all(opened.map(({ context }) => context.close()));
  }
}

/** withPages for one page. */
export function withPage(browser: Browser, test: string, steps: (opened: OpenPage & { shots: Screenshots }) => Promise<void>): Promise<void> {
  return withPages(browser, test, ['only'], ({ only }, shots) => steps({ ...only, shots }));
}

/** Resolves with `promise`, or fails with `message` after `ms` (a deadline, not a wait). */
export async function withDeadline<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
