// The pipeline as one list, in the order a request meets it: src/request → src/authenticate → src/authorize → src/upstream, with the gateway's own answers in src/pages and src/ops.
import type { Agent, IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import express, { Router, type Express, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import type { BearerVerifier } from './auth/bearer.js';
import type { BrowserSessions } from './auth/browser-sessions.js';
import type { SessionPrincipal } from './auth/session-principal.js';
import type { FhirPatientResolver } from './auth/fhir-patient.js';
import type { IssuerMetadataSource } from './auth/issuer.js';
import type { OidcClient } from './auth/oidc.js';
import type { Config } from './config/config.js';
import type { AuditLog } from './observability/audit.js';
import type { Logger } from './observability/logger.js';
import type { GatewayMetrics } from './observability/metrics.js';
import type { ReadinessCheck } from './observability/readiness.js';
import { answerAuditQuery } from './ops/audit-route.js';
import { authRoutes } from './pages/auth-routes.js';
import { authenticate } from './authenticate/authenticate.js';
import { authorize } from './authorize/authorize.js';
import { redirectToPublicHost } from './request/canonical-host.js';
import { limitRequestBody } from './request/body-limit.js';
import { classifyRequest, isProxiedTarget, readRequestTarget } from './request/classify.js';
import type { OrthancClient } from './orthanc/orthanc-client.js';
import { dropBoxPage } from './pages/drop-box-page.js';
import type { Principal } from './auth/principal.js';
import { viewerAbilities } from './policy/viewer-abilities.js';
import { shareRoutes } from './pages/share-routes.js';
import { smartConfigurationRoute } from './pages/smart-configuration.js';
import { shareLinksPage } from './pages/share-links-page.js';
import type { ShareLinks } from './share/share-links.js';
import { policyOptionsFrom } from './policy/options.js';
import type { Route } from './policy/routes.js';
import type { CreatorStanding } from './share/creator-standing.js';
import { explorerContentSecurityPolicy } from './pages/content-security.js';
import { corsForDicomweb } from './request/cors.js';
import { errorHandler, notFound } from './respond/error-handler.js';
import { GatewayError } from './errors.js';
import { adoptRequest, runStages } from './pipeline.js';
import { requestState } from './respond/request-state.js';
import { metricsRoute } from './ops/metrics-route.js';
import { observeRequests } from './request/observe.js';
import { browserSession } from './authenticate/browser-session.js';
import { signedOutRoute } from './pages/signed-out-route.js';
import { opsRoutes } from './ops/ops-routes.js';
import { precomputedHeaders } from './request/static-headers.js';
import { proxyToOrthanc } from './upstream/proxy.js';
import { limitQidoResults } from './authorize/qido-limit.js';
import type { RateLimiting } from './request/rate-limit.js';
import { assignRequestId } from './request/request-id.js';
import { enforceStudyAccess } from './authorize/study-access.js';
import type { StudyLookup } from './authorize/study-lookup.js';
import { limitUserConcurrency, type ConcurrencySlots } from './authorize/user-concurrency.js';
import { serveViewer } from './pages/viewer.js';
import { viewerPageGuard } from './pages/viewer-access.js';
import { sessionViewerUser } from './pages/viewer-user.js';

export interface AppDependencies {
  config: Config;
  logger: Logger;
  bearer: BearerVerifier;
  sessions: BrowserSessions;
  oidc: OidcClient;
  /** The IdP's discovery document (the SMART configuration is built from it). */
  issuerMetadata: IssuerMetadataSource;
  /** express-session over the configured store. */
  sessionMiddleware: RequestHandler;
  /** The principal of a proxied request's browser session (cached; loads the session only on a miss). */
  sessionPrincipal: SessionPrincipal;
  /** Connections to Orthanc for requests with a body (node:http). */
  upstreamAgent: Agent;
  /** Connections to a plain-HTTP Orthanc for bodiless requests (undici; undefined for https://). */
  upstreamPool: Dispatcher | undefined;
  orthancClient: OrthancClient;
  shareLinks: ShareLinks;
  creatorStanding: CreatorStanding;
  /** The per-study access attribute of studies, from Orthanc (when STUDY_ACCESS_CLAIM is set). */
  studyLookup: StudyLookup | undefined;
  /** The Patient IDs of studies, from Orthanc (when SMART_CLIENTS is set: patient context). */
  patientLookup: StudyLookup | undefined;
  /** FHIR Patient id → DICOM Patient ID (when SMART_PATIENT_FHIR_URL is set). */
  fhirPatients: FhirPatientResolver | undefined;
  rateLimits: RateLimiting;
  /** Per-user request slots; set when USER_MAX_CONCURRENT_REQUESTS is. */
  userSlots: ConcurrencySlots | undefined;
  readinessChecks: Record<string, ReadinessCheck>;
  metrics: GatewayMetrics;
  audit: AuditLog;
}

/** Runs the given stages only for requests classified as a proxied /pacs or /pacs-admin route. */
function forProxiedRoutes(...stages: RequestHandler[]): RequestHandler {
  return (req, res, next) => (requestState(res).route ? runStages(stages, req, res, next) : next());
}

/** Orthanc Explorer's pages, as `app.use('/pacs-admin/app/', …)` would mount them. */
function explorerPages(handler: RequestHandler): RequestHandler {
  // The classified route, not the raw path: `/pac%73-admin/app/…` is the same page and gets the same policy.
  const isExplorerPage = (route: Route | undefined) => route?.prefix === '/pacs-admin' && (route.upstreamPath === '/app' || route.upstreamPath.startsWith('/app/'));
  return (req, res, next) => (isExplorerPage(requestState(res).route) ? handler(req, res, next) : next());
}

/** Sign-in starts and callbacks only. */
function onLoginPaths(handler: RequestHandler): RequestHandler {
  return Router({ caseSensitive: true, strict: true }).use(['/auth/login', '/auth/callback'], handler);
}

/** A pipeline stage, and whether it runs for /pacs and /pacs-admin (the lean path) too or only for Express's other routes. */
interface PipelineStage {
  handler: RequestHandler;
  proxied: boolean;
}
const forAll = (handler: RequestHandler): PipelineStage => ({ handler, proxied: true });
/** Routes of other paths (sign-in, pages, ops): never a /pacs or /pacs-admin request. */
const elsewhere = (handler: RequestHandler): PipelineStage => ({ handler, proxied: false });

export interface GatewayHttp {
  /** Everything but the lean path: sign-in routes, pages, viewer, ops. */
  app: Express;
  /** node:http's 'request' listener: plain /pacs and /pacs-admin targets run the pipeline's proxied stages without Express's router, the rest goes to `app`. */
  listener: (req: IncomingMessage, res: ServerResponse) => void;
}

function securityHeaders(config: Config): RequestHandler {
  return helmet({
    // Set per UI instead: the viewer (viewer.ts), Orthanc Explorer and the gateway's own pages (content-security.ts, error-page.ts).
    contentSecurityPolicy: false,
    crossOriginEmbedderPolicy: false,
    // Full referrer within the site only: query strings (patient names in QIDO) never leave it.
    referrerPolicy: { policy: 'same-origin' },
    strictTransportSecurity: config.publicUrl.startsWith('https:') ? { maxAge: 31_536_000 } : false,
  });
}

/**
 * The request pipeline, top to bottom: request id → classify (refuse unclean paths) → page loads on
 * another host sent to PUBLIC_URL → browser session → /auth routes → for /pacs and /pacs-admin:
 * authenticate → authorize → QIDO limit clamp → per-user concurrency → per-study access (each when configured) → the audit query route → proxy → viewer.
 * One list for both paths: Express runs all of it; plain /pacs and /pacs-admin targets run its
 * `forAll` stages, in the same order, without Express's router (its per-layer path matching).
 */
export function createApp(deps: AppDependencies): GatewayHttp {
  const { config, logger, bearer, sessions, oidc, upstreamAgent, readinessChecks, rateLimits } = deps;
  const identify = authenticate({
    bearer,
    sessionPrincipal: deps.sessionPrincipal,
    rolesClient: config.oidc.rolesClient,
    studyAccessClaim: config.studyAccess?.claim,
    smart: config.smart,
    fhirPatients: deps.fhirPatients,
    publicOrigin: new URL(config.publicUrl).origin,
  });
  const { studyAccess } = config;
  const policy = policyOptionsFrom(config);
  const deciders = {
    claim: studyAccess && deps.studyLookup && { attribute: studyAccess.attribute, lookup: deps.studyLookup },
    patient: deps.patientLookup && { attribute: 'PatientID' as const, lookup: deps.patientLookup },
  };
  const studyAccessStage = deciders.claim || deciders.patient ? [enforceStudyAccess(deciders)] : [];
  const app = express();
  app.disable('x-powered-by');
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  // One hop: the proxy in front of us. Trusting every hop would let a client choose its own address
  // (the left-most X-Forwarded-For entry is whatever the client sent).
  app.set('trust proxy', config.trustProxy ? 1 : false);

  const { qidoMaxLimit, maxConcurrentRequests } = config.userLimits;
  const mayUpload = (principal: Principal) => viewerAbilities(principal, policy, config.share.roles).upload;
  const pipeline: PipelineStage[] = [
    forAll(assignRequestId),
    forAll(observeRequests({ logger, metrics: deps.metrics, audit: deps.audit, viewer: Boolean(config.ohifDist) })),
    forAll(precomputedHeaders(securityHeaders(config))),
    elsewhere(opsRoutes(readinessChecks)),
    elsewhere(metricsRoute(deps.metrics)),
    forAll(readRequestTarget),
    forAll(corsForDicomweb(config.corsOrigins)),
    ...(config.smart ? [elsewhere(smartConfigurationRoute(deps.issuerMetadata, config.oidc))] : []),
    forAll(classifyRequest),
    forAll(redirectToPublicHost(config.publicUrl, config.trustProxy)),
    forAll(limitRequestBody(config.bodyLimits)),
    elsewhere(onLoginPaths(rateLimits.limitLogins)),
    forAll(rateLimits.limitAuthFailures),
    elsewhere(signedOutRoute()),
    forAll(browserSession(deps.sessionMiddleware)),
    elsewhere(dropBoxPage({ sessions, policy, shareRoles: config.share.roles })),
    elsewhere(shareRoutes({ config, shareLinks: deps.shareLinks, creatorStanding: deps.creatorStanding, sessions, orthancClient: deps.orthancClient, studyLookup: deps.studyLookup, authenticate: identify, policy })),
    elsewhere(shareLinksPage({ sessions, share: config.share, policy })),
    elsewhere(authRoutes({ publicUrl: config.publicUrl, oidc, sessions, authenticate: identify, mayUpload, logger })),
    forAll(explorerPages(explorerContentSecurityPolicy)),
    forAll(
      forProxiedRoutes(
        identify,
        authorize(policy),
        // The clamp comes first: per-study access then pages the (clamped) limit itself.
        ...(qidoMaxLimit ? [limitQidoResults(qidoMaxLimit)] : []),
        ...(deps.userSlots && maxConcurrentRequests ? [limitUserConcurrency(deps.userSlots, maxConcurrentRequests)] : []),
        ...studyAccessStage,
        answerAuditQuery(config.auditLogFile),
        proxyToOrthanc({ publicUrl: config.publicUrl, orthanc: config.orthanc, agent: upstreamAgent, pool: deps.upstreamPool, logger }),
      ),
    ),
    ...(config.ohifDist
      ? [
          elsewhere(
            serveViewer(config.ohifDist, {
              pageGuard: viewerPageGuard(config.viewerAccess, sessions, config.roles),
              identityProviderOrigin: config.viewerAccess === 'public' ? new URL(config.oidc.issuer).origin : undefined,
              ...(config.viewerAccess === 'session' ? { userPreamble: sessionViewerUser(sessions, policy, config.share.roles) } : {}),
            }),
          ),
        ]
      : []),
    forAll(notFound),
  ];
  const answerError = errorHandler(logger);
  for (const { handler } of pipeline) app.use(handler);
  app.use(answerError);

  const leanStages = pipeline.filter((stage) => stage.proxied).map((stage) => stage.handler);
  const finish = (error: unknown, req: Request, res: Response) => answerError(error ?? new GatewayError('not_found', 'No such route'), req, res, () => undefined);
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const request = req as Request;
    if (!isProxiedTarget(request)) return void app(req, res);
    const response = res as Response;
    adoptRequest(app, request, response);
    runStages(leanStages, request, response, finish);
  };
  return { app, listener };
}
