import type { Route, RouteClass } from './routes.js';

export interface RoleNames {
  viewer: string;
  uploader: string;
  admin: string;
}

export interface PolicyOptions {
  roles: RoleNames;
  allowDangerous: boolean;
}

/** Only what the policy needs to know about a caller. */
export interface Subject {
  roles: readonly string[];
  /** A share-link recipient may read this one study and nothing else. */
  studyScope?: string;
}

export type Decision =
  /** `restrictToStudy`: a search that must only return this study (the query is constrained upstream). */
  | { outcome: 'allow'; restrictToStudy?: string }
  | { outcome: 'unauthenticated'; reason: string }
  | { outcome: 'forbidden'; reason: string };

type RoleKey = keyof RoleNames;

/** Which roles open each route class. The uploader role includes viewing; admin includes everything. */
const ROLES_BY_CLASS: Record<RouteClass, readonly RoleKey[]> = {
  'dicomweb-read': ['viewer', 'uploader', 'admin'],
  'wado-uri': ['viewer', 'uploader', 'admin'],
  preview: ['viewer', 'uploader', 'admin'],
  'dicomweb-store': ['uploader', 'admin'],
  admin: ['admin'],
  // Reached only when ADMIN_ALLOW_DANGEROUS=true; otherwise refused before roles are looked at.
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
  return { outcome: 'forbidden', reason: 'this shared link gives access to one study only' };
}

/** Deny by default: a request is allowed only when the subject holds one of the roles its route class needs. */
export function evaluate(route: Route, subject: Subject | null, options: PolicyOptions): Decision {
  if (!subject) return { outcome: 'unauthenticated', reason: 'authentication required' };
  if (subject.studyScope !== undefined) return evaluateStudyScope(route, subject.studyScope);
  if (route.class === 'admin-blocked' && !options.allowDangerous) {
    return { outcome: 'forbidden', reason: `blocked endpoint: ${route.blockedReason ?? route.upstreamPath}` };
  }
  const accepted = ROLES_BY_CLASS[route.class].map((key) => options.roles[key]);
  if (accepted.some((role) => subject.roles.includes(role))) return { outcome: 'allow' };
  return { outcome: 'forbidden', reason: `requires one of the roles: ${accepted.join(', ')}` };
}

/** Whether the subject may read images at all (opens the viewer). */
export function canRead(subject: Subject, roles: RoleNames): boolean {
  return subject.studyScope !== undefined || ROLES_BY_CLASS['dicomweb-read'].some((key) => subject.roles.includes(roles[key]));
}
