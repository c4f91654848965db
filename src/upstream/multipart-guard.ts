import type { IncomingHttpHeaders } from 'node:http';

/** How far from the end of a complete body its closing delimiter may be (transport padding, epilogue). */
const TAIL_BYTES = 1024;

export class TruncatedMultipartError extends Error {
  override name = 'TruncatedMultipartError';
}

/** The boundary of a multipart content type, else undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\//i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/** The body ends when the connection closes: no Content-Length, not chunked (HTTP/1.0 style). */
export function isCloseDelimited(headers: IncomingHttpHeaders): boolean {
  return headers['content-length'] === undefined && !/\bchunked\b/i.test(headers['transfer-encoding'] ?? '');
}

/** What the relay needs to know about a body that passes by: each chunk seen, and at its end whether it was complete. */
export interface BodyEndCheck {
  see(chunk: Buffer): void;
  /** undefined when the body was complete, else the error that aborts the client's download. */
  atEnd(): Error | undefined;
}

/**
 * Whether a close-delimited multipart body ended with its closing delimiter (`--boundary--`).
 * Orthanc streams WADO-RS retrieves of studies, series and instances with `Connection: close` and
 * no length: when Orthanc dies mid-response its connection just closes, which looks like the real
 * end. Failing then makes the relay abort the client's connection, so a truncated study never
 * reaches a viewer as a "complete" download. The chunks pass through untouched: per chunk only a
 * reference to the last one is kept (small chunks are joined up to the tail's length), and only the
 * tail is searched, once, at the end.
 */
export function multipartEndCheck(boundary: string): BodyEndCheck {
  const closing = Buffer.from(`--${boundary}--`);
  const keep = TAIL_BYTES + closing.length;
  let tail: Buffer = Buffer.alloc(0);
  return {
    see(chunk) {
      tail = chunk.length >= keep ? chunk : Buffer.concat([tail.subarray(-keep), chunk]);
    },
    atEnd() {
      if (tail.subarray(-keep).includes(closing)) return undefined;
      return new TruncatedMultipartError('Orthanc closed the connection before the end of the multipart response (Orthanc stopped mid-response?): the client download was aborted');
    },
  };
}
