import type { AuditEvent } from '../observability/audit.js';

/** The patient of a study, from Orthanc (PatientID and PatientName of the study's patient). */
export interface AuditPatient {
  studyUid: string;
  id: string;
  name: string | undefined;
}

/**
 * What every audit sink consumes: the gateway's one AuditEvent, when it was recorded, and the
 * patients of the studies it names (looked up once per study; empty when none is named or known).
 */
export interface AuditRecord {
  time: string;
  event: AuditEvent;
  patients: AuditPatient[];
}

/** Who produces the standard messages: the gateway as a participant and as the audit source. */
export interface AuditSource {
  /** AuditSourceID / AuditEvent.source.observer: names this gateway to the audit repository. */
  sourceId: string;
  /** AuditEnterpriseSiteID / AuditEvent.source.site: the hospital or site, when configured. */
  siteId: string | undefined;
  /** The gateway's public base URL: its UserID as an active participant. */
  gatewayUrl: string;
  /** The OIDC client the gateway signs users in as. */
  oidcClientId: string;
  /** The machine the gateway runs on (its network access point). */
  hostname: string;
}

/** The StudyInstanceUIDs an event names (a QIDO search may name a list). */
export function studyUidsOf(event: Pick<AuditEvent, 'studyUid'>): string[] {
  return event.studyUid ? [...new Set(event.studyUid.split(/[,\\]/))] : [];
}
