import { Counter, Gauge, type Registry } from 'prom-client';
import type { DeliveryCounters } from './delivery.js';
import type { Spool } from './spool.js';

export interface AuditTransportMetrics extends DeliveryCounters {
  /** Reports this spool's depth and age under the transport's name. */
  watch(transport: string, spool: Spool): void;
}

/** Audit transport metrics on the gateway's registry; label values are the transport names only. */
export function createAuditTransportMetrics(registry: Registry): AuditTransportMetrics {
  const spools = new Map<string, Spool>();
  const spoolGauge = (name: string, help: string, value: (spool: Spool) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['transport'] as const,
      registers: [registry],
      collect() {
        for (const [transport, spool] of spools) this.set({ transport }, value(spool));
      },
    });
  spoolGauge('gateway_audit_spool_messages', 'Audit messages waiting in a transport spool (on disk) for delivery', (spool) => spool.depth());
  spoolGauge('gateway_audit_spool_bytes', 'Bytes of audit messages waiting in a transport spool', (spool) => spool.bytes());
  spoolGauge('gateway_audit_spool_oldest_age_seconds', 'Age of the oldest audit message waiting in a transport spool (0 when empty)', (spool) => {
    const oldest = spool.oldest();
    return oldest ? (Date.now() - oldest.time) / 1000 : 0;
  });
  const delivered = new Counter({ name: 'gateway_audit_messages_delivered_total', help: 'Audit messages a transport delivered', labelNames: ['transport'] as const, registers: [registry] });
  const dropped = new Counter({
    name: 'gateway_audit_messages_dropped_total',
    help: 'Audit messages a transport lost: its spool was full, or the peer refused the message for good',
    labelNames: ['transport', 'reason'] as const,
    registers: [registry],
  });
  return {
    watch: (transport, spool) => void spools.set(transport, spool),
    delivered: (transport) => delivered.inc({ transport }),
    dropped: (transport, reason) => dropped.inc({ transport, reason }),
  };
}
