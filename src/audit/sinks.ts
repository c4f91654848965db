import { hostname } from 'node:os';
import type { IssuerMetadataSource } from '../auth/issuer.js';
import type { Config } from '../config/config.js';
import type { OrthancClient } from '../orthanc/orthanc-client.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { createChainedFile } from './chained-file.js';
import { createAuditDispatcher, type AuditDispatcher, type AuditSink } from './dispatcher.js';
import { createPatientLookup } from './patient-lookup.js';
import type { AuditSource } from './record.js';

const PATIENT_LOOKUP_MAX_MS = 5000;

export function auditSource(config: Config): AuditSource {
  const host = hostname();
  return {
    sourceId: config.audit.sourceId ?? host,
    siteId: config.audit.siteId,
    gatewayUrl: config.publicUrl,
    oidcClientId: config.oidc.clientId,
    hostname: host,
  };
}

/** The configured audit sinks behind one dispatcher; undefined when there is none. */
export async function createAuditSinks(config: Config, orthanc: OrthancClient, logger: Logger, metrics: GatewayMetrics, issuerMetadata: IssuerMetadataSource): Promise<AuditDispatcher | undefined> {
  const sinks: AuditSink[] = [];
  if (config.auditLogFile) {
    // The anchors' witness lines are logged whatever LOG_LEVEL (except silent), like audit lines.
    const witness = logger.child({}, { level: logger.level === 'silent' ? 'silent' : 'info' });
    sinks.push(createChainedFile({ file: config.auditLogFile, anchorEvery: config.audit.anchorEvery, logger: witness }));
  }
  if (config.audit.spool) {
    // Loaded only when configured: the transports' libraries (undici, xmlbuilder2) are a quarter of
    // the live heap that every full garbage collection marks (bench/README.md, "Issue 16").
    const { transportSinks } = await import('./transport-sinks.js');
    sinks.push(...transportSinks(config, auditSource(config), logger, metrics, issuerMetadata));
  }
  if (sinks.length === 0) return undefined;
  // Short: every later record waits for this one's patient (records keep their order).
  const patients = createPatientLookup(orthanc, { timeoutMs: Math.min(config.orthanc.timeoutMs, PATIENT_LOOKUP_MAX_MS), cacheSeconds: config.audit.patientCacheSeconds });
  return createAuditDispatcher({ sinks, patients, logger });
}
