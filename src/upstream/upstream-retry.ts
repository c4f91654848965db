import type { CanonicalRequest } from '../canonical/canonical-request.js';

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** How a connection closed by the server shows when a request is written to it (ECONNRESET includes "socket hang up"; undici: "other side closed"). */
const CLOSED_BY_PEER = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/**
 * Orthanc closes a keep-alive connection after 1 s of idleness, counted from when it has written
 * its last response; the pool retires a connection after 800 ms counted from when the gateway has
 * read that response (upstream-agent.ts). Under load the gateway reads late (a slow client holds
 * the response back, the event loop is busy), so now and then a request goes out on a connection
 * Orthanc is closing at that very moment, and fails before a single response byte.
 *
 * Such a request may be sent once more on a new connection when repeating it is harmless: an
 * idempotent method, no request body (it was consumed by the first attempt), a reused connection
 * (a new one failing that way is a real fault, reported as such) and nothing answered yet. The
 * caller also makes sure nothing was sent to the client and that it is the first retry.
 */
export function isStaleConnectionFailure(error: NodeJS.ErrnoException, request: CanonicalRequest, reusedConnection: boolean): boolean {
  return (
    reusedConnection &&
    CLOSED_BY_PEER.has(error.code ?? '') &&
    IDEMPOTENT_METHODS.has(request.method) &&
    !request.hasBody
  );
}
