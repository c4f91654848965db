import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { viewerContentSecurityPolicy } from './content-security.js';

/** Gateway paths that must never turn into the viewer's index.html. */
const RESERVED_PREFIXES = ['/pacs', '/pacs-admin', '/auth', '/share', '/healthz', '/readyz', '/metrics'];

/** OHIF's webpack output names chunks, wasm and fonts with a 16-hex content hash; only those may be cached for good. */
const HASHED_FILE = /(^|\.)[0-9a-f]{16}\.[a-z0-9]+$/;

function isReserved(path: string): boolean {
  return RESERVED_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

/** Browser navigations ask for text/html explicitly; scripts, images and fetch() send *\/* or their own type. */
function isNavigation(req: Request): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && (req.get('accept') ?? '').includes('text/html');
}

/** One of the viewer's HTML documents (index.html, silent-refresh.html, …), however the path spells it. */
function namesHtmlFile(path: string): boolean {
  try {
    return /\.html?$/i.test(decodeURIComponent(path)); // the static server decodes `/%69ndex.html` to index.html
  } catch {
    return true; // undecodable: not a file the static server would find either way, so refusing costs nothing
  }
}

/** Requests answered with an HTML document of the viewer: its .html files, and index.html as the history fallback. */
function asksForPage(req: Request): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  return namesHtmlFile(req.path) || (isNavigation(req) && !isReserved(req.path));
}

function setCacheControl(res: Response, path: string): void {
  // Everything else (index.html, app-config.js, app.bundle.css, assets/) keeps its name across releases: revalidate.
  res.setHeader('Cache-Control', HASHED_FILE.test(basename(path)) ? 'public, max-age=31536000, immutable' : 'no-cache');
}

export interface ViewerOptions {
  /** Decides who may load the viewer's pages. */
  pageGuard: RequestHandler;
  /** Set when OHIF signs in itself (VIEWER_ACCESS=public): its Content-Security-Policy lets it reach the IdP. */
  identityProviderOrigin: string | undefined;
  /**
   * Session mode: the script line put in front of app-config.js for this request's user (its name,
   * what it may do), so one OHIF build fits each user. app-config.js is then never cached.
   */
  userPreamble?: (req: Request) => Promise<string>;
}

/**
 * Serves a built OHIF viewer (OHIF_DIST) at `/`: its files as they are, and index.html for browser
 * navigations to any other path outside the gateway's own routes (the viewer routes itself). Anything
 * else falls through to the JSON 404. `pageGuard` decides who may load the viewer's HTML pages, before
 * any of them is served; the rest (scripts, styles, wasm, fonts: OHIF's code, no patient data) is public.
 * Every answer carries the viewer's Content-Security-Policy.
 */
export function serveViewer(ohifDist: string, { pageGuard, identityProviderOrigin, userPreamble }: ViewerOptions): Router {
  const root = resolve(ohifDist);
  if (!existsSync(join(root, 'index.html'))) {
    throw new Error(`OHIF_DIST=${ohifDist} has no index.html: point OHIF_DIST at a built OHIF viewer (npm run dev fetches one with scripts/fetch-ohif.mjs)`);
  }
  const indexHtml = readFileSync(join(root, 'index.html'), 'utf8');

  const historyFallback: RequestHandler = (req, res, next) => {
    if (!isNavigation(req) || isReserved(req.path)) return next();
    res.vary('Accept');
    res.sendFile('index.html', { root, headers: { 'Cache-Control': 'no-cache' } }, (error) => error && next(error));
  };

  const router = Router();
  router.use(viewerContentSecurityPolicy({ indexHtml, identityProviderOrigin }));
  router.use((req, res, next) => (asksForPage(req) ? pageGuard(req, res, next) : next()));
  // (A folder without app-config.js has no viewer configuration to fit: nothing to serve per user.)
  if (userPreamble && existsSync(join(root, 'app-config.js'))) {
    const appConfig = readFileSync(join(root, 'app-config.js'), 'utf8');
    router.get('/app-config.js', async (req, res) => {
      const preamble = await userPreamble(req);
      res.set({ 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).vary('Cookie').send(preamble + appConfig);
    });
  }
  router.use(express.static(root, { index: false, redirect: false, dotfiles: 'ignore', setHeaders: setCacheControl }));
  router.use(historyFallback);
  return router;
}
