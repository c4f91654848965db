import { randomBytes } from 'node:crypto';
import { createBearerVerifier } from './auth/bearer.js';
import { createBrowserSessions } from './auth/browser-sessions.js';
import { createFhirPatientResolver } from './auth/fhir-patient.js';
import { createIntrospectionVerifier } from './auth/introspection.js';
import { createIssuerMetadataSource } from './auth/issuer.js';
import { createIssuerKeys, warmUpIssuer } from './auth/issuer-keys.js';
import { createOidcClient } from './auth/oidc.js';
import { createRedisClient, redisReady } from './auth/redis.js';
import { createSessionMiddleware, createSessionStore, sessionCookieName } from './auth/session.js';
import { SessionCache } from './auth/session-cache.js';
import { createSessionInvalidation } from './auth/session-invalidation.js';
import { createSessionPrincipal } from './auth/session-principal.js';
import { memorySharedState, redisSharedState } from './auth/shared-state.js';
import type { Config } from './config/config.js';
import { createShareLinks } from './share/share-links.js';
import { createCreatorStanding } from './share/creator-standing.js';
import { policyOptionsFrom } from './policy/options.js';
import { viewerAbilities } from './policy/viewer-abilities.js';
import type { AppDependencies } from './app.js';
import { createOrthancClient } from './orthanc/orthanc-client.js';
import { createStudyLookup } from './authorize/study-lookup.js';
import { createRateLimits } from './request/rate-limit.js';
import { createUpstreamAgent } from './upstream/upstream-agent.js';
import { createUpstreamPool } from './upstream/upstream-pool.js';
import { createConcurrencySlots } from './authorize/user-concurrency.js';
import { describeOrthancAnswer, describeOrthancFailure } from './upstream/upstream-errors.js';
import { createAuditSinks } from './audit/sinks.js';
import { createAuditLog } from './observability/audit.js';
import type { Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import type { ReadinessCheck } from './observability/readiness.js';

export interface Components {
  app: AppDependencies;
  /** Resolves once the session store is connected (or gives up after a few seconds, with a warning). */
  ready(): Promise<void>;
  /** Releases connections (Redis, upstream pool) at shutdown. */
  close(): Promise<void>;
}

function sessionSecret(config: Config, logger: Logger): string {
  if (config.session.secret) return config.session.secret;
  logger.warn('SESSION_SECRET is not set: using a random secret, so sessions end when the gateway restarts (development only)');
  return randomBytes(32).toString('base64url');
}

/**
 * Builds every long-lived part of the gateway once, from the validated config; optional features'
 * code is imported only when configured.
 */
export async function createComponents(config: Config, logger: Logger): Promise<Components> {
  const metadata = createIssuerMetadataSource({ issuer: config.oidc.issuer, discoveryUrl: config.oidc.discoveryUrl });
  const keys = createIssuerKeys(metadata, { cacheMaxAgeMs: config.oidc.jwksCacheSeconds * 1000 });
  const upstreamAgent = createUpstreamAgent(config.orthanc);
  const upstreamPool = createUpstreamPool(config.orthanc);
  const orthancClient = createOrthancClient(config.orthanc, upstreamAgent);

  const redis = config.redis ? createRedisClient(config.redis, logger) : undefined;
  if (!redis) logger.warn('Redis is not configured (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES): sessions live in this process memory (development only; lost on restart, not shared by replicas)');
  const sessionCache = config.session.cacheSeconds > 0 ? new SessionCache(config.session.cacheSeconds * 1000) : undefined;
  const invalidation = createSessionInvalidation({ redis, cache: sessionCache, logger });
  const store = createSessionStore(redis, config.session.idleSeconds, config.session.maxSeconds, (sessionId) => invalidation.publish(`session:${sessionId}`));
  const state = redis ? redisSharedState(redis) : memorySharedState();
  const oidc = createOidcClient(config, metadata, keys);
  const { tokenValidation } = config.oidc;
  const bearer = tokenValidation.mode === 'introspection'
    ? createIntrospectionVerifier({ issuer: config.oidc.issuer, audience: config.oidc.audience, introspect: oidc.introspect, cacheSeconds: tokenValidation.cacheSeconds })
    : createBearerVerifier({ issuer: config.oidc.issuer, audience: config.oidc.audience, keys });
  const metrics = createMetrics();
  const audit = createAuditLog({ logger, toLogStream: !config.auditLogFile, sinks: await createAuditSinks(config, orthancClient, logger, metrics, metadata) });
  const shareLinks = createShareLinks(state, config.share.maxSeconds, invalidation.publish);
  const policy = policyOptionsFrom(config);
  const creatorStanding = createCreatorStanding({ state, shareLinks, shareRoles: config.share.roles, mayUpload: (roles) => viewerAbilities({ roles }, policy, config.share.roles).upload, confirmSeconds: config.share.confirmSeconds, invalidate: invalidation.publish });
  const sessions = createBrowserSessions({ config, shareLinks, creatorStanding, oidc, bearer, keys, store, state, logger, metrics });

  const readinessChecks: Record<string, ReadinessCheck> = {
    orthanc: async () => {
      // Errors in words an operator can act on (untrusted certificate, missing client certificate…).
      const { status, body } = await orthancClient.get('/system').catch((error: Error) => {
        throw new Error(describeOrthancFailure(error));
      });
      if (status !== 200) throw new Error(describeOrthancAnswer('/system', status, body));
    },
    identityProvider: async () => {
      await metadata.get();
    },
  };
  if (redis) {
    readinessChecks['redis'] = async () => {
      await redis.ping();
    };
  }

  const sessionMiddleware = createSessionMiddleware(config, store, sessionSecret(config, logger));

  let stopWarmUp: (() => void) | undefined;
  return {
    app: {
      config,
      logger,
      bearer,
      sessions,
      oidc,
      issuerMetadata: metadata,
      sessionMiddleware,
      sessionPrincipal: createSessionPrincipal({
        sessions,
        cache: sessionCache,
        cookieName: sessionCookieName(config),
        loadSession: sessionMiddleware,
        maxSeconds: config.session.maxSeconds,
        metrics,
      }),
      upstreamAgent,
      upstreamPool,
      orthancClient,
      shareLinks,
      creatorStanding,
      studyLookup: config.studyAccess && createStudyLookup(orthancClient, { ...config.studyAccess, timeoutMs: config.orthanc.timeoutMs, logger }),
      fhirPatients: config.smart?.patientFhir && createFhirPatientResolver({ ...config.smart.patientFhir, cacheSeconds: config.smart.cacheSeconds, timeoutMs: config.orthanc.timeoutMs }),
      patientLookup: config.smart && createStudyLookup(orthancClient, { attribute: 'PatientID', patientIdIssuer: config.smart.patientIdIssuer, cacheSeconds: config.smart.cacheSeconds, timeoutMs: config.orthanc.timeoutMs, logger }),
      rateLimits: createRateLimits(config.rateLimits, redis),
      userSlots: config.userLimits.maxConcurrentRequests ? createConcurrencySlots(config.userLimits.maxConcurrentRequests, redis) : undefined,
      readinessChecks,
      metrics,
      audit,
    },
    ready: async () => {
      // The IdP may come up after the gateway: discovery and keys are retried in the background.
      stopWarmUp ??= warmUpIssuer(keys, logger);
      if (redis && !(await redisReady(redis, 5000))) logger.warn('Redis is not reachable yet: session routes answer 503 until it is');
    },
    close: async () => {
      stopWarmUp?.();
      invalidation.close();
      upstreamAgent.destroy();
      await upstreamPool?.destroy();
      redis?.disconnect();
      await audit.close();
    },
  };
}
