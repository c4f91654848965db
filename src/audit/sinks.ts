import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AuditConfig, Config } from '../config/config.js';
import type { OrthancClient } from '../http/orthanc-client.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { createChainedFile } from './chained-file.js';
import { createDeliverySink, type Transport } from './delivery.js';
import { dicomAuditMessage } from './dicom-message.js';
import { createAuditDispatcher, type AuditDispatcher, type AuditSink } from './dispatcher.js';
import { fhirAuditEvent } from './fhir-audit-event.js';
import { createFhirTransport } from './fhir-transport.js';
import { createAuditTransportMetrics } from './metrics.js';
import { createPatientLookup } from './patient-lookup.js';
import type { AuditRecord, AuditSource } from './record.js';
import { openSpool } from './spool.js';
import { createSyslogTransport, syslogMessage } from './syslog.js';

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

function readPem(variable: string, path: string | undefined): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

function syslogTransport(syslog: NonNullable<AuditConfig['syslog']>, timeoutMs: number): Transport {
  const url = new URL(syslog.url);
  return createSyslogTransport({
    protocol: url.protocol.slice(0, -1) as 'tls' | 'tcp' | 'udp',
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(url.port),
    ca: readPem('AUDIT_SYSLOG_CA_FILE', syslog.caFile),
    cert: readPem('AUDIT_SYSLOG_CERT_FILE', syslog.certFile),
    key: readPem('AUDIT_SYSLOG_KEY_FILE', syslog.keyFile),
    timeoutMs,
  });
}

/** The network transports (syslog, FHIR), each with its message format, behind its own spool. */
function transportSinks(config: Config, source: AuditSource, logger: Logger, metrics: GatewayMetrics): AuditSink[] {
  const { audit } = config;
  if (!audit.spool) return [];
  const transports: Array<{ transport: Transport; format: (record: AuditRecord) => string }> = [];
  if (audit.syslog) {
    transports.push({ transport: syslogTransport(audit.syslog, audit.transportTimeoutMs), format: (record) => syslogMessage(record, source, dicomAuditMessage(record, source)) });
  }
  if (audit.fhirUrl) {
    const tls = { ca: readPem('AUDIT_FHIR_CA_FILE', audit.fhirTls.caFile), cert: readPem('AUDIT_FHIR_CERT_FILE', audit.fhirTls.certFile), key: readPem('AUDIT_FHIR_KEY_FILE', audit.fhirTls.keyFile) };
    transports.push({ transport: createFhirTransport({ baseUrl: audit.fhirUrl, timeoutMs: audit.transportTimeoutMs, tls }), format: (record) => JSON.stringify(fhirAuditEvent(record, source)) });
  }
  const counters = createAuditTransportMetrics(metrics.registry);
  const { dir, maxBytes, alarmMessages } = audit.spool;
  return transports.map(({ transport, format }) => {
    const spool = openSpool({ dir: join(dir, transport.name), maxBytes });
    counters.watch(transport.name, spool);
    return createDeliverySink({ transport, spool, format, logger, counters, alarmAt: alarmMessages });
  });
}

/** The configured audit sinks behind one dispatcher; undefined when there is none. */
export function createAuditSinks(config: Config, orthanc: OrthancClient, logger: Logger, metrics: GatewayMetrics): AuditDispatcher | undefined {
  const sinks: AuditSink[] = [];
  if (config.auditLogFile) {
    // The anchors' witness lines are logged whatever LOG_LEVEL (except silent), like audit lines.
    const witness = logger.child({}, { level: logger.level === 'silent' ? 'silent' : 'info' });
    sinks.push(createChainedFile({ file: config.auditLogFile, anchorEvery: config.audit.anchorEvery, logger: witness }));
  }
  sinks.push(...transportSinks(config, auditSource(config), logger, metrics));
  if (sinks.length === 0) return undefined;
  // Short: every later record waits for this one's patient (records keep their order).
  const patients = createPatientLookup(orthanc, { timeoutMs: Math.min(config.orthanc.timeoutMs, PATIENT_LOOKUP_MAX_MS), cacheSeconds: config.audit.patientCacheSeconds });
  return createAuditDispatcher({ sinks, patients, logger });
}
