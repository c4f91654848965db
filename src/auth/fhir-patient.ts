import { TtlLruCache } from '../cache/ttl-lru-cache.js';
import { GatewayError } from '../errors.js';

const CAPACITY = 10_000;
/** FHIR resource ids (R4 `id`): anything else names no Patient and is never sent to the server. */
const FHIR_ID = /^[A-Za-z0-9.-]{1,64}$/;

export interface FhirPatientOptions {
  /** The FHIR base URL (no trailing slash). */
  baseUrl: string;
  /** The identifier system whose value is the DICOM Patient ID. */
  identifierSystem: string;
  cacheSeconds: number;
  timeoutMs: number;
}

interface PatientResource {
  resourceType?: unknown;
  id?: unknown;
  identifier?: Array<{ system?: unknown; value?: unknown }>;
}

/** The DICOM Patient IDs of a Patient resource: the values of its identifiers of the system. */
export function dicomPatientIds(resource: unknown, fhirId: string, identifierSystem: string): string[] {
  const patient = resource as PatientResource | null;
  if (patient?.resourceType !== 'Patient' || patient.id !== fhirId || !Array.isArray(patient.identifier)) return [];
  return patient.identifier
    .filter((identifier) => identifier?.system === identifierSystem && typeof identifier.value === 'string' && identifier.value.trim() !== '')
    .map((identifier) => identifier.value as string);
}

/**
 * The token's patient context is a FHIR Patient id; the DICOM Patient ID is one of that Patient's
 * identifiers, read from the FHIR server with the app's own token (the server decides whether the
 * app may read it). Answers are cached per Patient id (the id comes from a verified token, the
 * resource is the same for every token naming it); failures are not.
 */
export function createFhirPatientResolver(options: FhirPatientOptions) {
  const cache = new TtlLruCache<string, Promise<string[]>>(CAPACITY);

  async function fetchIds(fhirId: string, token: string): Promise<string[]> {
    let response: Response;
    try {
      response = await fetch(`${options.baseUrl}/Patient/${fhirId}`, {
        headers: { accept: 'application/fhir+json', authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch {
      throw new GatewayError('bad_gateway', 'The FHIR server did not answer the patient lookup');
    }
    if (response.status === 404 || response.status === 410) return [];
    if (response.status !== 200) throw new GatewayError('bad_gateway', `The FHIR server answered HTTP ${response.status} to the patient lookup`);
    const resource: unknown = await response.json().catch(() => {
      throw new GatewayError('bad_gateway', 'The FHIR server answered the patient lookup with something other than JSON');
    });
    return dicomPatientIds(resource, fhirId, options.identifierSystem);
  }

  function idsOf(fhirId: string, token: string): Promise<string[]> {
    if (!FHIR_ID.test(fhirId)) return Promise.resolve([]);
    const hit = cache.get(fhirId);
    if (hit) return hit;
    const pending = fetchIds(fhirId, token);
    cache.set(fhirId, pending, Date.now() + options.cacheSeconds * 1000);
    pending.catch(() => cache.delete(fhirId));
    return pending;
  }

  return {
    /** The DICOM Patient IDs of the token's FHIR Patient ids. */
    async dicomIds(fhirIds: readonly string[], token: string): Promise<string[]> {
      return [...new Set((await Promise.all(fhirIds.map((id) => idsOf(id, token)))).flat())];
    },
  };
}

export type FhirPatientResolver = ReturnType<typeof createFhirPatientResolver>;
