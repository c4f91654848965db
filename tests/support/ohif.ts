/**
 * The real OHIF viewer in e2e tests: the pinned build (scripts/fetch-ohif.mjs), Bearer-mode copies of
 * it with a substituted app-config.js, and page checks that look at pixels rather than the DOM.
 *
 * Browser-side code is passed to page.evaluate as strings: the project's tsconfig has no DOM lib,
 * and these few lines are easier to read as the JavaScript they are. (Not page.waitForFunction: it
 * compiles a string with eval inside the page, which the viewer's Content-Security-Policy refuses.)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';

/** Fetches (once, cached in .cache/) the pinned OHIF build with our session-mode app-config.js; returns its dist folder. */
export async function fetchOhifDist(): Promise<string> {
  const script = fileURLToPath(new URL('../../scripts/fetch-ohif.mjs', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [script], { maxBuffer: 1 << 20 });
  const dist = stdout.trim().split('\n').at(-1);
  if (!dist) throw new Error('scripts/fetch-ohif.mjs printed no dist folder');
  return dist;
}

export interface BearerDist {
  dir: string;
  appConfig: string;
  remove(): Promise<void>;
}

/**
 * A Bearer-mode viewer folder: symlinks to every file of the cached OHIF build (left untouched) plus
 * ohif/app-config.bearer.js as app-config.js with `__OIDC_AUTHORITY__` = `authority`. With
 * `gatewayUrl`, the DICOMweb roots point at that gateway instead of the page's own origin (the
 * header of app-config.bearer.js describes this edit for a viewer served from another origin).
 * `scope`: what OHIF asks the IdP for instead of `openid profile email` (the header's SMART edit).
 * `into`: an existing empty folder to fill (e.g. one a static server already serves).
 */
export async function makeBearerDist(
  ohifDist: string,
  { authority, gatewayUrl, scope, into }: { authority: string; gatewayUrl?: string; scope?: string; into?: string },
): Promise<BearerDist> {
  const template = await readFile(new URL('../../ohif/app-config.bearer.js', import.meta.url), 'utf8');
  if (!template.includes("'__OIDC_AUTHORITY__'")) throw new Error('ohif/app-config.bearer.js no longer has the __OIDC_AUTHORITY__ placeholder');
  let appConfig = template.replaceAll('__OIDC_AUTHORITY__', authority);
  if (gatewayUrl) {
    const line = 'var gateway = window.location.origin;';
    if (!appConfig.includes(line)) throw new Error(`ohif/app-config.bearer.js no longer has "${line}"`);
    appConfig = appConfig.replace(line, `var gateway = ${JSON.stringify(gatewayUrl)};`);
  }
  if (scope) {
    const line = "var scope = 'openid profile email';";
    if (!appConfig.includes(line)) throw new Error(`ohif/app-config.bearer.js no longer has "${line}"`);
    appConfig = appConfig.replace(line, `var scope = ${JSON.stringify(scope)};`);
  }
  const dir = into ?? (await mkdtemp(join(tmpdir(), 'ohif-bearer-')));
  for (const entry of await readdir(ohifDist)) {
    if (entry !== 'app-config.js') await symlink(join(ohifDist, entry), join(dir, entry));
  }
  await writeFile(join(dir, 'app-config.js'), appConfig);
  return { dir, appConfig, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Fills the dev IdP's login form (src/devidp/pages.ts) and submits it. */
export async function submitIdpLogin(page: Page, username: string, password: string): Promise<void> {
  await page.locator('#kc-form-login').waitFor();
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#kc-login');
}

/**
 * Picks `item` from the viewer header's settings menu (the gear at the right; OHIF gives it no
 * accessible name), after closing the guided tour OHIF shows over the first viewer visit.
 */
export async function chooseFromViewerMenu(page: Page, item: string, timeout = 60_000): Promise<void> {
  const skipTour = page.getByRole('button', { name: 'Skip all' });
  await skipTour.waitFor({ timeout: 15_000 }).then(
    () => skipTour.click({ timeout }),
    () => undefined, // no tour this time
  );
  await page.locator('.shepherd-modal-is-visible').waitFor({ state: 'detached', timeout });
  await page.locator('div.flex-shrink-0 > button[aria-haspopup="menu"]').click({ timeout });
  await page.getByRole('menuitem', { name: item }).click({ timeout });
}

/** The study list row of a patient ("Doe, Ct" for DICOM "Doe^Ct"). */
export function studyRow(page: Page, patientName: string) {
  return page.locator('tr', { hasText: patientName });
}

export interface PixelStats {
  width: number;
  height: number;
  /** Distinct values of the red channel (the images are grey). */
  distinct: number;
  /** Fractions of the canvas that are black (< 10), mid grey (30–220) and bright (> 200). */
  dark: number;
  mid: number;
  bright: number;
}

/**
 * Browser-side: statistics of a canvas' pixels, or null while it is not drawn yet. `selector` picks
 * the canvas; its 2D context is read back with getImageData (cornerstone3D draws its WebGL output
 * onto a 2D canvas, so this is what the user sees).
 */
const CANVAS_STATS = `(selector) => {
  const canvas = document.querySelector(selector);
  if (!canvas || !canvas.width || !canvas.height) return null;
  const ctx = canvas.getContext('2d');
  if (!ctx) return null;
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const seen = new Set();
  let dark = 0, mid = 0, bright = 0;
  for (let i = 0; i < data.length; i += 4) {
    const v = data[i];
    seen.add(v);
    if (v < 10) dark++;
    if (v >= 30 && v <= 220) mid++;
    if (v > 200) bright++;
  }
  const n = data.length / 4;
  return { width: canvas.width, height: canvas.height, distinct: seen.size, dark: dark / n, mid: mid / n, bright: bright / n };
}`;

/**
 * Waits until the first cornerstone viewport shows an image, not a blank or uniform canvas: the
 * phantom of tests/support/dicom.ts has a black background, a grey body and a bright disc.
 */
export async function waitForRenderedViewport(page: Page, timeout = 60_000): Promise<PixelStats> {
  return pollInPage<PixelStats>(
    page,
    `(() => { const s = (${CANVAS_STATS})('.cornerstone-canvas'); return s && s.distinct >= 8 && s.dark > 0.05 && s.mid > 0.1 && s.bright > 0.005 ? s : null; })()`,
    timeout,
  );
}

/**
 * Evaluates `expression` in the page every 250 ms until it yields something other than null /
 * undefined / false, and returns that (as page.waitForFunction would, without eval in the page).
 */
export async function pollInPage<T>(page: Page, expression: string, timeout = 60_000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    // A navigation in progress destroys the execution context: try again on the next round.
    const value = await page.evaluate<unknown>(expression).catch(() => null);
    if (value !== null && value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`pollInPage: timed out after ${timeout} ms waiting for ${expression.slice(0, 120)}…`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Browser-side: draws every study-browser thumbnail image into a canvas and reports its size and distinct grey levels. */
const THUMBNAILS = `(() => Array.from(document.querySelectorAll('[data-cy="study-browser-thumbnail"] img')).map((img) => {
  if (!img.complete || !img.naturalWidth) return { width: 0, distinct: 0 };
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const seen = new Set();
  for (let i = 0; i < data.length; i += 4) seen.add(data[i]);
  return { width: img.naturalWidth, distinct: seen.size };
}))()`;

/** Waits until `count` series thumbnails show real images (non-empty, more than a few grey levels). */
export async function waitForThumbnails(page: Page, count = 1, timeout = 60_000): Promise<Array<{ width: number; distinct: number }>> {
  return pollInPage<Array<{ width: number; distinct: number }>>(
    page,
    `(() => { const t = ${THUMBNAILS}; return t.filter((x) => x.width > 0 && x.distinct >= 3).length >= ${count} ? t : null; })()`,
    timeout,
  );
}

/** fetch() from inside the page (its cookies, its origin); returns the status and a few headers. */
export async function fetchInPage(
  page: Page,
  url: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; wwwAuthenticate: string | null; contentType: string | null }> {
  return page.evaluate(
    `(async () => {
      const r = await fetch(${JSON.stringify(url)}, Object.assign({ redirect: 'manual' }, ${JSON.stringify(init)}));
      return { status: r.status, wwwAuthenticate: r.headers.get('www-authenticate'), contentType: r.headers.get('content-type') };
    })()`,
  );
}
