import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInstance, ensureKeycloak, KEYCLOAK_VERSION, REALM_EXPORT, startArguments } from '../../scripts/keycloak.mjs';
import { freePort } from './free-port.js';
import { signalGroup, spawnManaged, waitFor, type ManagedProcess } from './process.js';

export { KEYCLOAK_VERSION };

export interface StartKeycloakOptions {
  /**
   * Keycloak's environment for the realm import's `${VAR:default}` placeholders (Keycloak substitutes
   * them itself with --import-realm), e.g. GATEWAY_BACKCHANNEL_LOGOUT_URL, OIDC_CLIENT_SECRET.
   */
  env?: Record<string, string>;
  /** Realm files to import instead of realm-export/orthanc-realm.json (file name → JSON text). */
  realmFiles?: Record<string, string>;
  /** A fixed HTTP port (npm run dev -- --keycloak) instead of a free one. */
  httpPort?: number;
  /** The pinned frontend URL (default http://127.0.0.1:<port>), e.g. http://localhost:8081. */
  hostname?: string;
  /** Startup budget; the first start on a busy two-core machine takes ~20-40 s. */
  timeoutMs?: number;
}

export interface KeycloakServer {
  version: string;
  /** http://127.0.0.1:<port> */
  url: string;
  /** The `orthanc` realm's issuer (pinned hostname: the same whatever Host a client uses). */
  issuer: string;
  adminUsername: string;
  adminPassword: string;
  /** A master-realm admin access token (admin-cli, password grant). */
  adminToken(): Promise<string>;
  output(): string;
  stop(): Promise<void>;
}

const ADMIN = { username: 'kc-test-admin', password: 'kc-test-admin-password' };

async function requestAdminToken(url: string): Promise<string> {
  const response = await fetch(`${url}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', ...ADMIN }),
  });
  if (!response.ok) throw new Error(`Keycloak admin token: HTTP ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function stopKeycloak(proc: ManagedProcess): Promise<void> {
  if (proc.hasExited()) return;
  signalGroup(proc, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(proc, 'SIGKILL'), 15_000);
  await proc.exited;
  clearTimeout(timer);
  signalGroup(proc, 'SIGKILL'); // a java that outlived kc.sh
}

/**
 * Starts the real Keycloak (scripts/keycloak.mjs: fetched from Maven Central on first use) with the
 * project's realm imported, on free loopback ports, and waits for /health/ready. Fails with one line
 * when Keycloak cannot be obtained or does not start.
 */
export async function startKeycloak(options: StartKeycloakOptions = {}): Promise<KeycloakServer> {
  const home = await ensureKeycloak();
  const dir = await mkdtemp(join(tmpdir(), 'keycloak-'));
  const realmFiles = options.realmFiles ?? { 'orthanc-realm.json': await readFile(REALM_EXPORT, 'utf8') };
  const instance = createInstance(home, join(dir, 'keycloak'), realmFiles);
  const [httpPort, managementPort] = [options.httpPort ?? (await freePort()), await freePort()];
  const url = options.hostname ?? `http://127.0.0.1:${httpPort}`;
  const proc = spawnManaged(join(instance, 'bin', 'kc.sh'), startArguments({ httpPort, managementPort, hostname: url }), {
    cwd: instance,
    processGroup: true,
    env: {
      ...process.env,
      KC_BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
      KC_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
      JAVA_OPTS_KC_HEAP: '-Xms64m -Xmx768m',
      ...options.env,
    },
  });
  const stop = async () => {
    await stopKeycloak(proc);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(() => fetch(`http://127.0.0.1:${managementPort}/health/ready`).then((response) => response.ok), {
      what: `Keycloak ${KEYCLOAK_VERSION} /health/ready`,
      timeoutMs: options.timeoutMs ?? 180_000,
      intervalMs: 250,
      abortIf: () => (proc.hasExited() ? `Keycloak exited: ${proc.output().slice(-1500)}` : undefined),
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    version: KEYCLOAK_VERSION,
    url,
    issuer: `${url}/realms/orthanc`,
    adminUsername: ADMIN.username,
    adminPassword: ADMIN.password,
    adminToken: () => requestAdminToken(url),
    output: () => proc.output(),
    stop,
  };
}
