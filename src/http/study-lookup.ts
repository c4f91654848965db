import type { StudyAccessConfig } from '../config/config.js';
import { TtlLruCache } from '../cache/ttl-lru-cache.js';
import { GatewayError } from '../errors.js';
import { ATTRIBUTE_TAG, attributeValues, type StudyAttribute } from '../policy/study-access.js';
import type { OrthancClient } from './orthanc-client.js';

const CAPACITY = 10_000;

/** Where Orthanc's REST answer for `/instances/{id}/study` keeps each attribute. */
const REST_FIELD: Record<StudyAttribute, { group: 'MainDicomTags' | 'PatientMainDicomTags'; name: string }> = {
  InstitutionName: { group: 'MainDicomTags', name: 'InstitutionName' },
  PatientIDPrefix: { group: 'PatientMainDicomTags', name: 'PatientID' },
};

export interface StudyLookupOptions extends Pick<StudyAccessConfig, 'attribute' | 'cacheSeconds'> {
  timeoutMs: number;
}

/**
 * The per-study access attribute of a study, asked from Orthanc with the service credential (by
 * StudyInstanceUID through QIDO, or by Orthanc instance id through the REST API). Found values are
 * cached briefly and shared by concurrent requests (a viewer asks for dozens of frames at once);
 * unknown studies (null) are not cached, so an upload is visible at once.
 */
export function createStudyLookup(client: OrthancClient, { attribute, cacheSeconds, timeoutMs }: StudyLookupOptions) {
  const cache = new TtlLruCache<string, Promise<string[] | null>>(CAPACITY);
  const tag = ATTRIBUTE_TAG[attribute];

  async function ask(path: string): Promise<unknown> {
    const answer = await client.get(path, { timeoutMs }).catch(() => {
      throw new GatewayError('bad_gateway', 'Orthanc did not answer the study lookup');
    });
    if (answer.status === 404) return null;
    if (answer.status !== 200) throw new GatewayError('bad_gateway', `Orthanc answered HTTP ${answer.status} to the study lookup`);
    try {
      return JSON.parse(answer.body) as unknown;
    } catch {
      throw new GatewayError('bad_gateway', 'Orthanc answered the study lookup with something other than JSON');
    }
  }

  function cached(key: string, load: () => Promise<string[] | null>): Promise<string[] | null> {
    const hit = cache.get(key);
    if (hit) return hit;
    const pending = load();
    cache.set(key, pending, Date.now() + cacheSeconds * 1000);
    pending.then((values) => values === null && cache.delete(key), () => cache.delete(key));
    return pending;
  }

  return {
    byStudyUid: (studyUid: string) =>
      cached(`study:${studyUid}`, async () => {
        const found = await ask(`/dicom-web/studies?StudyInstanceUID=${encodeURIComponent(studyUid)}&includefield=${tag}`);
        const studies = Array.isArray(found) ? found : [];
        return studies.length === 0 ? null : studies.flatMap((study) => attributeValues(study, tag));
      }),
    byInstanceId: (orthancId: string) =>
      cached(`instance:${orthancId}`, async () => {
        const study = await ask(`/instances/${encodeURIComponent(orthancId)}/study`);
        if (study === null) return null;
        const { group, name } = REST_FIELD[attribute];
        const value = (study as Record<string, Record<string, unknown> | undefined>)[group]?.[name];
        return typeof value === 'string' ? [value] : [];
      }),
  };
}

export type StudyLookup = ReturnType<typeof createStudyLookup>;
