/**
 * The standard audit messages of every kind of audit event: the DICOM audit message (validated
 * against the DICOM audit schema with xmllint) and the FHIR R4 AuditEvent (validated against the R4
 * StructureDefinitions), and what each carries: event code, outcome, participants, study, patient.
 */
import { describe, expect, it } from '@jest/globals';
import { create } from 'xmlbuilder2';
import { dicomAuditMessage } from '../../../src/audit/dicom-message.js';
import { fhirAuditEvent } from '../../../src/audit/fhir-audit-event.js';
import type { AuditRecord, AuditSource } from '../../../src/audit/record.js';
import type { AuditEvent } from '../../../src/observability/audit.js';
import { dicomSchemaErrors, fhirIssues, xpathString } from '../../support/audit-validators.js';

const STUDY = '1.2.840.113619.2.55.3.604688119.969.1268071029.320';
const SOURCE: AuditSource = { sourceId: 'gateway-test', siteId: 'Hospital', gatewayUrl: 'https://pacs.example.org', oidcClientId: 'orthanc-gateway', hostname: 'gw1' };
const alice = { sub: '6f1c-alice', username: 'alice' };
const base = { user: alice, via: 'bearer' as const, clientIp: '10.0.0.7', requestId: 'req-1', method: 'GET', status: 200 };

function record(event: Partial<AuditEvent>, patients: AuditRecord['patients'] = []): AuditRecord {
  return { time: '2025-01-01T10:00:00.000Z', event: { event: 'access', action: 'retrieve', path: '/', ...base, ...event } as AuditEvent, patients };
}

const patient = { studyUid: STUDY, id: 'P-1', name: 'Doe^Jane' };

/** event, expected DICOM EventID, EventTypeCode, action code, outcome */
const CASES: Array<[string, AuditRecord, string, string | undefined, string, string]> = [
  ['search', record({ action: 'search', path: '/pacs/dicom-web/studies', routeClass: 'dicomweb-read', studyUid: STUDY }, [patient]), '110112', undefined, 'E', '0'],
  ['retrieve', record({ action: 'retrieve', path: `/pacs/dicom-web/studies/${STUDY}/metadata`, routeClass: 'dicomweb-read', studyUid: STUDY }, [patient]), '110103', undefined, 'R', '0'],
  ['store', record({ action: 'store', method: 'POST', path: '/pacs/dicom-web/studies', routeClass: 'dicomweb-store', studyUid: STUDY }, [patient]), '110104', undefined, 'C', '0'],
  ['admin delete', record({ action: 'admin', method: 'DELETE', path: '/pacs-admin/studies/abc', routeClass: 'admin' }), '110103', undefined, 'D', '0'],
  ['retrieve, Orthanc down', record({ action: 'retrieve', status: 502, path: `/pacs/dicom-web/studies/${STUDY}`, routeClass: 'dicomweb-read', studyUid: STUDY }), '110103', undefined, 'R', '8'],
  ['login', record({ event: 'login', action: 'login', via: 'session', path: '/auth/callback', status: 302 }), '110114', '110122', 'E', '0'],
  ['logout', record({ event: 'logout', action: 'logout', via: 'session', path: '/auth/logout', status: 302 }), '110114', '110123', 'E', '0'],
  ['denied retrieve (no token)', record({ event: 'denied', action: 'denied', user: null, via: null, reason: 'missing', status: 401, path: `/pacs/dicom-web/studies/${STUDY}`, routeClass: 'dicomweb-read', studyUid: STUDY }), '110103', undefined, 'R', '4'],
  ['denied search (role)', record({ event: 'denied', action: 'denied', reason: 'forbidden', status: 403, path: '/pacs/dicom-web/studies', routeClass: 'dicomweb-read' }), '110112', undefined, 'E', '4'],
  ['denied sign-in', record({ event: 'denied', action: 'denied', user: null, via: null, reason: 'login_failed', status: 400, path: '/auth/callback' }), '110114', '110122', 'E', '4'],
  ['blocked admin endpoint', record({ event: 'denied', action: 'denied', reason: 'blocked', status: 403, method: 'POST', path: '/pacs-admin/tools/execute-script', routeClass: 'admin-blocked' }), '110113', '110132', 'E', '4'],
];

const uploader = { sub: '9a2e-uploader', username: 'uploader' };
/** Who acts through a share link: its holder (the requestor) and the link's creator (sharedBy). */
const SHARED: Array<[string, AuditRecord]> = [
  ['a share recipient reads the study', record({ user: { sub: 'share:abc', username: 'shared link from uploader' }, via: 'share', sharedBy: uploader, action: 'retrieve', routeClass: 'dicomweb-read', path: `/pacs/dicom-web/studies/${STUDY}`, studyUid: STUDY }, [patient])],
  ['a drop-box holder stores', record({ user: { sub: 'share:def', username: 'drop box from uploader' }, via: 'share', sharedBy: uploader, action: 'store', method: 'POST', routeClass: 'dicomweb-store', path: '/pacs/dicom-web/studies', studyUid: STUDY }, [patient])],
  ['a drop-box holder is refused a read', record({ event: 'denied', action: 'denied', user: { sub: 'share:def', username: 'drop box from uploader' }, via: 'share', sharedBy: uploader, reason: 'forbidden', status: 403, routeClass: 'dicomweb-read', path: '/pacs/dicom-web/studies' })],
];

const parse = (xml: string) => create(xml).end({ format: 'object' }) as unknown as { AuditMessage: Record<string, unknown> };
const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

describe('DICOM audit message (PS3.15 A.5)', () => {
  it.each(CASES)('%s: valid against the DICOM audit schema, with its event code and outcome', (_name, input, eventId, eventType, action, outcome) => {
    const xml = dicomAuditMessage(input, SOURCE);
    expect(dicomSchemaErrors(xml)).toBeUndefined();
    const message = parse(xml).AuditMessage;
    const identification = message['EventIdentification'] as Record<string, unknown>;
    expect(identification).toMatchObject({ '@EventActionCode': action, '@EventOutcomeIndicator': outcome, '@EventDateTime': input.time, EventID: { '@csd-code': eventId, '@codeSystemName': 'DCM' } });
    expect((identification['EventTypeCode'] as Record<string, string> | undefined)?.['@csd-code']).toBe(eventType);
    expect(identification['EventOutcomeDescription'] !== undefined).toBe(outcome !== '0');
  });

  it('names the caller (sub, name, address) as requestor, the gateway and its OIDC client, the study and the patient', () => {
    const message = parse(dicomAuditMessage(CASES[1]![1], SOURCE)).AuditMessage;
    const participants = asList(message['ActiveParticipant'] as Array<Record<string, unknown>>);
    expect(participants).toEqual([
      expect.objectContaining({ '@UserID': alice.sub, '@UserName': 'alice', '@UserIsRequestor': 'true', '@NetworkAccessPointID': '10.0.0.7', '@NetworkAccessPointTypeCode': '2', RoleIDCode: expect.objectContaining({ '@csd-code': '110152' }) }),
      expect.objectContaining({ '@UserID': SOURCE.gatewayUrl, '@AlternativeUserID': 'oidc-client=orthanc-gateway', '@UserIsRequestor': 'false', RoleIDCode: expect.objectContaining({ '@csd-code': '110153' }) }),
    ]);
    expect(message['AuditSourceIdentification']).toMatchObject({ '@AuditSourceID': 'gateway-test', '@AuditEnterpriseSiteID': 'Hospital' });
    const objects = asList(message['ParticipantObjectIdentification'] as Array<Record<string, unknown>>);
    expect(objects).toEqual([
      expect.objectContaining({ '@ParticipantObjectID': STUDY, '@ParticipantObjectTypeCodeRole': '3', ParticipantObjectIDTypeCode: expect.objectContaining({ '@csd-code': '110180' }) }),
      expect.objectContaining({ '@ParticipantObjectID': 'P-1', '@ParticipantObjectTypeCodeRole': '1', ParticipantObjectName: 'Doe^Jane' }),
    ]);
  });

  it('records a search as its path only, never the query string', () => {
    const xml = dicomAuditMessage(CASES[0]![1], SOURCE);
    const query = asList(parse(xml).AuditMessage['ParticipantObjectIdentification'] as Array<Record<string, unknown>>)[0]!['ParticipantObjectQuery'] as string;
    expect(Buffer.from(query, 'base64').toString()).toBe('GET /pacs/dicom-web/studies');
  });

  it('escapes what users control: a name with markup stays text, and the message stays valid', () => {
    const xml = dicomAuditMessage(record({ user: { sub: 's"<x>', username: '</UserName><evil a="1">&' } }, [{ ...patient, name: '<b>Doe</b>&' }]), SOURCE);
    expect(dicomSchemaErrors(xml)).toBeUndefined();
    expect(xpathString(xml, '/AuditMessage/ActiveParticipant[1]/@UserID')).toBe('s"<x>');
    expect(xpathString(xml, '/AuditMessage/ActiveParticipant[1]/@UserName')).toBe('</UserName><evil a="1">&');
    expect(xpathString(xml, "/AuditMessage/ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='1']/ParticipantObjectName")).toBe('<b>Doe</b>&');
  });

  it('names the app the token was issued to (Application role, not the requestor) and marks the patients of its SMART patient context', () => {
    const input = record({ clientId: 'smart-viewer', patientContext: ['P-1', 'P-9'], studyUid: STUDY, routeClass: 'dicomweb-read', path: `/pacs/dicom-web/studies/${STUDY}` }, [patient]);
    const xml = dicomAuditMessage(input, SOURCE);
    expect(dicomSchemaErrors(xml)).toBeUndefined();
    const app = "/AuditMessage/ActiveParticipant[@UserID='smart-viewer']";
    expect(xpathString(xml, `${app}/RoleIDCode/@csd-code`)).toBe('110150');
    expect(xpathString(xml, `${app}/@UserIsRequestor`)).toBe('false');
    expect(xpathString(xml, `count(/AuditMessage/ActiveParticipant[@UserIsRequestor='true'])`)).toBe('1');
    const contextOf = (id: string) => xpathString(xml, `/AuditMessage/ParticipantObjectIdentification[@ParticipantObjectID='${id}'][@ParticipantObjectTypeCodeRole='1']/ParticipantObjectDetail[@type='SMARTPatientContext']/@value`);
    expect(contextOf('P-1')).toBe(Buffer.from('true').toString('base64')); // seen and in context: one object
    expect(contextOf('P-9')).toBe(Buffer.from('true').toString('base64')); // in context only
    expect(xpathString(xml, "count(/AuditMessage/ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='1'])")).toBe('2');
    const plain = dicomAuditMessage(CASES[1]![1], SOURCE);
    expect(xpathString(plain, 'count(/AuditMessage/ActiveParticipant)')).toBe('2');
    expect(xpathString(plain, 'count(//ParticipantObjectDetail)')).toBe('0');
  });

  it.each(SHARED)('%s: the link’s creator is a participant (responsible party, not the requestor); the holder stays the requestor', (_name, input) => {
    const xml = dicomAuditMessage(input, SOURCE);
    expect(dicomSchemaErrors(xml)).toBeUndefined();
    const sharer = `/AuditMessage/ActiveParticipant[@UserID='${uploader.sub}']`;
    expect(xpathString(xml, `${sharer}/@UserName`)).toBe('uploader');
    expect(xpathString(xml, `${sharer}/@UserIsRequestor`)).toBe('false');
    expect(xpathString(xml, `${sharer}/RoleIDCode/@csd-code`)).toBe('RESP');
    expect(xpathString(xml, `${sharer}/RoleIDCode/@codeSystemName`)).toBe('2.16.840.1.113883.5.90');
    expect(xpathString(xml, "/AuditMessage/ActiveParticipant[@UserIsRequestor='true']/@UserID")).toBe(input.event.user!.sub);
    expect(xpathString(xml, 'count(/AuditMessage/ActiveParticipant)')).toBe('3');
  });

  it('has no sharer participant without a share link', () => {
    expect(xpathString(dicomAuditMessage(CASES[1]![1], SOURCE), "count(//RoleIDCode[@csd-code='RESP'])")).toBe('0');
  });

  it('the schema check can fail: a message without its audit source is refused', () => {
    const xml = dicomAuditMessage(CASES[1]![1], SOURCE).replace(/<AuditSourceIdentification[\s\S]*?<\/AuditSourceIdentification>/, '');
    expect(dicomSchemaErrors(xml)).toMatch(/ParticipantObjectIdentification|AuditSourceIdentification/);
  });
});

describe('FHIR R4 AuditEvent (IHE BALP)', () => {
  it.each(CASES)('%s: valid FHIR R4, with the DICOM event code, action and outcome', (_name, input, eventId, eventType, action, outcome) => {
    const resource = fhirAuditEvent(input, SOURCE);
    expect(fhirIssues(resource)).toEqual([]);
    expect(resource).toMatchObject({ resourceType: 'AuditEvent', type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: eventId }, action, outcome, recorded: input.time });
    if (eventType) expect(resource.subtype).toContainEqual(expect.objectContaining({ code: eventType }));
  });

  it('names the caller, the gateway, the patient and the study', () => {
    const resource = fhirAuditEvent(CASES[1]![1], SOURCE);
    expect(resource.subtype).toEqual([expect.objectContaining({ code: 'read' })]);
    expect(resource.agent).toEqual([
      expect.objectContaining({ requestor: true, who: { identifier: { value: alice.sub }, display: 'alice' }, network: { address: '10.0.0.7', type: '2' } }),
      expect.objectContaining({ requestor: false, who: expect.objectContaining({ identifier: { system: 'urn:ietf:rfc:3986', value: SOURCE.gatewayUrl } }) }),
    ]);
    expect(resource.entity).toEqual([
      expect.objectContaining({ what: { identifier: { value: 'P-1' }, display: 'Doe^Jane' }, role: expect.objectContaining({ code: '1' }) }),
      expect.objectContaining({ what: { identifier: { system: 'urn:dicom:uid', value: `urn:oid:${STUDY}` } }, role: expect.objectContaining({ code: '3' }) }),
      { what: { identifier: { value: 'req-1' } }, type: expect.objectContaining({ code: 'XrequestId' }) },
    ]);
    expect(resource.source).toMatchObject({ site: 'Hospital', observer: { display: 'gateway-test' } });
  });

  it('has an agent for the app (Application, not the requestor) and patient entities for its SMART patient context', () => {
    const input = record({ clientId: 'smart-viewer', patientContext: ['P-1', 'P-9'], studyUid: STUDY, routeClass: 'dicomweb-read', path: `/pacs/dicom-web/studies/${STUDY}` }, [patient]);
    const resource = fhirAuditEvent(input, SOURCE);
    expect(fhirIssues(resource)).toEqual([]);
    expect(resource.agent).toContainEqual({ type: { coding: [expect.objectContaining({ code: '110150' })] }, who: { identifier: { value: 'smart-viewer' }, display: 'smart-viewer' }, requestor: false });
    expect(resource.agent!.filter((agent) => agent.requestor)).toHaveLength(1);
    const patients = resource.entity!.filter((entity) => entity.role?.code === '1');
    expect(patients).toEqual([
      expect.objectContaining({ what: { identifier: { value: 'P-1' }, display: 'Doe^Jane' }, detail: [{ type: 'SMARTPatientContext', valueString: 'true' }] }),
      expect.objectContaining({ what: { identifier: { value: 'P-9' } }, detail: [{ type: 'SMARTPatientContext', valueString: 'true' }] }),
    ]);
    const plain = fhirAuditEvent(CASES[1]![1], SOURCE);
    expect(plain.agent).toHaveLength(2);
    expect(plain.entity!.some((entity) => entity.detail)).toBe(false);
  });

  it.each(SHARED)('%s: an agent for the link’s creator (responsible party, not the requestor); the holder stays the requestor', (_name, input) => {
    const resource = fhirAuditEvent(input, SOURCE);
    expect(fhirIssues(resource)).toEqual([]);
    expect(resource.agent).toContainEqual({
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'RESP', display: 'responsible party' }] },
      who: { identifier: { value: uploader.sub }, display: 'uploader' },
      requestor: false,
    });
    expect(resource.agent!.filter((agent) => agent.requestor).map((agent) => agent.who?.identifier?.value)).toEqual([input.event.user!.sub]);
    expect(resource.agent).toHaveLength(3);
  });

  it('has no sharer agent without a share link', () => {
    expect(fhirAuditEvent(CASES[1]![1], SOURCE).agent!.some((agent) => agent.type?.coding?.[0]?.code === 'RESP')).toBe(false);
  });

  it('the FHIR check can fail: an AuditEvent without agents or with a bad time is refused', () => {
    const resource = fhirAuditEvent(CASES[1]![1], SOURCE);
    expect(fhirIssues({ ...resource, agent: [] })).not.toEqual([]);
    expect(fhirIssues({ ...resource, recorded: 'yesterday' })).not.toEqual([]);
  });
});
