/**
 * The start-up doctor's decisions (src/startup/doctor.ts), as a table: what Orthanc / the identity
 * provider answered → which findings, with which severity. No I/O here; the integration suite
 * (tests/integration/startup.test.ts) runs the same checks against real Orthanc configurations.
 */
import { describe, expect, it } from '@jest/globals';
import { judgeIssuer, judgeOrthanc, type Finding, type OrthancFacts, type Probe, type Severity } from '../../../src/startup/doctor.js';

const URL = 'http://orthanc:8042';
const answer = (status: number, body = ''): Probe => ({ kind: 'answer', status, body });
const failure = (message: string): Probe => ({ kind: 'failure', message });
const NGINX_400 =
  '<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n</body>\r\n</html>\r\n';

/** A healthy, locked-down Orthanc with DICOMweb. */
const healthy: OrthancFacts = {
  url: URL,
  system: answer(200, '{"Version":"1.10.1"}'),
  anonymous: answer(401),
  plugins: answer(200, '["explorer.js","dicom-web"]'),
  dicomWeb: answer(200, '[]'),
  roleCredentials: {},
  defaultCredential: false,
};

const severities = (findings: Finding[]) => Object.fromEntries(findings.map((f) => [f.check, f.severity]));
const fatal = (findings: Finding[]) => findings.filter((f) => f.severity === 'fatal');

describe('judgeOrthanc', () => {
  const cases: Array<{ name: string; facts: Partial<OrthancFacts>; allow?: boolean; expected: Partial<Record<Finding['check'], Severity>>; message?: RegExp }> = [
    {
      name: 'healthy Orthanc: everything ok',
      facts: {},
      expected: { orthanc: 'ok', 'orthanc-anonymous-access': 'ok', dicomweb: 'ok' },
    },
    {
      name: 'answers without credentials: fatal (seed 000: Orthanc open to anyone who reaches it)',
      facts: { anonymous: answer(200) },
      expected: { 'orthanc-anonymous-access': 'fatal' },
      message: /answers WITHOUT credentials[\s\S]*AuthenticationEnabled[\s\S]*ALLOW_UNAUTHENTICATED_ORTHANC=true/,
    },
    {
      name: 'answers without credentials but ALLOW_UNAUTHENTICATED_ORTHANC=true: a warning',
      facts: { anonymous: answer(200) },
      allow: true,
      expected: { 'orthanc-anonymous-access': 'warn' },
      message: /starting anyway because ALLOW_UNAUTHENTICATED_ORTHANC=true/,
    },
    {
      name: 'anonymous request refused by a TLS proxy (400): ok',
      facts: { anonymous: answer(400, NGINX_400) },
      expected: { 'orthanc-anonymous-access': 'ok' },
    },
    {
      name: 'service credential rejected: fatal naming ORTHANC_USERNAME / ORTHANC_PASSWORD, nothing else judged',
      facts: { system: answer(401) },
      expected: { 'orthanc-credential': 'fatal' },
      message: /rejects the gateway's service credential[\s\S]*ORTHANC_USERNAME \/ ORTHANC_PASSWORD/,
    },
    {
      name: 'Orthanc unreachable: a warning, never fatal (it may start after the gateway)',
      facts: { system: failure('Orthanc is unreachable (ECONNREFUSED)') },
      expected: { orthanc: 'warn' },
      message: /not reachable \(Orthanc is unreachable \(ECONNREFUSED\)\); starting anyway/,
    },
    {
      name: 'untrusted TLS certificate: a warning naming ORTHANC_CA_FILE (/readyz keeps reporting it)',
      facts: { system: failure("Orthanc's TLS certificate is not trusted by the gateway (UNABLE_TO_VERIFY_LEAF_SIGNATURE): set ORTHANC_CA_FILE …") },
      expected: { orthanc: 'warn' },
      message: /ORTHANC_CA_FILE/,
    },
    {
      name: 'TLS proxy wants a client certificate (nginx 400 page): a warning naming ORTHANC_CLIENT_CERT_FILE',
      facts: { system: answer(400, NGINX_400) },
      expected: { orthanc: 'warn' },
      message: /No required SSL certificate was sent[\s\S]*ORTHANC_CLIENT_CERT_FILE/,
    },
    {
      name: 'Orthanc answers 503 (starting): a warning',
      facts: { system: answer(503) },
      expected: { orthanc: 'warn' },
      message: /HTTP 503/,
    },
    {
      name: 'DICOMweb plugin not loaded: fatal, says how to load it',
      facts: { plugins: answer(200, '["explorer.js"]'), dicomWeb: answer(404) },
      expected: { dicomweb: 'fatal' },
      message: /no DICOMweb plugin loaded \(GET \/plugins lists explorer\.js\)[\s\S]*libOrthancDicomWeb\.so/,
    },
    {
      name: 'no plugin at all: fatal',
      facts: { plugins: answer(200, '[]'), dicomWeb: answer(404) },
      expected: { dicomweb: 'fatal' },
      message: /lists none/,
    },
    {
      name: 'plugin loaded but /dicom-web/ answers 404 (other Root, Enable false): fatal',
      facts: { dicomWeb: answer(404) },
      expected: { dicomweb: 'fatal' },
      message: /does not serve DICOMweb at \/dicom-web\/[\s\S]*"Root": "\/dicom-web\/"/,
    },
    {
      name: '/plugins unreadable but /dicom-web/ 404: still fatal',
      facts: { plugins: answer(403), dicomWeb: answer(404) },
      expected: { dicomweb: 'fatal' },
    },
    {
      name: '/dicom-web/ forbidden by a Lua filter: a warning (cannot confirm)',
      facts: { dicomWeb: answer(403) },
      expected: { dicomweb: 'warn' },
    },
    {
      name: 'DICOMweb timing out: a warning',
      facts: { dicomWeb: failure('Orthanc did not answer /dicom-web/studies within 3000 ms') },
      expected: { dicomweb: 'warn' },
    },
    {
      name: 'a per-role credential rejected: fatal naming the role, not the user or password',
      facts: { roleCredentials: { 'pacs-admin': answer(401), 'pacs-viewer': answer(200) } },
      expected: { 'orthanc-credential': 'fatal' },
      message: /ORTHANC_CREDENTIALS_BY_ROLE gives role "pacs-admin"/,
    },
    {
      name: "the default orthanc:orthanc service credential: a warning",
      facts: { defaultCredential: true },
      expected: { 'orthanc-credential': 'warn' },
      message: /default orthanc:orthanc/,
    },
  ];

  it.each(cases)('$name', ({ facts, allow = false, expected, message }) => {
    const findings = judgeOrthanc({ ...healthy, ...facts }, { allowUnauthenticated: allow });
    expect(severities(findings)).toMatchObject(expected);
    const flagged = findings.filter((f) => f.severity !== 'ok');
    if (message) expect(flagged.map((f) => f.message).join('\n')).toMatch(message);
    // Only the expected checks may be fatal.
    const expectedFatal = Object.entries(expected).filter(([, severity]) => severity === 'fatal').map(([check]) => check);
    expect(fatal(findings).map((f) => f.check).sort()).toEqual([...new Set(expectedFatal)].sort());
  });

  it('judges nothing beyond the credential when Orthanc is not reachable', () => {
    const findings = judgeOrthanc({ url: URL, system: failure('Orthanc is unreachable (ENOTFOUND)') }, { allowUnauthenticated: false });
    expect(findings).toHaveLength(1);
  });

  it('never puts the service password into a message', () => {
    const findings = judgeOrthanc({ ...healthy, system: answer(401) }, { allowUnauthenticated: false });
    expect(JSON.stringify(findings)).not.toMatch(/orthanc-service-pw/);
  });
});

describe('judgeIssuer', () => {
  const settings = { issuer: 'http://localhost:8081/realms/orthanc', discoveryUrl: 'http://keycloak:8080/realms/orthanc' };

  it.each([
    { name: 'discovery names the configured issuer: ok', facts: { kind: 'ok', issuer: settings.issuer } as const, severity: 'ok' },
    {
      name: 'discovery names another issuer: fatal, naming OIDC_ISSUER and OIDC_DISCOVERY_URL',
      facts: { kind: 'mismatch', message: 'identity provider discovery at … reports issuer "http://keycloak:8080/realms/orthanc" but OIDC_ISSUER is "…"' } as const,
      severity: 'fatal',
      message: /OIDC_ISSUER must be exactly[\s\S]*OIDC_DISCOVERY_URL \(http:\/\/keycloak:8080\/realms\/orthanc\)/,
    },
    {
      name: 'identity provider unreachable: a warning, never fatal',
      facts: { kind: 'unavailable', message: 'identity provider discovery at … failed: fetch failed' } as const,
      severity: 'warn',
      message: /starting anyway/,
    },
  ])('$name', ({ facts, severity, message }) => {
    const [finding, ...rest] = judgeIssuer(facts, settings);
    expect(rest).toEqual([]);
    expect(finding?.severity).toBe(severity);
    if (message) expect(finding?.message).toMatch(message);
  });

  it('says the discovery URL is the issuer itself when OIDC_DISCOVERY_URL is unset', () => {
    const [finding] = judgeIssuer({ kind: 'mismatch', message: 'x' }, { issuer: settings.issuer, discoveryUrl: settings.issuer });
    expect(finding?.message).toMatch(/OIDC_DISCOVERY_URL \(unset: the issuer itself\)/);
  });
});
