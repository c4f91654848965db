import type { IncomingHttpHeaders } from 'node:http';
import { Transform } from 'node:stream';

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

/**
 * Passes a close-delimited multipart body through and fails at its end when the closing delimiter
 * (`--boundary--`) never came. Orthanc streams WADO-RS retrieves of studies, series and instances
 * with `Connection: close` and no length: when Orthanc dies mid-response its connection just closes,
 * which looks like the real end. Failing here makes the relay abort the client's connection, so a
 * truncated study never reaches a viewer as a "complete" download.
 */
export function createMultipartCompletenessCheck(boundary: string): Transform {
  const closing = Buffer.from(`--${boundary}--`);
  const keep = TAIL_BYTES + closing.length;
  let tail: Buffer = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      tail = chunk.length >= keep ? chunk.subarray(chunk.length - keep) : Buffer.concat([tail, chunk]).subarray(-keep);
      callback(null, chunk);
    },
    flush(callback) {
      if (tail.includes(closing)) return callback();
      callback(new TruncatedMultipartError('Orthanc closed the connection before the end of the multipart response (Orthanc stopped mid-response?): the client download was aborted'));
    },
  });
}
