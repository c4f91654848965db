import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IssuerMetadataSource } from '../auth/issuer.js';
import type { AuditConfig, Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { createDeliverySink, type Transport } from './delivery.js';
import { dicomAuditMessage } from './dicom-message.js';
import type { AuditSink } from './dispatcher.js';
import { fhirAuditEvent } from './fhir-audit-event.js';
import { createAuditTokenSource } from './fhir-token.js';
import { createFhirTransport } from './fhir-transport.js';
import { checkAuditToken } from './token-check.js';
import { createAuditTransportMetrics } from './metrics.js';
import type { AuditRecord, AuditSource } from './record.js';
import { openSpool } from './spool.js';
import { createSyslogTransport, syslogMessage } from './syslog.js';

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
export function transportSinks(config: Config, source: AuditSource, logger: Logger, metrics: GatewayMetrics, issuerMetadata: IssuerMetadataSource): AuditSink[] {
  const { audit } = config;
  if (!audit.spool) return [];
  const transports: Array<{ transport: Transport; format: (record: AuditRecord) => string }> = [];
  if (audit.syslog) {
    transports.push({ transport: syslogTransport(audit.syslog, audit.transportTimeoutMs), format: (record) => syslogMessage(record, source, dicomAuditMessage(record, source)) });
  }
  if (audit.fhirUrl) {
    const tls = { ca: readPem('AUDIT_FHIR_CA_FILE', audit.fhirTls.caFile), cert: readPem('AUDIT_FHIR_CERT_FILE', audit.fhirTls.certFile), key: readPem('AUDIT_FHIR_KEY_FILE', audit.fhirTls.keyFile) };
    const oauth = audit.fhirOAuth;
    const tokens = oauth && createAuditTokenSource({ ...oauth, metadata: issuerMetadata, issuer: config.oidc.issuer, timeoutMs: audit.transportTimeoutMs });
    if (oauth && tokens) void checkAuditToken(tokens, oauth.clientId, logger);
    transports.push({ transport: createFhirTransport({ baseUrl: audit.fhirUrl, timeoutMs: audit.transportTimeoutMs, tls, tokens }), format: (record) => JSON.stringify(fhirAuditEvent(record, source)) });
  }
  const counters = createAuditTransportMetrics(metrics.registry);
  const { dir, maxBytes, alarmMessages } = audit.spool;
  return transports.map(({ transport, format }) => {
    const spool = openSpool({ dir: join(dir, transport.name), maxBytes });
    counters.watch(transport.name, spool);
    return createDeliverySink({ transport, spool, format, logger, counters, alarmAt: alarmMessages });
  });
}
