import { hostname } from 'node:os';
import type { Config } from '../config/config.js';
import type { OrthancClient } from '../http/orthanc-client.js';
import type { Logger } from '../observability/logger.js';
import { createChainedFile } from './chained-file.js';
import { createAuditDispatcher, type AuditDispatcher, type AuditSink } from './dispatcher.js';
import { createPatientLookup } from './patient-lookup.js';
import type { AuditSource } from './record.js';

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
export function createAuditSinks(config: Config, orthanc: OrthancClient, logger: Logger): AuditDispatcher | undefined {
  const sinks: AuditSink[] = [];
  if (config.auditLogFile) sinks.push(createChainedFile({ file: config.auditLogFile, anchorEvery: config.audit.anchorEvery, logger }));
  if (sinks.length === 0) return undefined;
  const patients = createPatientLookup(orthanc, { timeoutMs: config.orthanc.timeoutMs, cacheSeconds: config.audit.patientCacheSeconds });
  return createAuditDispatcher({ sinks, patients, logger });
}
