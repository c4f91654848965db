import type { AuditEvent as FhirAuditEvent, AuditEventAgent, AuditEventEntity, Coding } from '@medplum/fhirtypes';
import { studyUidsOf, type AuditRecord, type AuditSource } from './record.js';
import type { AuditUser } from '../observability/audit.js';
import { APPLICATION_ROLE, counterpartRole, PATIENT_CONTEXT_DETAIL, RESPONSIBLE_PARTY, standardEvent, type DcmCode, type StandardEvent } from './standard-event.js';

/**
 * An audit record as a FHIR R4 AuditEvent following IHE Basic Audit Log Patterns (BALP): the DICOM
 * event code as `type`, the RESTful interaction as `subtype`, the caller and the gateway as agents,
 * the study, the patient, the request id and (for searches) the query as entities.
 */

const DCM_SYSTEM = 'http://dicom.nema.org/resources/ontology/DCM';
const INTERACTION_SYSTEM = 'http://hl7.org/fhir/restful-interaction';
const ENTITY_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/object-role';
const SOURCE_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/security-source-type';
/** BALP's entity type for the X-Request-Id of the audited HTTP request. */
const REQUEST_ID_TYPE: Coding = { system: 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType', code: 'XrequestId', display: 'X-Request-Id' };
const NETWORK_IP = '2';
const NETWORK_MACHINE_NAME = '1';

const dcm = ({ code, meaning }: DcmCode): Coding => ({ system: DCM_SYSTEM, code, display: meaning });

const INTERACTION: Partial<Record<StandardEvent['attempted'], Coding>> = {
  search: { system: INTERACTION_SYSTEM, code: 'search-type', display: 'search type' },
  retrieve: { system: INTERACTION_SYSTEM, code: 'read', display: 'read' },
  store: { system: INTERACTION_SYSTEM, code: 'create', display: 'create' },
};

function subtypes(standard: StandardEvent): Coding[] {
  const interaction = INTERACTION[standard.attempted];
  if (interaction) return [interaction];
  return standard.eventType ? [dcm(standard.eventType)] : [];
}

/** BALP's OAuth client agent: the app the token was issued to (azp), acting for the person. */
function appAgent(clientId: string | undefined): AuditEventAgent[] {
  if (!clientId) return [];
  return [{ type: { coding: [dcm(APPLICATION_ROLE)] }, who: { identifier: { value: clientId }, display: clientId }, requestor: false }];
}

/** The creator of the share link the caller holds: the access happens on their responsibility; not the requestor. */
function sharerAgent(sharedBy: AuditUser | undefined): AuditEventAgent[] {
  if (!sharedBy) return [];
  const { system, code, meaning } = RESPONSIBLE_PARTY;
  return [{ type: { coding: [{ system, code, display: meaning }] }, who: { identifier: { value: sharedBy.sub }, ...(sharedBy.username ? { display: sharedBy.username } : {}) }, requestor: false }];
}

function agents(record: AuditRecord, source: AuditSource, standard: StandardEvent): AuditEventAgent[] {
  const { user, clientIp } = record.event;
  const callerRole = standard.requestorRole;
  const gatewayRole = counterpartRole(callerRole);
  return [
    {
      ...(callerRole ? { type: { coding: [dcm(callerRole)] } } : {}),
      who: user ? { identifier: { value: user.sub }, ...(user.username ? { display: user.username } : {}) } : { display: 'unauthenticated' },
      ...(user?.username ? { altId: user.username } : {}),
      requestor: true,
      ...(clientIp ? { network: { address: clientIp, type: NETWORK_IP } } : {}),
    },
    ...appAgent(record.event.clientId),
    ...sharerAgent(record.event.sharedBy),
    {
      ...(gatewayRole ? { type: { coding: [dcm(gatewayRole)] } } : {}),
      who: { identifier: { system: 'urn:ietf:rfc:3986', value: source.gatewayUrl }, display: `orthanc-oidc-gateway (OIDC client ${source.oidcClientId})` },
      requestor: false,
      network: { address: source.hostname, type: NETWORK_MACHINE_NAME },
    },
  ];
}

/** BALP's patient entity; one of a SMART app's patient context carries a detail saying so. */
function patientEntity(patient: { id: string; name: string | undefined }, inContext: boolean): AuditEventEntity {
  return {
    what: { identifier: { value: patient.id }, ...(patient.name ? { display: patient.name } : {}) },
    type: { system: ENTITY_TYPE_SYSTEM, code: '1', display: 'Person' },
    role: { system: OBJECT_ROLE_SYSTEM, code: '1', display: 'Patient' },
    ...(inContext ? { detail: [{ type: PATIENT_CONTEXT_DETAIL, valueString: 'true' }] } : {}),
  };
}

function entities(record: AuditRecord, standard: StandardEvent): AuditEventEntity[] {
  const { event } = record;
  const list: AuditEventEntity[] = [];
  const context = new Set(event.patientContext ?? []);
  const contextOnly = [...context].filter((id) => !record.patients.some((patient) => patient.id === id)).map((id) => ({ id, name: undefined }));
  for (const patient of [...record.patients, ...contextOnly]) list.push(patientEntity(patient, context.has(patient.id)));
  for (const studyUid of studyUidsOf(event)) {
    list.push({
      what: { identifier: { system: 'urn:dicom:uid', value: `urn:oid:${studyUid}` } },
      type: { system: ENTITY_TYPE_SYSTEM, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE_SYSTEM, code: '3', display: 'Report' },
      description: 'DICOM study',
    });
  }
  list.push({ what: { identifier: { value: event.requestId } }, type: REQUEST_ID_TYPE });
  if (standard.attempted === 'search') {
    list.push({
      type: { system: ENTITY_TYPE_SYSTEM, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE_SYSTEM, code: '24', display: 'Query' },
      // The path only: the query string may name patients and is never recorded.
      query: Buffer.from(`${event.method} ${event.path}`).toString('base64'),
    });
  }
  return list;
}

export function fhirAuditEvent(record: AuditRecord, source: AuditSource): FhirAuditEvent {
  const standard = standardEvent(record.event);
  const subtype = subtypes(standard);
  return {
    resourceType: 'AuditEvent',
    type: dcm(standard.eventId),
    ...(subtype.length > 0 ? { subtype } : {}),
    action: standard.actionCode,
    recorded: record.time,
    outcome: standard.outcome,
    ...(standard.outcomeDescription ? { outcomeDesc: standard.outcomeDescription } : {}),
    agent: agents(record, source, standard),
    source: {
      ...(source.siteId ? { site: source.siteId } : {}),
      observer: { display: source.sourceId },
      type: [{ system: SOURCE_TYPE_SYSTEM, code: '4', display: 'Application Server' }],
    },
    entity: entities(record, standard),
  };
}
