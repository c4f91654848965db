import type { StudyAccessConfig } from '../config/config.js';
import { TtlLruCache } from '../cache/ttl-lru-cache.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { OrthancClient } from '../orthanc/orthanc-client.js';

const CAPACITY = 10_000;

/** InstitutionName, PatientID and IssuerOfPatientID in Orthanc's `?short` tag answers (shared-tags, instances-tags). */
const INSTITUTION_NAME = '0008,0080';
const PATIENT_ID = '0010,0020';
const ISSUER_OF_PATIENT_ID = '0010,0021';

export interface StudyLookupOptions extends Pick<StudyAccessConfig, 'attribute' | 'cacheSeconds'> {
  /**
   * With attribute PatientID: the Issuer of Patient ID the IDs belong to. An instance of another (or
   * no) issuer counts as an empty value, which no one is allowed.
   */
  patientIdIssuer?: string | undefined;
  timeoutMs: number;
  logger: Pick<Logger, 'warn'>;
}

type TagsAnswer = Record<string, unknown>;

/** The values of a `?short` tag answer: a multi-valued element comes as "A\B"; a missing one counts as empty. */
function shortValues(tags: TagsAnswer | undefined, tag: string): string[] {
  const value = tags?.[tag];
  return typeof value === 'string' ? value.split('\\') : [''];
}

/**
 * The one source of truth of per-study access: the values of the attribute over ALL instances of a
 * study (by StudyInstanceUID), asked from Orthanc with the service credential. Every route decides
 * from it — reads by UID, previews by Orthanc instance id (resolved to their study first), and the
 * results of searches — so no route can answer differently from another. Orthanc's study-level tags
 * come from the first instance it received, hence the look at every instance for InstitutionName:
 * the tags shared by all instances first (one answer), each instance's tags only when they differ.
 * One StudyInstanceUID can also be several Orthanc studies (Orthanc keys studies by PatientID +
 * StudyInstanceUID, so each has one PatientID): all count. Answers are cached briefly and shared by concurrent requests (a viewer asks for dozens of
 * frames at once); unknown studies (null) are not cached, so an upload is visible at once.
 */
export function createStudyLookup(client: OrthancClient, { attribute, patientIdIssuer, cacheSeconds, timeoutMs, logger }: StudyLookupOptions) {
  const studies = new TtlLruCache<string, Promise<string[] | null>>(CAPACITY);
  const instances = new TtlLruCache<string, Promise<string | null>>(CAPACITY);

  async function ask(path: string, body?: string): Promise<unknown> {
    const answer = await (body === undefined ? client.get(path, { timeoutMs }) : client.post(path, body, { timeoutMs })).catch(() => {
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

  function cached<T>(cache: TtlLruCache<string, Promise<T | null>>, key: string, load: () => Promise<T | null>): Promise<T | null> {
    const hit = cache.get(key);
    if (hit) return hit;
    const pending = load();
    cache.set(key, pending, Date.now() + cacheSeconds * 1000);
    pending.then((value) => value === null && cache.delete(key), () => cache.delete(key));
    return pending;
  }

  /** The Orthanc ids of the studies with this StudyInstanceUID (one per patient holding it). */
  async function orthancStudies(studyUid: string): Promise<string[]> {
    const found = await ask('/tools/lookup', studyUid);
    const resources = Array.isArray(found) ? (found as Array<{ Type?: unknown; ID?: unknown }>) : [];
    return resources.filter((resource) => resource.Type === 'Study' && typeof resource.ID === 'string').map((resource) => resource.ID as string);
  }

  /** One instance's PatientID when it carries the wanted issuer (padding ignored), else empty. */
  const patientIdOfIssuer = (tags: TagsAnswer | undefined, issuer: string) =>
    shortValues(tags, ISSUER_OF_PATIENT_ID).map((value) => value.trim()).join('\\') === issuer ? shortValues(tags, PATIENT_ID) : [''];

  /** The PatientIDs of one Orthanc study's instances, each only when the instance names the issuer. */
  async function patientIdsOfIssuer(id: string, issuer: string): Promise<string[]> {
    const shared = (await ask(`/studies/${id}/shared-tags?short`)) as TagsAnswer | null;
    if (shared && typeof shared[ISSUER_OF_PATIENT_ID] === 'string') return patientIdOfIssuer(shared, issuer);
    const perInstance = (await ask(`/studies/${id}/instances-tags?short`)) as Record<string, TagsAnswer> | null;
    return Object.values(perInstance ?? {}).flatMap((tags) => patientIdOfIssuer(tags, issuer));
  }

  /** The attribute's values over every instance of one Orthanc study. */
  async function valuesOfOrthancStudy(id: string): Promise<string[]> {
    if (attribute === 'PatientID' && patientIdIssuer !== undefined) return patientIdsOfIssuer(id, patientIdIssuer);
    if (attribute === 'PatientIDPrefix' || attribute === 'PatientID') {
      // Orthanc keys patients by PatientID: every instance of the Orthanc study has its patient's, a database read.
      const study = (await ask(`/studies/${id}`)) as { PatientMainDicomTags?: { PatientID?: unknown } } | null;
      const patientId = study?.PatientMainDicomTags?.PatientID;
      return [typeof patientId === 'string' ? patientId : ''];
    }
    const shared = (await ask(`/studies/${id}/shared-tags?short`)) as TagsAnswer | null;
    if (shared && typeof shared[INSTITUTION_NAME] === 'string') return shortValues(shared, INSTITUTION_NAME);
    const perInstance = (await ask(`/studies/${id}/instances-tags?short`)) as Record<string, TagsAnswer> | null;
    return Object.values(perInstance ?? {}).flatMap((tags) => shortValues(tags, INSTITUTION_NAME));
  }

  const byStudyUid = (studyUid: string) =>
    cached(studies, studyUid, async () => {
      const ids = await orthancStudies(studyUid);
      if (ids.length === 0) return null;
      const values = [...new Set((await Promise.all(ids.map(valuesOfOrthancStudy))).flat())];
      if (values.length > 1) {
        // The values themselves stay out of the log (PatientIDs are patient data).
        logger.warn({ studyInstanceUid: studyUid, attribute, distinctValues: values.length, orthancStudies: ids.length }, 'per-study access: the instances of this study disagree on the attribute; every value must be allowed');
      }
      return values;
    });

  /** The StudyInstanceUID of an Orthanc instance (previews), or null when there is no such instance. */
  const studyOfInstance = (orthancId: string) =>
    cached(instances, orthancId, async () => {
      const study = (await ask(`/instances/${encodeURIComponent(orthancId)}/study`)) as { MainDicomTags?: { StudyInstanceUID?: unknown } } | null;
      const studyUid = study?.MainDicomTags?.StudyInstanceUID;
      return typeof studyUid === 'string' ? studyUid : null;
    });

  return {
    byStudyUid,
    /** The values of the study an Orthanc instance belongs to: the same answer as by its StudyInstanceUID. */
    byInstanceId: async (orthancId: string) => {
      const studyUid = await studyOfInstance(orthancId);
      return studyUid === null ? null : byStudyUid(studyUid);
    },
  };
}

export type StudyLookup = ReturnType<typeof createStudyLookup>;
