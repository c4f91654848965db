import { TtlLruCache } from '../cache/ttl-lru-cache.js';
import type { OrthancClient } from '../orthanc/orthanc-client.js';
import type { AuditPatient } from './record.js';

const CAPACITY = 10_000;

export type PatientLookup = (studyUid: string) => Promise<AuditPatient | undefined>;

function parse(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The patient of a study for the audit messages, asked from Orthanc with the service credential
 * (`/tools/lookup`, then the study's PatientMainDicomTags) once per study and cached. A study
 * Orthanc does not know (yet), or an Orthanc that does not answer, gives undefined and is asked
 * again next time. The answer goes only to the audit sinks, never to the request log.
 */
export function createPatientLookup(client: OrthancClient, { timeoutMs, cacheSeconds }: { timeoutMs: number; cacheSeconds: number }): PatientLookup {
  const cache = new TtlLruCache<string, Promise<AuditPatient | undefined>>(CAPACITY);

  async function load(studyUid: string): Promise<AuditPatient | undefined> {
    const found = await client.post('/tools/lookup', studyUid, { timeoutMs });
    const resources = found.status === 200 ? parse(found.body) : undefined;
    const study = Array.isArray(resources) ? (resources as Array<{ Type?: unknown; ID?: unknown }>).find((resource) => resource.Type === 'Study') : undefined;
    if (typeof study?.ID !== 'string') return undefined;
    const answer = await client.get(`/studies/${encodeURIComponent(study.ID)}`, { timeoutMs });
    const tags = (answer.status === 200 ? parse(answer.body) : undefined) as { PatientMainDicomTags?: { PatientID?: unknown; PatientName?: unknown } } | undefined;
    const { PatientID: id, PatientName: name } = tags?.PatientMainDicomTags ?? {};
    if (typeof id !== 'string') return undefined;
    return { studyUid, id, name: typeof name === 'string' && name !== '' ? name : undefined };
  }

  return (studyUid) => {
    const hit = cache.get(studyUid);
    if (hit) return hit;
    const pending = load(studyUid).catch(() => undefined);
    cache.set(studyUid, pending, Date.now() + cacheSeconds * 1000);
    void pending.then((patient) => patient === undefined && cache.delete(studyUid));
    return pending;
  };
}
