import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { launchChromium, newPage, Screenshots } from '../support/chromium.js';
import { signInWithCodeFlow } from '../support/dev-idp-login.js';
import { tagValues } from '../support/dicomweb.js';
import { freePort } from '../support/free-port.js';
import { studyRow, submitIdpLogin } from '../support/ohif.js';
import { signalGroup, spawnManaged, waitFor, type ManagedProcess } from '../support/process.js';

/**
 * Smoke test of `npm run dev` as a developer runs it, on free ports and a temp data folder, with
 * per-study access by the realm's groups turned on as the README shows.
 */
let dev: ManagedProcess;
let browser: Browser | undefined;
let dataDir: string;
const ports = { gateway: 0, idp: 0, orthanc: 0 };
const gatewayUrl = () => `http://localhost:${ports.gateway}`;

function portsAnswering(): Promise<boolean[]> {
  return Promise.all(
    Object.values(ports).map((port) =>
      fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) }).then(
        () => true,
        () => false,
      ),
    ),
  );
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'dev-stack-'));
  ports.gateway = await freePort();
  ports.idp = await freePort();
  ports.orthanc = await freePort();
  dev = spawnManaged('npm', ['run', 'dev'], {
    env: {
      ...process.env,
      NODE_ENV: 'development',
      DEV_GATEWAY_PORT: String(ports.gateway),
      DEV_IDP_PORT: String(ports.idp),
      DEV_ORTHANC_PORT: String(ports.orthanc),
      DEV_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      STUDY_ACCESS_CLAIM: 'groups',
    },
    dieWithParent: false,
    processGroup: true,
  });
  await waitFor(() => dev.output().includes('[dev] ready:'), {
    what: 'npm run dev to print "[dev] ready"',
    timeoutMs: 60_000,
    intervalMs: 200,
    abortIf: () => (dev.hasExited() ? `npm run dev exited:\n${dev.output()}` : undefined),
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  // Normally the last test already stopped it; after a failure, make sure nothing of the stack survives.
  if (dev && !dev.hasExited()) {
    signalGroup(dev, 'SIGINT');
    const stopped = await Promise.race([dev.exited.then(() => true), new Promise((resolve) => setTimeout(resolve, 15_000, false))]);
    if (!stopped) signalGroup(dev, 'SIGKILL');
  }
  await rm(dataDir, { recursive: true, force: true });
}, 30_000);

it('prints the URLs and the dev users', () => {
  const output = dev.output();
  expect(output).toContain(`gateway         ${gatewayUrl()}`);
  expect(output).toContain(`http://localhost:${ports.idp}/realms/orthanc`);
  for (const user of ['admin', 'uploader', 'viewer', 'norole', 'viewer-a', 'viewer-b']) expect(output).toContain(`${user}-dev-password`);
  expect(output).toContain('groups /Hospital A');
});

it('is ready: Orthanc and the dev IdP answer', async () => {
  const response = await fetch(`${gatewayUrl()}/readyz`);
  expect(response.status).toBe(200);
});

async function samplePatientsSeenBy(username: string): Promise<unknown[]> {
  const tokens = await signInWithCodeFlow({
    issuer: `http://localhost:${ports.idp}/realms/orthanc`,
    clientId: 'orthanc-gateway',
    clientSecret: 'dev-only-orthanc-gateway-secret-change-me',
    redirectUri: `${gatewayUrl()}/auth/callback`,
    username,
    password: `${username}-dev-password`,
  });
  const response = await fetch(`${gatewayUrl()}/pacs/dicom-web/studies`, {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  expect(response.status).toBe(200);
  return tagValues(await response.json(), '00100020').sort();
}

it('lists the sample studies through the gateway with a dev IdP token, each to its group (STUDY_ACCESS_CLAIM=groups)', async () => {
  expect(await samplePatientsSeenBy('admin')).toEqual(['DEV-CT-1', 'DEV-MR-1']);
  expect(await samplePatientsSeenBy('viewer-a')).toEqual(['DEV-CT-1']);
  expect(await samplePatientsSeenBy('viewer-b')).toEqual(['DEV-MR-1']);
});

// Issue 18: the address a developer copies from elsewhere (127.0.0.1) is sent to the printed one
// before sign-in starts, so the sign-in state cookie and the IdP's callback are on the same host.
it('signs in on the first try when the gateway is opened at http://127.0.0.1:<port> instead of the printed address', async () => {
  browser = await launchChromium();
  const shots = new Screenshots('dev stack other host');
  const { context, page, watch } = await newPage(browser);
  try {
    await shots.run([page], async () => {
      await page.goto(`http://127.0.0.1:${ports.gateway}/`);
      const first = watch.responses.find((response) => response.url() === `http://127.0.0.1:${ports.gateway}/`);
      expect(first?.status()).toBe(302);
      expect(first?.headers()['location']).toBe(`${gatewayUrl()}/`);
      await submitIdpLogin(page, 'viewer-a', 'viewer-a-dev-password');
      await page.waitForURL((url) => url.origin === gatewayUrl() && url.pathname === '/', { timeout: 60_000 });
      await studyRow(page, 'Sample, CT').waitFor({ timeout: 60_000 });
      await shots.shot(page, 'signed in on the first try');
      expect(watch.responses.filter((response) => response.url().startsWith(`${gatewayUrl()}/auth/callback`)).map((response) => response.status())).toEqual([302]);
      expect(watch.responses.filter((response) => new URL(response.url()).hostname === '127.0.0.1').map((response) => response.url())).toEqual([
        `http://127.0.0.1:${ports.gateway}/`,
      ]);
    });
  } finally {
    shots.note('page errors', watch.errors);
    await context.close();
  }
}, 120_000);

it('refuses a second start on the same ports with one clear message', async () => {
  const second = spawnManaged('npm', ['run', 'dev'], {
    env: { ...process.env, DEV_GATEWAY_PORT: String(ports.gateway), DEV_IDP_PORT: String(ports.idp), DEV_DATA_DIR: dataDir },
  });
  const { code } = await second.exited;
  expect(code).toBe(1);
  expect(second.output()).toContain(`Port ${ports.gateway} (gateway) is already in use`);
}, 30_000);

it('stops every process on Ctrl-C', async () => {
  signalGroup(dev, 'SIGINT'); // what Ctrl-C does: SIGINT to the whole foreground process group
  // npm itself dies of the SIGINT at once (a shell shows 130); the stack stops behind it and exits 0.
  await waitFor(() => dev.output().includes('[dev] every process stopped'), {
    what: 'the dev stack to report that every process stopped',
    timeoutMs: 20_000,
    intervalMs: 100,
  });
  await waitFor(async () => (await portsAnswering()).every((answering) => !answering), { what: 'ports to close', timeoutMs: 5000 });
}, 30_000);
