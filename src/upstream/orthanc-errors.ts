import { GatewayError } from '../errors.js';
import { studyNotFound } from '../respond/refusal.js';

/**
 * The gateway's answer to an Orthanc error status: a fixed message per status class. Orthanc's own
 * error bodies ("Details", "OrthancError", the URI, which study an instance is in…) never reach the
 * client: they break the error contract and would tell a study-scoped user whether a UID exists.
 * 401 and 403 are handled before (see proxy.ts); this covers every other status ≥ 400.
 */
export function orthancErrorAnswer(status: number, { studyScoped }: { studyScoped: boolean }): GatewayError {
  if (status === 404) return studyScoped ? studyNotFound() : new GatewayError('not_found', 'Orthanc has no such resource');
  if (status === 413) return new GatewayError('payload_too_large', 'Orthanc refused the request as too large');
  if (status < 500) return new GatewayError('bad_request', 'Orthanc refused the request as invalid');
  return new GatewayError('bad_gateway', 'Orthanc failed to process the request');
}

/** How much of Orthanc's error body goes to the log (it can name patients' UIDs: never to the client). */
export const LOGGED_ERROR_BODY_CHARS = 1024;
