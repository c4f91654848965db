import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Marks the stand-in viewer's HTML documents. */
export const STAND_IN_VIEWER_PAGE = '<div id="root">viewer</div>';

/**
 * A stand-in OHIF_DIST folder (an index.html, a silent-refresh.html and a script), for tests about
 * who may load the viewer's pages, not about OHIF itself.
 */
export function standInViewer(): string {
  const dir = mkdtempSync(join(tmpdir(), 'viewer-'));
  writeFileSync(join(dir, 'index.html'), `<!doctype html><title>viewer</title>${STAND_IN_VIEWER_PAGE}`);
  writeFileSync(join(dir, 'silent-refresh.html'), `<!doctype html><title>refresh</title>${STAND_IN_VIEWER_PAGE}`);
  writeFileSync(join(dir, 'app.js'), 'console.log("viewer code, no patient data");');
  return dir;
}
