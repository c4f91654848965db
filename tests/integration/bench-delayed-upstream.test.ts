/**
 * bench/lib/delayed-upstream.mjs (`bench/cpu.ts --upstream-delay=MS`, bench/README.md section 24): the
 * trivial upstream's answer, after the delay and not before, and the trivial upstream's 401 without
 * credentials, so the point it serves differs from the trivial point by its timing only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startDelayedUpstream, TRIVIAL_BODY } from '../../bench/lib/processes.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DELAY_MS = 150;

describe('bench delayed upstream', () => {
  let dir: string;
  let upstream: Awaited<ReturnType<typeof startDelayedUpstream>>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-delayed-'));
    upstream = await startDelayedUpstream(dir, REPO_ROOT, DELAY_MS);
  }, 30_000);
  afterAll(async () => {
    await upstream?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the trivial body after the delay, with its length', async () => {
    const started = performance.now();
    const res = await fetch(`${upstream.url}/dicom-web/studies`, { headers: { authorization: 'Basic YmVuY2g6YmVuY2g=' } });
    const body = await res.text();
    expect(performance.now() - started).toBeGreaterThanOrEqual(DELAY_MS - 1); // timers may fire up to 1 ms early
    expect({ status: res.status, type: res.headers.get('content-type'), length: res.headers.get('content-length'), body }).toEqual({
      status: 200,
      type: 'application/json',
      length: String(Buffer.byteLength(TRIVIAL_BODY)),
      body: TRIVIAL_BODY,
    });
  });

  it('refuses a request without credentials at once, as the trivial upstream does', async () => {
    const started = performance.now();
    const res = await fetch(`${upstream.url}/dicom-web/studies`);
    await res.arrayBuffer();
    expect(res.status).toBe(401);
    expect(performance.now() - started).toBeLessThan(DELAY_MS);
  });
});
