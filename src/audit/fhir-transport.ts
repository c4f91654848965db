import { Agent, fetch } from 'undici';
import { PermanentRejection, type Transport } from './delivery.js';
import type { AuditTokenSource } from './fhir-token.js';

export interface FhirTls {
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
}

/** 4xx answers worth retrying: the server asks to come back later. */
const RETRYABLE = new Set([408, 425, 429]);

/**
 * POSTs each AuditEvent resource to `<base>/AuditEvent` (FHIR RESTful create). A 2xx is delivered;
 * another 4xx is a refusal of that resource for good; anything else (5xx, no answer, timeout) is
 * retried. Over https, the gateway can trust a CA of its own and authenticate with a client
 * certificate (mutual TLS), and/or send an OAuth access token (client credentials): the FHIR server
 * knows who sends. A 401 or 403 to a token means the token was refused (expired early, revoked, keys
 * rotated, a scope missing): it is dropped and the message retried with a new one, not rejected for good.
 */
export function createFhirTransport({ baseUrl, timeoutMs, tls = {}, tokens }: { baseUrl: string; timeoutMs: number; tls?: FhirTls; tokens?: AuditTokenSource | undefined }): Transport {
  const endpoint = `${baseUrl.replace(/\/+$/, '')}/AuditEvent`;
  const controller = new AbortController();
  const dispatcher = tls.ca || tls.cert ? new Agent({ connect: { ...tls } }) : undefined;
  return {
    name: 'fhir',
    async send(resource) {
      const token = await tokens?.get();
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: resource,
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)]),
        ...(dispatcher ? { dispatcher } : {}),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return;
      // With a token, 401/403 are about the sender (token refused, scope or permission missing), not
      // this message: dropping it would lose every record until an operator fixes the client.
      if ((response.status === 401 || response.status === 403) && token) {
        tokens?.drop(token);
        throw new Error(`the FHIR server answered HTTP ${response.status} to the access token: a new one is fetched for the retry`);
      }
      if (response.status >= 400 && response.status < 500 && !RETRYABLE.has(response.status)) {
        throw new PermanentRejection(`the FHIR server answered HTTP ${response.status}`);
      }
      throw new Error(`the FHIR server answered HTTP ${response.status}`);
    },
    close: () => {
      controller.abort();
      void dispatcher?.close();
    },
  };
}
