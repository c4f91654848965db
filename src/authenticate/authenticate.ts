// Stage 2, authenticate — enters: a classified request (and its browser session); leaves: the principal (Bearer token, session or share session) or null; a bad token is a 401, a cross-site cookie request a 403.
import type { Request, RequestHandler, Response } from 'express';
import type { JWTPayload } from 'jose';
import { BEARER_REALM, type BearerVerifier } from '../auth/bearer.js';
import type { FhirPatientResolver } from '../auth/fhir-patient.js';
import { principalFromClaims, type Principal } from '../auth/principal.js';
import type { SessionPrincipal } from '../auth/session-principal.js';
import type { SmartConfig } from '../config/config.js';
import { GatewayError } from '../errors.js';
import { isSafeMethod, isSameOriginRequest } from '../respond/browser-request.js';
import { requestState } from '../respond/request-state.js';

const BEARER_HEADER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The bearer token of the Authorization header; null when the request carries none (or another scheme). */
export function bearerToken(req: Request): string | null {
  const values = req.headersDistinct['authorization'] ?? [];
  if (values.length > 1) throw new GatewayError('bad_request', 'More than one Authorization header');
  const header = values[0];
  if (!header || !/^bearer\b/i.test(header)) return null;
  const match = BEARER_HEADER.exec(header);
  if (!match?.[1]) {
    throw new GatewayError('invalid_token', 'The Authorization header is not "Bearer <token>"', {
      'www-authenticate': `Bearer realm="${BEARER_REALM}", error="invalid_request"`,
    });
  }
  return match[1];
}

export interface AuthenticateOptions {
  bearer: BearerVerifier;
  sessionPrincipal: SessionPrincipal;
  rolesClient: string | undefined;
  /** STUDY_ACCESS_CLAIM, when per-study access is on. */
  studyAccessClaim: string | undefined;
  /** SMART_CLIENTS and SMART_PATIENT_CLAIM, when SMART apps are configured (Bearer tokens only). */
  smart?: Pick<SmartConfig, 'clients' | 'patientClaim'> | undefined;
  /** With SMART_PATIENT_FHIR_URL: turns the claim's FHIR Patient ids into DICOM Patient IDs. */
  fhirPatients?: FhirPatientResolver | undefined;
  publicOrigin: string;
}

/** A cookie rides along on cross-site requests too: state changes must come from our own pages. */
function refuseCrossSite(req: Request, principal: Principal | null, publicOrigin: string): void {
  if (principal && !isSafeMethod(req.method) && !isSameOriginRequest(req, publicOrigin)) {
    throw new GatewayError('forbidden', 'Cross-site request refused: state-changing requests must come from this site', {}, 'csrf');
  }
}

async function sessionPrincipal(req: Request, res: Response, { sessionPrincipal: principalOf, publicOrigin }: AuthenticateOptions): Promise<Principal | null> {
  let principal: Principal | null;
  try {
    principal = await principalOf(req, res);
  } catch {
    throw new GatewayError('service_unavailable', 'The session store is unavailable; try again shortly');
  }
  refuseCrossSite(req, principal, publicOrigin);
  return principal;
}

/** The principal known without waiting: a cached Bearer verification whose principal was built, or a session verified moments ago. */
function knownPrincipal(req: Request, token: string | null, options: AuthenticateOptions, built: PrincipalsByClaims): Principal | undefined {
  if (token) {
    const claims = options.bearer.verified(token);
    return claims && built.get(claims);
  }
  const principal = options.sessionPrincipal.cached(req);
  if (principal) refuseCrossSite(req, principal, options.publicOrigin);
  return principal;
}

/**
 * The verifiers hand back the same claims object for every request of a cached token, so the
 * principal built from it is kept beside it (and goes when the verifier's cache drops the claims).
 * Principals whose patient context came from the FHIR lookup are not kept: that lookup keeps its own time.
 */
type PrincipalsByClaims = WeakMap<JWTPayload, Principal>;

async function bearerPrincipal(token: string, options: AuthenticateOptions, built: PrincipalsByClaims): Promise<Principal> {
  const claims = await options.bearer.verify(token);
  const known = built.get(claims);
  if (known) return known;
  const principal = principalFromClaims(claims, 'bearer', options.rolesClient, options.studyAccessClaim, options.smart);
  if (principal.smart && options.fhirPatients) {
    principal.smart.patient = await options.fhirPatients.dicomIds(principal.smart.patient, token);
    return principal;
  }
  built.set(claims, Object.freeze(principal));
  return principal;
}

/**
 * Sets the request's principal from a Bearer token, else from the browser session, else null. What
 * is cached (a token's verification and principal, a session verified moments ago) is answered
 * synchronously: no promise and no microtask per request for a viewer's steady stream of requests.
 */
export function authenticate(options: AuthenticateOptions): RequestHandler {
  const built: PrincipalsByClaims = new WeakMap();
  return (req, res, next) => {
    const state = requestState(res);
    const token = bearerToken(req);
    const known = knownPrincipal(req, token, options, built);
    if (known) {
      state.principal = known;
      return next();
    }
    const principal = token ? bearerPrincipal(token, options, built) : sessionPrincipal(req, res, options);
    return principal.then((found) => {
      state.principal = found;
      next();
    });
  };
}
