import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { studyUidsOf, type AuditRecord, type AuditSource } from './record.js';
import type { AuditUser } from '../observability/audit.js';
import { APPLICATION_ROLE, counterpartRole, PATIENT_CONTEXT_DETAIL, RESPONSIBLE_PARTY, standardEvent, type DcmCode } from './standard-event.js';

/**
 * An audit record as a DICOM audit message (PS3.15 A.5, the schema of A.5.1: `csd-code`,
 * `codeSystemName`, `originalText`), the payload IHE ATNA repositories receive over syslog.
 */

const STUDY_UID_TYPE: DcmCode = { code: '110180', meaning: 'Study Instance UID' };
const SOP_CLASS_UID_TYPE: DcmCode = { code: '110181', meaning: 'SOP Class UID' };
/** The study-root QIDO/C-FIND information model, the SOP class of a DICOMweb search. */
const STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.2.1';

function coded(parent: XMLBuilder, element: string, { code, meaning }: DcmCode, system = 'DCM'): void {
  parent.ele(element, { 'csd-code': code, codeSystemName: system, originalText: meaning });
}

/** The caller: token subject and name, from the client address; the requestor. */
function addUser(message: XMLBuilder, record: AuditRecord, role: DcmCode | undefined): void {
  const { user, clientIp } = record.event;
  const participant = message.ele('ActiveParticipant', {
    UserID: user?.sub ?? 'unauthenticated',
    ...(user?.username ? { UserName: user.username } : {}),
    UserIsRequestor: 'true',
    ...(clientIp ? { NetworkAccessPointID: clientIp, NetworkAccessPointTypeCode: '2' } : {}),
  });
  if (role) coded(participant, 'RoleIDCode', role);
}

/**
 * The app the caller's token was issued to (azp), a participant of its own: PS3.15 A.5.2.1 lets
 * UserID name a process, and DCM 110150 "Application" is the RoleIDCode for one. Not the requestor:
 * the person is; the app acts for them (IHE IUA and BALP record the OAuth client the same way).
 */
function addApp(message: XMLBuilder, clientId: string | undefined): void {
  if (!clientId) return;
  const participant = message.ele('ActiveParticipant', { UserID: clientId, AlternativeUserID: `oidc-client=${clientId}`, UserIsRequestor: 'false' });
  coded(participant, 'RoleIDCode', APPLICATION_ROLE);
}

/**
 * The user who created the share link the caller holds: a participant of their own, not the
 * requestor (the recipient is), whose role says the access happens on their responsibility.
 */
function addSharer(message: XMLBuilder, sharedBy: AuditUser | undefined): void {
  if (!sharedBy) return;
  const participant = message.ele('ActiveParticipant', { UserID: sharedBy.sub, ...(sharedBy.username ? { UserName: sharedBy.username } : {}), UserIsRequestor: 'false' });
  coded(participant, 'RoleIDCode', RESPONSIBLE_PARTY, RESPONSIBLE_PARTY.oid);
}

/** The gateway: its public URL, the OIDC client it signs users in as, its host. */
function addGateway(message: XMLBuilder, source: AuditSource, role: DcmCode | undefined): void {
  const participant = message.ele('ActiveParticipant', {
    UserID: source.gatewayUrl,
    AlternativeUserID: `oidc-client=${source.oidcClientId}`,
    UserIsRequestor: 'false',
    NetworkAccessPointID: source.hostname,
    NetworkAccessPointTypeCode: '1',
  });
  if (role) coded(participant, 'RoleIDCode', role);
}

function addObjects(message: XMLBuilder, record: AuditRecord, attempted: string): void {
  const { event } = record;
  if (attempted === 'search') {
    const query = message.ele('ParticipantObjectIdentification', { ParticipantObjectID: STUDY_ROOT_FIND, ParticipantObjectTypeCode: '2', ParticipantObjectTypeCodeRole: '24' });
    coded(query, 'ParticipantObjectIDTypeCode', SOP_CLASS_UID_TYPE);
    // The path only: the query string may name patients and is never recorded.
    query.ele('ParticipantObjectQuery').txt(Buffer.from(`${event.method} ${event.path}`).toString('base64'));
  }
  for (const studyUid of studyUidsOf(event)) {
    const study = message.ele('ParticipantObjectIdentification', { ParticipantObjectID: studyUid, ParticipantObjectTypeCode: '2', ParticipantObjectTypeCodeRole: '3' });
    coded(study, 'ParticipantObjectIDTypeCode', STUDY_UID_TYPE);
    study.ele('ParticipantObjectName').txt(studyUid);
  }
  const context = new Set(event.patientContext ?? []);
  const seen = record.patients.map((patient) => ({ id: patient.id, name: patient.name ?? patient.id }));
  const contextOnly = [...context].filter((id) => !seen.some((patient) => patient.id === id)).map((id) => ({ id, name: id }));
  for (const patient of [...seen, ...contextOnly]) addPatient(message, patient, context.has(patient.id));
}

/**
 * A patient, seen or of the app's patient context (SMART launch/patient), or both; context is a
 * ParticipantObjectDetail (A.5.2.3: type/value pairs for what the message has no field for).
 */
function addPatient(message: XMLBuilder, patient: { id: string; name: string }, inContext: boolean): void {
  const object = message.ele('ParticipantObjectIdentification', { ParticipantObjectID: patient.id, ParticipantObjectTypeCode: '1', ParticipantObjectTypeCodeRole: '1' });
  coded(object, 'ParticipantObjectIDTypeCode', { code: '2', meaning: 'Patient Number' }, 'RFC-3881');
  object.ele('ParticipantObjectName').txt(patient.name);
  if (inContext) object.ele('ParticipantObjectDetail', { type: PATIENT_CONTEXT_DETAIL, value: Buffer.from('true').toString('base64') });
}

export function dicomAuditMessage(record: AuditRecord, source: AuditSource): string {
  const standard = standardEvent(record.event);
  const message = create({ version: '1.0', encoding: 'UTF-8' }).ele('AuditMessage');
  const identification = message.ele('EventIdentification', {
    EventActionCode: standard.actionCode,
    EventDateTime: record.time,
    EventOutcomeIndicator: standard.outcome,
  });
  coded(identification, 'EventID', standard.eventId);
  if (standard.eventType) coded(identification, 'EventTypeCode', standard.eventType);
  if (standard.outcomeDescription) identification.ele('EventOutcomeDescription').txt(standard.outcomeDescription);
  addUser(message, record, standard.requestorRole);
  addApp(message, record.event.clientId);
  addSharer(message, record.event.sharedBy);
  addGateway(message, source, counterpartRole(standard.requestorRole));
  const auditSource = message.ele('AuditSourceIdentification', { ...(source.siteId ? { AuditEnterpriseSiteID: source.siteId } : {}), AuditSourceID: source.sourceId });
  auditSource.ele('AuditSourceTypeCode', { 'csd-code': '4', codeSystemName: 'DCM', originalText: 'Application Server process tier in a multi-tier system' });
  addObjects(message, record, standard.attempted);
  return message.end({ headless: true });
}
