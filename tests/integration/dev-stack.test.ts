import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser as Chromium } from 'playwright-core';
import { launchChromium, newPage, Screenshots } from '../support/chromium.js';
import { signInWithCodeFlow } from '../support/dev-idp-login.js';
import { tagValues } from '../support/dicomweb.js';
import { freePort } from '../support/free-port.js';
import { Browser } from '../support/http-browser.js';
import { KEYCLOAK_VERSION } from '../support/keycloak.js';
import { studyRow, submitIdpLogin } from '../support/ohif.js';
import { signalGroup, spawnManaged, waitFor, type ManagedProcess } from '../support/process.js';

/**
 * Smoke test of `npm run dev` as a developer runs it, on free ports and a temp data folder, with
 * per-study access by the realm's groups turned on as the README shows; then once with the real
 * Keycloak (`npm run dev -- --keycloak`).
 */
interface DevStack {
  dev: ManagedProcess;
  dataDir: string;
  ports: { gateway: number; idp: number; orthanc: number };
}

/** Runs `npm run dev <args>` on free ports until it prints "[dev] ready:". */
async function startDevStack(args: string[], timeoutMs: number): Promise<DevStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'dev-stack-'));
  const ports = { gateway: await freePort(), idp: await freePort(), orthanc: await freePort() };
  const dev = spawnManaged('npm', ['run', 'dev', ...args], {
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
  const stack = { dev, dataDir, ports };
  await waitFor(() => dev.output().includes('[dev] ready:'), {
    what: 'npm run dev to print "[dev] ready"',
    timeoutMs,
    intervalMs: 200,
    abortIf: () => (dev.hasExited() ? `npm run dev exited:\n${dev.output()}` : undefined),
  }).catch(async (error: unknown) => {
    await stopDevStack(stack);
    throw error;
  });
  return stack;
}

/** Normally a test already stopped it; after a failure, make sure nothing of the stack survives. */
async function stopDevStack({ dev, dataDir }: DevStack): Promise<void> {
  if (!dev.hasExited()) {
    signalGroup(dev, 'SIGINT');
    // Unref'd: a pending timer would keep jest's worker alive past the run ("failed to exit gracefully").
    const stopped = await Promise.race([dev.exited.then(() => true), new Promise((resolve) => setTimeout(resolve, 20_000, false).unref())]);
    if (!stopped) signalGroup(dev, 'SIGKILL');
  }
  await rm(dataDir, { recursive: true, force: true });
}

function portsAnswering(ports: DevStack['ports']): Promise<boolean[]> {
  return Promise.all(
    Object.values(ports).map((port) =>
      fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) }).then(
        () => true,
        () => false,
      ),
    ),
  );
}

/** Ctrl-C: SIGINT to the whole foreground process group; then every port of the stack is closed. */
async function pressCtrlC({ dev, ports }: DevStack): Promise<void> {
  signalGroup(dev, 'SIGINT');
  // npm itself dies of the SIGINT at once (a shell shows 130); the stack stops behind it and exits 0.
  await waitFor(() => dev.output().includes('[dev] every process stopped'), {
    what: 'the dev stack to report that every process stopped',
    timeoutMs: 20_000,
    intervalMs: 100,
  });
  await waitFor(async () => (await portsAnswering(ports)).every((answering) => !answering), { what: 'ports to close', timeoutMs: 5000 });
}

let stack: DevStack | undefined;
let dev: ManagedProcess;
let ports: DevStack['ports'];
let dataDir: string;
let chromium: Chromium | undefined;
const gatewayUrl = () => `http://localhost:${ports.gateway}`;

beforeAll(async () => {
  stack = await startDevStack([], 60_000);
  ({ dev, ports, dataDir } = stack);
}, 90_000);

afterAll(async () => {
  await chromium?.close();
  if (stack) await stopDevStack(stack);
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
  chromium = await launchChromium();
  const shots = new Screenshots('dev stack other host');
  const { context, page, watch } = await newPage(chromium);
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
  await pressCtrlC(stack!);
}, 30_000);

describe('npm run dev -- --keycloak: the real Keycloak instead of the dev IdP', () => {
  let keycloakStack: DevStack | undefined;

  /** Command lines of running Keycloak JVMs listening on `port`. */
  const keycloakJvms = (port: number) =>
    execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes('quarkus') && line.includes(`--http-port=${port}`));

  beforeAll(async () => {
    // Keycloak takes 20-90 s to start on this shared machine, on top of the rest of the stack.
    keycloakStack = await startDevStack(['--', '--keycloak'], 300_000);
  }, 330_000);

  afterAll(async () => {
    if (keycloakStack) await stopDevStack(keycloakStack);
  }, 40_000);

  it("signs viewer-a in through Keycloak's login page on a non-default gateway port; the session's QIDO sees the group's study", async () => {
    const { ports: kcPorts, dev: kcDev } = keycloakStack!;
    const gateway = `http://localhost:${kcPorts.gateway}`;
    expect(kcDev.output()).toContain(`Keycloak ${KEYCLOAK_VERSION}`);
    expect(kcDev.output()).toContain(`http://localhost:${kcPorts.idp}/realms/orthanc`);
    expect(keycloakJvms(kcPorts.idp)).toHaveLength(1);

    // Keycloak accepts the gateway's redirect URI (GATEWAY_PUBLIC_URL) and shows its own login form.
    const browser = new Browser();
    const step = await browser.login(new URL(`${gateway}/auth/login?returnTo=%2Fauth%2Fme`), 'viewer-a', 'viewer-a-dev-password', []);
    expect(step.kind === 'page' ? { url: step.url, status: step.status } : step).toEqual({ url: `${gateway}/auth/me`, status: 200 });
    expect(browser.cookie('KEYCLOAK_IDENTITY')).toBeDefined(); // Keycloak's own SSO cookie: its login page did this
    const me = JSON.parse(step.kind === 'page' ? step.html : '{}') as { username?: string; via?: string };
    expect(me).toMatchObject({ username: 'viewer-a', via: 'session' });

    const qido = await browser.request(`${gateway}/pacs/dicom-web/studies`, { headers: { accept: 'application/dicom+json' } });
    expect(qido.status).toBe(200);
    expect(tagValues(await qido.json(), '00100020')).toEqual(['DEV-CT-1']); // STUDY_ACCESS_CLAIM=groups: Hospital A only
  }, 60_000);

  it('stops Keycloak with every other process on Ctrl-C', async () => {
    const { ports: kcPorts } = keycloakStack!;
    await pressCtrlC(keycloakStack!);
    await waitFor(() => keycloakJvms(kcPorts.idp).length === 0, { what: 'the Keycloak JVM to exit', timeoutMs: 20_000 });
  }, 60_000);
});
