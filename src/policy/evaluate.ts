import type { Route, RouteClass } from './routes.js';
import type { ImagingGrants, SmartPermission } from './smart-scopes.js';

export interface RoleNames {
  viewer: string;
  uploader: string;
  admin: string;
}

export interface PolicyOptions {
  roles: RoleNames;
  /** ADMIN_ALLOW_DANGEROUS: every blocked endpoint is open to admins. */
  allowDangerous: boolean;
  /** ADMIN_ALLOW_ENDPOINTS: the blocked-endpoint rules (by name) open to admins. */
  allowEndpoints?: readonly string[];
  /** Per-study access from a claim is on: everyone without one of these roles is restricted. */
  studyAccess?: { bypassRoles: readonly string[] };
}

/** Only what the policy needs to know about a caller. */
export interface Subject {
  roles: readonly string[];
  /** A share-link recipient may read this one study and nothing else. */
  studyScope?: string;
  /** The holder of a drop-box link: may send studies (STOW-RS) and read nothing, not even what they sent. */
  dropBox?: true;
  /** Values of the per-study access claim (absent: the token had none, so no study is allowed). */
  studyAccess?: readonly string[];
  /** A SMART-governed app (SMART_CLIENTS): its imaging grants and patient context (DICOM Patient IDs). */
  smart?: { grants: ImagingGrants; patient: readonly string[] };
}

/** What must still be checked about the study a claim-restricted request touches (needs Orthanc). */
export type StudyAccessCheck = (
  /** A search across studies: its results are filtered in the gateway. */
  | { kind: 'search'; allowed: readonly string[] }
  /** A request naming a study by UID. */
  | { kind: 'study'; studyUid: string; allowed: readonly string[] }
  /** A request naming an instance by Orthanc id (previews). */
  | { kind: 'instance'; orthancId: string; allowed: readonly string[] }
) & {
  /** `patient`: `allowed` are the Patient IDs of a SMART patient context; absent: per-study access claim values. */
  basis?: 'patient';
};

export type Decision =
  /** `restrictToStudy`: a search that must only return this study (the query is constrained upstream). */
  | { outcome: 'allow'; restrictToStudy?: string; studyAccess?: StudyAccessCheck }
  | { outcome: 'unauthenticated'; reason: string }
  | { outcome: 'forbidden'; reason: string }
  /** A study-scoped subject asked for another study: answered like a study that does not exist. */
  | { outcome: 'not-yours'; reason: string };

type RoleKey = keyof RoleNames;

/** Which roles open each route class. The uploader role includes viewing; admin includes everything. */
const ROLES_BY_CLASS: Record<RouteClass, readonly RoleKey[]> = {
  'dicomweb-read': ['viewer', 'uploader', 'admin'],
  'wado-uri': ['viewer', 'uploader', 'admin'],
  preview: ['viewer', 'uploader', 'admin'],
  'dicomweb-store': ['uploader', 'admin'],
  admin: ['admin'],
  // Reached only when ADMIN_ALLOW_DANGEROUS=true or ADMIN_ALLOW_ENDPOINTS names the rule; otherwise refused before roles are looked at.
  'admin-blocked': ['admin'],
};

/** Searches that list more than one study unless constrained (QIDO without a study in the path). */
const isSearchAcrossStudies = (route: Route) => route.class === 'dicomweb-read' && route.studyUid === undefined;

/**
 * A share-link recipient: reads of the shared study (WADO-RS, metadata, rendered, WADO-URI naming it),
 * and searches constrained to it. Everything else — other studies, previews by Orthanc id, uploads,
 * the admin API — is refused.
 */
function evaluateStudyScope(route: Route, studyScope: string): Decision {
  if (isSearchAcrossStudies(route)) return { outcome: 'allow', restrictToStudy: studyScope };
  const readsOneStudy = route.class === 'dicomweb-read' || route.class === 'wado-uri';
  if (readsOneStudy && route.studyUid === studyScope) return { outcome: 'allow' };
  if (readsOneStudy && route.studyUid !== undefined) return { outcome: 'not-yours', reason: 'this shared link gives access to one study only' };
  return { outcome: 'forbidden', reason: 'this shared link gives access to one study only' };
}

/**
 * A drop-box link holder: STOW-RS to `/studies` only (the body names the studies). A STOW to
 * `/studies/{uid}` is refused too: Orthanc's answer would tell whether instances belong to that study.
 * Every read — searches, WADO-RS, metadata, WADO-URI, previews — and the admin API are refused.
 */
function evaluateDropBox(route: Route): Decision {
  if (route.class === 'dicomweb-store' && route.studyUid === undefined) return { outcome: 'allow' };
  return { outcome: 'forbidden', reason: 'a drop-box link may only send studies (STOW-RS to /dicom-web/studies)' };
}

/**
 * A claim-restricted user, once their roles allowed the route: searches are filtered, reads of one
 * study or instance are checked against it. The admin API and uploads cannot be confined to
 * studies, so they are refused; so is WADO-URI without a studyUID (Orthanc finds the object anyway).
 */
function evaluateStudyAccess(route: Route, allowed: readonly string[], basis?: 'patient'): Decision {
  const refuse = (why: string): Decision => ({ outcome: 'forbidden', reason: `${basis === 'patient' ? 'patient context' : 'per-study access'}: ${why}` });
  const check = basis ? { allowed, basis } : { allowed };
  if (isSearchAcrossStudies(route)) return { outcome: 'allow', studyAccess: { kind: 'search', ...check } };
  if (route.class === 'admin' || route.class === 'admin-blocked') return refuse('the admin API is open only to roles that see every study');
  if (route.class === 'dicomweb-store') return refuse('uploads are open only to roles that see every study');
  if (allowed.length === 0) return refuse('your account is not granted any studies');
  if (route.class === 'preview' && route.orthancId) return { outcome: 'allow', studyAccess: { kind: 'instance', orthancId: route.orthancId, ...check } };
  if (route.studyUid !== undefined) return { outcome: 'allow', studyAccess: { kind: 'study', studyUid: route.studyUid, ...check } };
  return refuse('the request must name its study (studyUID)');
}

/**
 * The SMART permission a route needs: a search across studies is `s`, anything naming a study or
 * instance (retrieve, metadata, rendered, previews, and the series/instance searches within a study)
 * `r`, an upload `c`; the admin API is no FHIR resource and needs what no scope grants.
 */
function neededPermission(route: Route): SmartPermission | undefined {
  if (route.class === 'admin' || route.class === 'admin-blocked') return undefined;
  if (route.class === 'dicomweb-store') return 'c';
  return isSearchAcrossStudies(route) ? 's' : 'r';
}

/**
 * A SMART-governed app. A `patient/` grant confines it to the token's patient, whatever its roles
 * (a patient has none); an upload cannot be confined to one patient, so patient scopes never open
 * it. A `user/` or `system/` grant opens what the caller's roles open (SMART: "what the user may").
 * Without a grant of the needed permission the request is refused.
 */
function evaluateSmart(route: Route, subject: Subject, smart: NonNullable<Subject['smart']>, options: PolicyOptions): Decision {
  const needed = neededPermission(route);
  const refuse = (why: string): Decision => ({ outcome: 'forbidden', reason: `SMART scopes: ${why}` });
  if (needed === undefined) return refuse('the admin API is not open to SMART apps');
  const grants = (context: 'patient' | 'user' | 'system') => smart.grants[context]?.includes(needed) ?? false;
  if (grants('user') || grants('system')) return evaluateRoles(route, subject, options);
  if (!grants('patient')) return refuse(`the token grants no ImagingStudy scope with "${needed}"`);
  if (smart.patient.length === 0) return refuse('the token has a patient scope but no patient context');
  return evaluateStudyAccess(route, smart.patient, 'patient');
}

/** Whether per-study access confines this subject (it is on, and they hold no bypass role). */
export const isStudyRestricted = (subject: Subject, studyAccess: PolicyOptions['studyAccess']) =>
  studyAccess !== undefined && !studyAccess.bypassRoles.some((role) => subject.roles.includes(role));

const isBlockedEndpointOpen = (route: Route, options: PolicyOptions) =>
  options.allowDangerous || (route.blocked !== undefined && (options.allowEndpoints ?? []).includes(route.blocked.name));

/** Deny by default: a request is allowed only when the subject holds one of the roles its route class needs. */
export function evaluate(route: Route, subject: Subject | null, options: PolicyOptions): Decision {
  if (!subject) return { outcome: 'unauthenticated', reason: 'authentication required' };
  if (subject.dropBox) return evaluateDropBox(route);
  if (subject.studyScope !== undefined) return evaluateStudyScope(route, subject.studyScope);
  if (subject.smart) return evaluateSmart(route, subject, subject.smart, options);
  return evaluateRoles(route, subject, options);
}

/** The roles (and per-study access claim) of a subject decide. */
function evaluateRoles(route: Route, subject: Subject, options: PolicyOptions): Decision {
  if (route.class === 'admin-blocked' && !isBlockedEndpointOpen(route, options)) {
    const rule = route.blocked ?? { name: 'unknown', reason: 'is closed to everyone' };
    return { outcome: 'forbidden', reason: `blocked endpoint ${rule.name}: it ${rule.reason}` };
  }
  const accepted = ROLES_BY_CLASS[route.class].map((key) => options.roles[key]);
  if (!accepted.some((role) => subject.roles.includes(role))) return { outcome: 'forbidden', reason: `requires one of the roles: ${accepted.join(', ')}` };
  return isStudyRestricted(subject, options.studyAccess) ? evaluateStudyAccess(route, subject.studyAccess ?? []) : { outcome: 'allow' };
}

/** Whether the subject may read images at all (opens the viewer). */
export function canRead(subject: Subject, roles: RoleNames): boolean {
  return subject.studyScope !== undefined || ROLES_BY_CLASS['dicomweb-read'].some((key) => subject.roles.includes(roles[key]));
}
