import { fetchIssuerMetadata, IssuerMismatchError } from '../auth/issuer.js';
import type { Config } from '../config/config.js';
import { createOrthancClient, type OrthancClient } from '../orthanc/orthanc-client.js';
import { createUpstreamAgent } from '../upstream/upstream-agent.js';
import { describeOrthancAnswer, describeOrthancFailure } from '../upstream/upstream-errors.js';
import type { Logger } from '../observability/logger.js';

/**
 * Start-up doctor: looks at Orthanc and the identity provider once, before the gateway listens, and
 * refuses to start on a configuration that is dangerous or can never work:
 *
 *  - Orthanc answers WITHOUT credentials: anyone who reaches it bypasses the gateway (seed 000's
 *    "Insecure setup"), unless ALLOW_UNAUTHENTICATED_ORTHANC=true says that is intended;
 *  - Orthanc rejects the service credential (or a per-role credential);
 *  - the DICOMweb plugin is missing (or not served at /dicom-web/);
 *  - the discovery document names another issuer than OIDC_ISSUER.
 *
 * A neighbour that does not answer (yet) is NOT fatal: containers start in any order; the gateway
 * starts, warns, and /readyz reports the dependency until it answers.
 *
 * The decisions are pure functions of what was observed (`judgeOrthanc`, `judgeIssuer`), the I/O is
 * `observeOrthanc` / `observeIssuer`, and `runStartupDoctor` ties them together.
 */

/** What one request observed: an HTTP answer, or a failure already put into words. */
export type Probe = { kind: 'answer'; status: number; body: string } | { kind: 'failure'; message: string };

export interface OrthancFacts {
  url: string;
  /** GET /system with the service credential. */
  system: Probe;
  /** GET /system without any Authorization header (only looked at when `system` answered 200). */
  anonymous?: Probe;
  /** GET /plugins: the loaded plugins' names. */
  plugins?: Probe;
  /** GET /dicom-web/studies?limit=1: the DICOMweb root the gateway proxies to. */
  dicomWeb?: Probe;
  /** GET /system with each ORTHANC_CREDENTIALS_BY_ROLE credential, by role. */
  roleCredentials?: Record<string, Probe>;
  /** The service credential is Orthanc's well-known default orthanc:orthanc. */
  defaultCredential?: boolean;
}

export type IssuerFacts =
  | { kind: 'ok'; issuer: string }
  | { kind: 'mismatch'; message: string }
  | { kind: 'unavailable'; message: string };

export type Severity = 'ok' | 'warn' | 'fatal';

export interface Finding {
  check: 'orthanc' | 'orthanc-credential' | 'orthanc-anonymous-access' | 'dicomweb' | 'identity-provider';
  severity: Severity;
  message: string;
}

const DICOMWEB_PLUGIN = 'dicom-web';

function pluginNames(probe: Probe | undefined): string[] | undefined {
  if (probe?.kind !== 'answer' || probe.status !== 200) return undefined;
  try {
    const parsed = JSON.parse(probe.body) as unknown;
    return Array.isArray(parsed) ? parsed.filter((name): name is string => typeof name === 'string') : undefined;
  } catch {
    return undefined;
  }
}

function judgeDicomWeb(facts: OrthancFacts): Finding {
  const { dicomWeb } = facts;
  const plugins = pluginNames(facts.plugins);
  if (dicomWeb?.kind === 'answer' && dicomWeb.status === 200) {
    return { check: 'dicomweb', severity: 'ok', message: 'Orthanc serves DICOMweb at /dicom-web/' };
  }
  const notLoaded = plugins !== undefined && !plugins.includes(DICOMWEB_PLUGIN);
  if (notLoaded || (dicomWeb?.kind === 'answer' && dicomWeb.status === 404)) {
    const message = notLoaded
      ? `Orthanc at ${facts.url} has no DICOMweb plugin loaded (GET /plugins lists ${plugins.length ? plugins.join(', ') : 'none'}): ` +
        'every /pacs/dicom-web request would fail. Add the plugin to Orthanc\'s "Plugins" ' +
        '(Debian: apt-get install orthanc-dicomweb, /usr/share/orthanc/plugins/libOrthancDicomWeb.so; ' +
        'official image: DICOM_WEB_PLUGIN_ENABLED=true)'
      : `Orthanc at ${facts.url} does not serve DICOMweb at /dicom-web/ (GET /dicom-web/studies answered 404): ` +
        'the DICOMweb plugin must be loaded with "DicomWeb": {"Enable": true, "Root": "/dicom-web/"}';
    return { check: 'dicomweb', severity: 'fatal', message };
  }
  const seen = dicomWeb === undefined ? 'not checked' : dicomWeb.kind === 'failure' ? dicomWeb.message : `HTTP ${dicomWeb.status}`;
  return { check: 'dicomweb', severity: 'warn', message: `could not confirm that Orthanc serves DICOMweb at /dicom-web/ (${seen})` };
}

function judgeAnonymousAccess(facts: OrthancFacts, allowUnauthenticated: boolean): Finding {
  const { anonymous } = facts;
  if (anonymous?.kind === 'answer' && anonymous.status === 200) {
    const danger =
      `Orthanc at ${facts.url} answers WITHOUT credentials (GET /system without Authorization: HTTP 200): ` +
      'anyone who can reach it bypasses the gateway and reads every study';
    if (allowUnauthenticated) {
      return { check: 'orthanc-anonymous-access', severity: 'warn', message: `${danger}; starting anyway because ALLOW_UNAUTHENTICATED_ORTHANC=true` };
    }
    return {
      check: 'orthanc-anonymous-access',
      severity: 'fatal',
      message:
        `${danger}. Turn on Orthanc's authentication ("AuthenticationEnabled": true, with the gateway's service user ` +
        'in "RegisteredUsers"), or, if only the gateway can reach Orthanc (private network, mutual TLS), ' +
        'set ALLOW_UNAUTHENTICATED_ORTHANC=true',
    };
  }
  const seen = anonymous === undefined ? 'not checked' : anonymous.kind === 'failure' ? anonymous.message : `HTTP ${anonymous.status}`;
  return { check: 'orthanc-anonymous-access', severity: 'ok', message: `Orthanc refuses requests without credentials (${seen})` };
}

/** Decides from what Orthanc answered. Pure: no I/O. */
export function judgeOrthanc(facts: OrthancFacts, { allowUnauthenticated }: { allowUnauthenticated: boolean }): Finding[] {
  const { system } = facts;
  if (system.kind === 'failure') {
    return [{
      check: 'orthanc',
      severity: 'warn',
      message: `Orthanc at ${facts.url} is not reachable (${system.message}); starting anyway: /pacs answers 502 and /readyz reports Orthanc until it answers`,
    }];
  }
  if (system.status === 401) {
    return [{
      check: 'orthanc-credential',
      severity: 'fatal',
      message:
        `Orthanc at ${facts.url} rejects the gateway's service credential (GET /system: HTTP 401): ` +
        'ORTHANC_USERNAME / ORTHANC_PASSWORD must be a user of Orthanc\'s "RegisteredUsers"',
    }];
  }
  if (system.status !== 200) {
    return [{
      check: 'orthanc',
      severity: 'warn',
      message: `Orthanc at ${facts.url} is not ready: ${describeOrthancAnswer('/system', system.status, system.body)}; starting anyway, /readyz reports it`,
    }];
  }

  const findings: Finding[] = [{ check: 'orthanc', severity: 'ok', message: `Orthanc at ${facts.url} accepts the service credential` }];
  if (facts.defaultCredential) {
    findings.push({
      check: 'orthanc-credential',
      severity: 'warn',
      message: "the service credential is Orthanc's well-known default orthanc:orthanc: change ORTHANC_USERNAME / ORTHANC_PASSWORD and Orthanc's RegisteredUsers",
    });
  }
  for (const [role, probe] of Object.entries(facts.roleCredentials ?? {})) {
    if (probe.kind === 'answer' && probe.status === 401) {
      findings.push({
        check: 'orthanc-credential',
        severity: 'fatal',
        message: `Orthanc rejects the credential ORTHANC_CREDENTIALS_BY_ROLE gives role "${role}" (GET /system: HTTP 401)`,
      });
    }
  }
  findings.push(judgeAnonymousAccess(facts, allowUnauthenticated));
  findings.push(judgeDicomWeb(facts));
  return findings;
}

/** Decides from the discovery attempt. Pure: no I/O. */
export function judgeIssuer(facts: IssuerFacts, { issuer, discoveryUrl }: { issuer: string; discoveryUrl: string }): Finding[] {
  switch (facts.kind) {
    case 'ok':
      return [{ check: 'identity-provider', severity: 'ok', message: `identity provider discovery names issuer ${facts.issuer}` }];
    case 'mismatch':
      return [{
        check: 'identity-provider',
        severity: 'fatal',
        message:
          `${facts.message}. OIDC_ISSUER must be exactly the issuer the identity provider reports (the "iss" of its tokens); ` +
          `OIDC_DISCOVERY_URL (${discoveryUrl === issuer ? 'unset: the issuer itself' : discoveryUrl}) only says where the gateway fetches it. ` +
          "With Keycloak behind another name, set its hostname (KC_HOSTNAME) to the issuer's host",
      }];
    case 'unavailable':
      return [{
        check: 'identity-provider',
        severity: 'warn',
        message: `${facts.message}; starting anyway: sign-in and Bearer tokens fail and /readyz reports the identity provider until it answers`,
      }];
  }
}

// ---- I/O -----------------------------------------------------------------------------------------

async function probe(client: OrthancClient, path: string, options: { withCredential?: boolean; timeoutMs: number }): Promise<Probe> {
  try {
    const { status, body } = await client.get(path, options);
    return { kind: 'answer', status, body };
  } catch (error) {
    return { kind: 'failure', message: describeOrthancFailure(error as Error) };
  }
}

/** Asks Orthanc what the judge needs, over the gateway's own TLS settings; closes its connections. */
export async function observeOrthanc(orthanc: Config['orthanc'], { timeoutMs = 3000 } = {}): Promise<OrthancFacts> {
  const agent = createUpstreamAgent(orthanc);
  try {
    const client = createOrthancClient(orthanc, agent);
    const facts: OrthancFacts = {
      url: orthanc.url,
      system: await probe(client, '/system', { timeoutMs }),
      defaultCredential: orthanc.username === 'orthanc' && orthanc.password === 'orthanc',
    };
    if (facts.system.kind !== 'answer' || facts.system.status !== 200) return facts;

    const roles = Object.entries(orthanc.credentialsByRole ?? {});
    const [anonymous, plugins, dicomWeb, ...roleProbes] = await Promise.all([
      probe(client, '/system', { withCredential: false, timeoutMs }),
      probe(client, '/plugins', { timeoutMs }),
      probe(client, '/dicom-web/studies?limit=1', { timeoutMs }),
      ...roles.map(([, credential]) => {
        const at = credential.indexOf(':');
        const roleClient = createOrthancClient({ ...orthanc, username: credential.slice(0, at), password: credential.slice(at + 1) }, agent);
        return probe(roleClient, '/system', { timeoutMs });
      }),
    ]);
    return {
      ...facts,
      anonymous,
      plugins,
      dicomWeb,
      roleCredentials: Object.fromEntries(roles.map(([role], index) => [role, roleProbes[index]!])),
    };
  } finally {
    agent.destroy();
  }
}

export async function observeIssuer(oidc: Config['oidc'], { timeoutMs = 3000 } = {}): Promise<IssuerFacts> {
  try {
    const metadata = await fetchIssuerMetadata({ issuer: oidc.issuer, discoveryUrl: oidc.discoveryUrl, timeoutMs });
    return { kind: 'ok', issuer: metadata.issuer };
  } catch (error) {
    const message = (error as Error).message;
    return error instanceof IssuerMismatchError ? { kind: 'mismatch', message } : { kind: 'unavailable', message };
  }
}

export class StartupCheckError extends Error {
  override name = 'StartupCheckError';

  constructor(readonly findings: Finding[]) {
    super(`Start-up checks failed, not starting:\n${findings.map((finding) => `  - ${finding.message}`).join('\n')}`);
  }
}

/** Runs every check (Orthanc and IdP in parallel), logs each finding, throws StartupCheckError on a fatal one. */
export async function runStartupDoctor(config: Config, logger: Logger, options: { timeoutMs?: number } = {}): Promise<Finding[]> {
  const [orthancFacts, issuerFacts] = await Promise.all([observeOrthanc(config.orthanc, options), observeIssuer(config.oidc, options)]);
  const findings = [
    ...judgeOrthanc(orthancFacts, { allowUnauthenticated: config.orthanc.allowUnauthenticated }),
    ...judgeIssuer(issuerFacts, config.oidc),
  ];
  for (const { check, severity, message } of findings) {
    if (severity === 'ok') logger.info({ check }, `start-up check: ${message}`);
    else if (severity === 'warn') logger.warn({ check }, `start-up check: ${message}`);
    else logger.fatal({ check }, `start-up check failed: ${message}`);
  }
  const fatal = findings.filter((finding) => finding.severity === 'fatal');
  if (fatal.length > 0) throw new StartupCheckError(fatal);
  return findings;
}
