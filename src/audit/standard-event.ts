import type { AuditEvent } from '../observability/audit.js';

/** A code of DICOM's own coding scheme (PS3.16, "DCM"). */
export interface DcmCode {
  code: string;
  meaning: string;
}

const DCM = {
  instancesAccessed: { code: '110103', meaning: 'DICOM Instances Accessed' },
  instancesTransferred: { code: '110104', meaning: 'DICOM Instances Transferred' },
  query: { code: '110112', meaning: 'Query' },
  securityAlert: { code: '110113', meaning: 'Security Alert' },
  userAuthentication: { code: '110114', meaning: 'User Authentication' },
  login: { code: '110122', meaning: 'Login' },
  logout: { code: '110123', meaning: 'Logout' },
  useOfRestrictedFunction: { code: '110132', meaning: 'Use of Restricted Function' },
} satisfies Record<string, DcmCode>;

/** The role of a participant that is a program: the app a token was issued to. */
export const APPLICATION_ROLE: DcmCode = { code: '110150', meaning: 'Application' };
/**
 * The role of a share link's creator in what its recipient or drop-box holder does: HL7 v3
 * ParticipationType RESP "responsible party" (DICOM's RoleIDCode list is extensible and has no code
 * for the one on whose behalf a link acts; BALP's agent.type binding takes v3 ParticipationType codes).
 */
export const RESPONSIBLE_PARTY = { code: 'RESP', meaning: 'responsible party', oid: '2.16.840.1.113883.5.90', system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType' } as const;
/** How a patient of a SMART app's patient context is marked (a DICOM ParticipantObjectDetail type, a FHIR entity detail type). */
export const PATIENT_CONTEXT_DETAIL = 'SMARTPatientContext';

const SOURCE_ROLE: DcmCode = { code: '110153', meaning: 'Source Role ID' };
const DESTINATION_ROLE: DcmCode = { code: '110152', meaning: 'Destination Role ID' };

/** The gateway's role in a data flow: the other end of the caller's. */
export function counterpartRole(role: DcmCode | undefined): DcmCode | undefined {
  if (!role) return undefined;
  return role.code === DESTINATION_ROLE.code ? SOURCE_ROLE : DESTINATION_ROLE;
}

/** What the attempted request was, for refusals too (a `denied` event keeps its route class and path). */
export type AttemptedAction = 'search' | 'retrieve' | 'store' | 'admin' | 'login' | 'logout' | 'restricted';

/**
 * One audit event as a DICOM PS3.15 A.5.3 audit message (and BALP AuditEvent): which message, its
 * action code and outcome, and who sends the data (the caller uploads; the gateway hands images out).
 */
export interface StandardEvent {
  attempted: AttemptedAction;
  eventId: DcmCode;
  eventType: DcmCode | undefined;
  /** C(reate), R(ead), U(pdate), D(elete), E(xecute). */
  actionCode: 'C' | 'R' | 'U' | 'D' | 'E';
  /** 0 success, 4 minor failure (refused, client error), 8 serious failure (the server failed). */
  outcome: '0' | '4' | '8';
  outcomeDescription: string | undefined;
  /** The caller's role in the data flow, when data flows. */
  requestorRole: DcmCode | undefined;
}

const SEARCH_PATH = /\/(studies|series|instances)$/;

function attemptedAction(event: AuditEvent): AttemptedAction {
  if (event.action !== 'denied') return event.action;
  if (event.path === '/auth/callback' || event.path === '/auth/login') return 'login';
  if (event.path.startsWith('/auth/')) return 'logout';
  switch (event.routeClass) {
    case 'admin-blocked':
      return 'restricted';
    case 'admin':
      return 'admin';
    case 'dicomweb-store':
      return 'store';
    case 'dicomweb-read':
      return SEARCH_PATH.test(event.path) ? 'search' : 'retrieve';
    default:
      return 'retrieve';
  }
}

const ACTION_BY_METHOD: Record<string, StandardEvent['actionCode']> = { GET: 'R', HEAD: 'R', POST: 'C', PUT: 'U', PATCH: 'U', DELETE: 'D' };

function outcomeOf(event: AuditEvent): Pick<StandardEvent, 'outcome' | 'outcomeDescription'> {
  if (event.event === 'denied') return { outcome: '4', outcomeDescription: `refused (${event.reason ?? 'denied'}), HTTP ${event.status}` };
  if (event.status >= 500) return { outcome: '8', outcomeDescription: `HTTP ${event.status}` };
  if (event.status >= 400) return { outcome: '4', outcomeDescription: `HTTP ${event.status}` };
  return { outcome: '0', outcomeDescription: undefined };
}

/**
 * The standard message of an event. Refusals are the message of what was attempted with a failure
 * outcome (IHE's pattern for access denials), except a blocked admin endpoint, a Security Alert
 * (use of a restricted function).
 */
export function standardEvent(event: AuditEvent): StandardEvent {
  const attempted = attemptedAction(event);
  const result = outcomeOf(event);
  const common = { attempted, ...result, eventType: undefined, requestorRole: undefined };
  switch (attempted) {
    case 'search':
      return { ...common, eventId: DCM.query, actionCode: 'E' };
    case 'retrieve':
      return { ...common, eventId: DCM.instancesAccessed, actionCode: 'R', requestorRole: DESTINATION_ROLE };
    case 'store':
      return { ...common, eventId: DCM.instancesTransferred, actionCode: 'C', requestorRole: SOURCE_ROLE };
    case 'admin':
      return { ...common, eventId: DCM.instancesAccessed, actionCode: ACTION_BY_METHOD[event.method] ?? 'E' };
    case 'login':
      return { ...common, eventId: DCM.userAuthentication, eventType: DCM.login, actionCode: 'E' };
    case 'logout':
      return { ...common, eventId: DCM.userAuthentication, eventType: DCM.logout, actionCode: 'E' };
    case 'restricted':
      return { ...common, eventId: DCM.securityAlert, eventType: DCM.useOfRestrictedFunction, actionCode: 'E' };
  }
}
