import type { AuditEvent } from '../observability/audit.js';
import type { Logger } from '../observability/logger.js';
import type { PatientLookup } from './patient-lookup.js';
import { studyUidsOf, type AuditPatient, type AuditRecord } from './record.js';

/** An output of the audit trail: the chained file, syslog, a FHIR endpoint… */
export interface AuditSink {
  /** Takes one record, in order; must not block on the network (transports queue or spool). */
  write(record: AuditRecord): void;
  close(): Promise<void> | void;
}

export interface AuditDispatcher {
  /** Hands one finished event over; returns at once (the request is not held up). */
  hand(event: AuditEvent): void;
  /** Resolves once every event handed over so far reached every sink. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Hands each AuditEvent to every sink, in the order the events were recorded, together with the
 * patients of the studies it names (looked up in parallel; a lookup that fails leaves them out).
 */
export function createAuditDispatcher({ sinks, patients, logger }: { sinks: AuditSink[]; patients: PatientLookup | undefined; logger: Pick<Logger, 'error'> }): AuditDispatcher {
  let tail = Promise.resolve();

  function patientsOf(event: AuditEvent): Promise<AuditPatient[]> {
    if (!patients) return Promise.resolve([]);
    return Promise.all(studyUidsOf(event).map((uid) => patients(uid))).then((found) => found.filter((patient) => patient !== undefined));
  }

  return {
    hand(event) {
      const time = new Date().toISOString();
      const found = patientsOf(event);
      tail = tail.then(async () => {
        const record: AuditRecord = { time, event, patients: await found };
        for (const sink of sinks) {
          try {
            sink.write(record);
          } catch (error) {
            logger.error({ err: error as Error, requestId: event.requestId }, 'an audit sink could not take an event');
          }
        }
      });
    },
    flush: () => tail,
    async close() {
      await tail;
      for (const sink of sinks) await sink.close();
    },
  };
}
