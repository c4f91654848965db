/**
 * Orthanc REST endpoints that stay closed even to the admin role unless ADMIN_ALLOW_DANGEROUS=true:
 * each one can run code, stop or rebuild the server, rewrite its configuration at run time, send
 * data to destinations an attacker picks, or touch the server's filesystem.
 * Matching is case-insensitive and ignores one trailing slash, so spelling variants stay blocked.
 */
interface BlockedEndpoint {
  pattern: RegExp;
  /** Methods the rule applies to; every method when absent. */
  methods?: readonly string[];
  reason: string;
}

export const BLOCKED_ENDPOINTS: readonly BlockedEndpoint[] = [
  { pattern: /^\/tools\/execute-script$/i, reason: 'runs arbitrary Lua code, and through it system commands' },
  { pattern: /^\/tools\/shutdown$/i, reason: 'stops Orthanc' },
  { pattern: /^\/tools\/reset$/i, reason: 'restarts Orthanc and reloads its configuration' },
  { pattern: /^\/tools\/reconstruct$/i, reason: 'rebuilds the whole database' },
  { pattern: /^\/tools\/invalidate-tags$/i, reason: 'invalidates every stored DICOM tag cache' },
  { pattern: /^\/tools\/create-dicom$/i, reason: 'forges DICOM instances from arbitrary content' },
  { pattern: /^\/tools\/log-level(-[a-z]+)?$/i, methods: ['PUT'], reason: 'can turn on verbose logging of patient data' },
  {
    pattern: /^\/tools\/(default-encoding|accepted-transfer-syntaxes|unknown-sop-class-accepted)$/i,
    methods: ['PUT'],
    reason: 'changes the global configuration at run time',
  },
  { pattern: /^\/(patients|studies|series|instances)\/[^/]+\/export$/i, reason: "writes DICOM files to the server's filesystem" },
  { pattern: /^\/(modalities|peers)\/[^/]+$/i, methods: ['PUT', 'DELETE'], reason: 'redefines where Orthanc sends data' },
  {
    pattern: /^\/dicom-web\/servers\/[^/]+$/i,
    methods: ['PUT', 'DELETE'],
    reason: 'redefines the DICOMweb servers Orthanc contacts (server-side request forgery)',
  },
  { pattern: /^\/webdav(\/.*)?$/i, reason: 'file-system style access to the archive' },
];

/** The reason an admin request is blocked, or undefined when it is not. */
export function findBlockedEndpoint(method: string, upstreamPath: string): string | undefined {
  const path = upstreamPath.length > 1 ? upstreamPath.replace(/\/$/, '') : upstreamPath;
  const rule = BLOCKED_ENDPOINTS.find(
    (candidate) => candidate.pattern.test(path) && (!candidate.methods || candidate.methods.includes(method)),
  );
  return rule ? `${method} ${path} ${rule.reason}` : undefined;
}
