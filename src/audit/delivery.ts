import type { Logger } from '../observability/logger.js';
import type { AuditSink } from './dispatcher.js';
import type { AuditRecord } from './record.js';
import type { Spool } from './spool.js';

/** Where a transport sends: it resolves once the peer took the message. */
export interface Transport {
  name: 'syslog' | 'fhir';
  send(payload: string): Promise<void>;
  close(): void;
}

/** The peer refused this message for good (e.g. FHIR 400): retrying it would block the queue forever. */
export class PermanentRejection extends Error {}

export interface DeliveryCounters {
  delivered(transport: string): void;
  dropped(transport: string, reason: 'spool_full' | 'rejected'): void;
}

export interface DeliveryOptions {
  transport: Transport;
  spool: Spool;
  format(record: AuditRecord): string;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  counters: DeliveryCounters;
  /** An alarm line once this many messages wait. */
  alarmAt: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** How long close() waits for the spool to drain. */
  drainMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * A transport behind its spool: every record is spooled (on disk) first, then sent one at a time,
 * in order; a failure keeps the message at the head and retries with a growing pause. Nothing here
 * waits on the request path: write() only appends to the spool.
 */
export function createDeliverySink({ transport, spool, format, logger, counters, alarmAt, retryMinMs = 200, retryMaxMs = 10_000, drainMs = 2000 }: DeliveryOptions): AuditSink {
  const name = transport.name;
  let closed = false;
  let wake: (() => void) | undefined;
  let alarmed = false;
  let full = false;
  let failing = false;

  const ageSeconds = () => {
    const oldest = spool.oldest();
    return oldest ? Math.round((Date.now() - oldest.time) / 1000) : 0;
  };

  function watchDepth(): void {
    const depth = spool.depth();
    if (!alarmed && depth >= alarmAt) {
      alarmed = true;
      logger.warn({ auditTransport: name, depth, oldestSeconds: ageSeconds(), spoolBytes: spool.bytes() }, 'audit spool growing: the transport is not keeping up or is down');
    } else if (alarmed && depth === 0) {
      alarmed = false;
      logger.info({ auditTransport: name }, 'audit spool drained');
    }
  }

  async function deliverNext(attempt: number): Promise<number> {
    const item = spool.peek();
    if (!item) {
      await new Promise<void>((resolve) => (wake = resolve));
      return attempt;
    }
    try {
      await transport.send(item.payload);
      if (failing) logger.info({ auditTransport: name, depth: spool.depth() }, 'audit transport delivering again');
      failing = false;
      spool.ack();
      counters.delivered(name);
      return 0;
    } catch (error) {
      if (error instanceof PermanentRejection) {
        logger.error({ auditTransport: name, reason: error.message }, 'audit transport rejected a message for good: dropped from its spool');
        spool.ack();
        counters.dropped(name, 'rejected');
        return 0;
      }
      if (!failing) logger.warn({ auditTransport: name, err: error as Error }, 'audit transport failed: messages wait in the spool and are retried');
      failing = true;
      await sleep(Math.min(retryMaxMs, retryMinMs * 2 ** attempt));
      return attempt + 1;
    }
  }

  async function run(): Promise<void> {
    let attempt = 0;
    while (!closed) {
      attempt = await deliverNext(attempt);
      watchDepth();
    }
  }
  const running = run();

  return {
    write(record) {
      if (spool.push(format(record))) {
        full = false;
      } else {
        counters.dropped(name, 'spool_full');
        if (!full) logger.error({ auditTransport: name, depth: spool.depth(), spoolBytes: spool.bytes() }, 'audit spool full: new messages for this transport are dropped until it drains');
        full = true;
      }
      watchDepth();
      wake?.();
    },
    async close() {
      const deadline = Date.now() + drainMs;
      while (spool.depth() > 0 && !failing && Date.now() < deadline) await sleep(20);
      closed = true;
      wake?.();
      transport.close();
      await Promise.race([running, sleep(retryMaxMs)]);
      spool.close();
    },
  };
}
