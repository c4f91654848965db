/**
 * SMART on FHIR scopes (App Launch 2.x grammar, with the 1.x spellings) as far as images go: which
 * DICOMweb operations a token's `scope` claim grants, per context (patient / user / system).
 */
export type SmartContext = 'patient' | 'user' | 'system';

/** SMART 2 permissions: create, read, update, delete, search. */
export type SmartPermission = 'c' | 'r' | 'u' | 'd' | 's';

export interface SmartScope {
  context: SmartContext;
  /** A FHIR resource type, or `*`. */
  resource: string;
  permissions: readonly SmartPermission[];
}

/** What the scopes grant on imaging studies, per context (no entry: nothing). */
export type ImagingGrants = Partial<Record<SmartContext, readonly SmartPermission[]>>;

const SCOPE = /^(patient|user|system)\/([A-Za-z]+|\*)\.([a-z*]+)$/;
/** v2: some of c r u d s, in that order, each at most once. */
const V2_PERMISSIONS = /^c?r?u?d?s?$/;
const V1_PERMISSIONS: Record<string, readonly SmartPermission[]> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': ['c', 'r', 'u', 'd', 's'],
};

/** One scope token; null for anything else (`openid`, `launch/patient`, malformed clinical scopes). */
export function parseSmartScope(token: string): SmartScope | null {
  const match = SCOPE.exec(token);
  if (!match) return null;
  const [, context, resource, suffix] = match as unknown as [string, SmartContext, string, string];
  const v1 = V1_PERMISSIONS[suffix];
  if (v1) return { context, resource, permissions: v1 };
  if (suffix === '' || !V2_PERMISSIONS.test(suffix)) return null;
  return { context, resource, permissions: [...suffix] as SmartPermission[] };
}

/**
 * The imaging grants of a `scope` claim (space-separated). ImagingStudy and `*` scopes count.
 * Granular scopes (`patient/ImagingStudy.rs?category=…`) narrow a grant in ways DICOMweb cannot
 * express, so they grant nothing here rather than the whole resource.
 */
export function imagingGrants(scopeClaim: string): ImagingGrants {
  const grants: Partial<Record<SmartContext, Set<SmartPermission>>> = {};
  for (const token of scopeClaim.split(' ')) {
    const scope = parseSmartScope(token);
    if (!scope || (scope.resource !== 'ImagingStudy' && scope.resource !== '*')) continue;
    const permissions = (grants[scope.context] ??= new Set());
    for (const permission of scope.permissions) permissions.add(permission);
  }
  const order: readonly SmartPermission[] = ['c', 'r', 'u', 'd', 's'];
  return Object.fromEntries(Object.entries(grants).map(([context, set]) => [context, order.filter((p) => set.has(p))])) as ImagingGrants;
}
