/**
 * Orthanc REST endpoints that stay closed even to the admin role: each one can run code, stop or
 * rebuild the server, rewrite its configuration at run time, make Orthanc open connections to hosts
 * and ports the request names (a scanner of the hospital network, data sent anywhere), or touch the
 * server's filesystem. Each rule has a stable name: ADMIN_ALLOW_ENDPOINTS opens rules by name,
 * ADMIN_ALLOW_DANGEROUS=true opens them all.
 * Matching is case-insensitive and ignores one trailing slash, so spelling variants stay blocked.
 */
export interface BlockedEndpoint {
  /** Stable name, as written in ADMIN_ALLOW_ENDPOINTS and the README table. */
  name: string;
  pattern: RegExp;
  /** Methods the rule applies to; every method when absent. */
  methods?: readonly string[];
  reason: string;
}

const CONNECTS = 'makes Orthanc open a connection to';

export const BLOCKED_ENDPOINTS: readonly BlockedEndpoint[] = [
  { name: 'execute-script', pattern: /^\/tools\/execute-script$/i, reason: 'runs arbitrary Lua code, and through it system commands' },
  { name: 'shutdown', pattern: /^\/tools\/shutdown$/i, reason: 'stops Orthanc' },
  { name: 'reset', pattern: /^\/tools\/reset$/i, reason: 'restarts Orthanc and reloads its configuration' },
  { name: 'reconstruct', pattern: /^\/tools\/reconstruct$/i, reason: 'rebuilds the whole database' },
  { name: 'invalidate-tags', pattern: /^\/tools\/invalidate-tags$/i, reason: 'invalidates every stored DICOM tag cache' },
  { name: 'create-dicom', pattern: /^\/tools\/create-dicom$/i, reason: 'forges DICOM instances from arbitrary content' },
  { name: 'log-level', pattern: /^\/tools\/log-level(-[a-z]+)?$/i, methods: ['PUT'], reason: 'can turn on verbose logging of patient data' },
  {
    name: 'runtime-configuration',
    pattern: /^\/tools\/(default-encoding|accepted-transfer-syntaxes|unknown-sop-class-accepted)$/i,
    methods: ['PUT'],
    reason: 'changes the global configuration at run time',
  },
  { name: 'export', pattern: /^\/(patients|studies|series|instances)\/[^/]+\/export$/i, reason: "writes DICOM files to the server's filesystem" },
  { name: 'remote-config', pattern: /^\/(modalities|peers)\/[^/]+$/i, methods: ['PUT', 'DELETE'], reason: 'redefines where Orthanc sends data' },
  {
    name: 'dicomweb-server-config',
    pattern: /^\/dicom-web\/servers\/[^/]+$/i,
    methods: ['PUT', 'DELETE'],
    reason: 'redefines the DICOMweb servers Orthanc contacts (server-side request forgery)',
  },
  { name: 'webdav', pattern: /^\/webdav(\/.*)?$/i, reason: 'gives file-system style access to the archive' },
  { name: 'dicom-echo', pattern: /^\/tools\/dicom-echo$/i, reason: `${CONNECTS} any host and port given in the body (C-ECHO)` },
  { name: 'modality-echo', pattern: /^\/modalities\/[^/]+\/echo$/i, reason: `${CONNECTS} a modality, or a host and port given in the body (C-ECHO)` },
  {
    name: 'modality-store',
    pattern: /^\/modalities\/[^/]+\/(store|store-straight|storage-commitment)$/i,
    reason: `${CONNECTS} a modality and sends it DICOM data (C-STORE, storage commitment)`,
  },
  { name: 'modality-query', pattern: /^\/modalities\/[^/]+\/(query|find(-[a-z]+)?)$/i, reason: `${CONNECTS} a modality to search it (C-FIND)` },
  { name: 'modality-move', pattern: /^\/modalities\/[^/]+\/move$/i, reason: `${CONNECTS} a modality and has it send data anywhere (C-MOVE)` },
  { name: 'modality-get', pattern: /^\/modalities\/[^/]+\/get$/i, reason: `${CONNECTS} a modality to retrieve from it (C-GET)` },
  // Default deny for the rest: every other POST on a modality is a DIMSE request too.
  { name: 'modality-other', pattern: /^\/modalities\/[^/]+(\/.+)?$/i, methods: ['POST'], reason: `${CONNECTS} a modality` },
  {
    name: 'query-retrieve',
    pattern: /^\/queries\/[^/]+(\/answers\/[^/]+)?\/(retrieve|query-(studies|series|instances))$/i,
    reason: `${CONNECTS} the queried modality to retrieve from or search it again (C-MOVE, C-FIND)`,
  },
  { name: 'peer-store', pattern: /^\/peers\/[^/]+\/(store|store-straight)$/i, reason: `${CONNECTS} an Orthanc peer and sends it DICOM data` },
  { name: 'peer-system', pattern: /^\/peers\/[^/]+\/system$/i, reason: `${CONNECTS} an Orthanc peer` },
  { name: 'peer-other', pattern: /^\/peers\/[^/]+(\/.+)?$/i, methods: ['POST'], reason: `${CONNECTS} an Orthanc peer` },
  { name: 'dicomweb-client', pattern: /^\/dicom-web\/servers\/[^/]+\/.+$/i, reason: `${CONNECTS} a remote DICOMweb server (STOW, WADO, QIDO, retrieve)` },
  { name: 'transfers', pattern: /^\/transfers(\/.*)?$/i, reason: `${CONNECTS} Orthanc peers to push or pull studies (transfers accelerator)` },
];

export const BLOCKED_ENDPOINT_NAMES: readonly string[] = BLOCKED_ENDPOINTS.map((rule) => rule.name);

/** Why an admin request is blocked, for the error and the audit trail. */
export interface BlockedMatch {
  name: string;
  /** What the endpoint does (fixed text: it names no part of the request). */
  reason: string;
}

/** The blocked-endpoint rule an admin request falls under, or undefined when it is not blocked. */
export function findBlockedEndpoint(method: string, upstreamPath: string): BlockedMatch | undefined {
  const path = upstreamPath.length > 1 ? upstreamPath.replace(/\/$/, '') : upstreamPath;
  const rule = BLOCKED_ENDPOINTS.find(
    (candidate) => candidate.pattern.test(path) && (!candidate.methods || candidate.methods.includes(method)),
  );
  return rule ? { name: rule.name, reason: rule.reason } : undefined;
}
