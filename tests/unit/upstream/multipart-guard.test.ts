import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { isCloseDelimited, multipartBoundary, multipartEndCheck, TruncatedMultipartError } from '../../../src/upstream/multipart-guard.js';
import { relayStream } from '../../../src/upstream/relay-stream.js';

/** A close-delimited multipart body (Orthanc's WADO-RS retrieve) must end with its closing delimiter. */
const BOUNDARY = 'e7af7087-5ac7-4271-a2a3-8195f5acd5b0';
const part = (bytes: number) => `--${BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n${'x'.repeat(bytes)}\r\n`;

/** Relays the chunks as the proxy does: the client's side ends normally, or is destroyed with the reported error. */
async function relay(chunks: string[]): Promise<{ output: string; ended: boolean; error?: Error }> {
  const sink = new PassThrough();
  const received: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => received.push(chunk));
  let error: Error | undefined;
  const done = new Promise<boolean>((resolve) => {
    sink.once('end', () => resolve(true));
    sink.once('close', () => resolve(false));
  });
  relayStream(Readable.from(chunks.map((chunk) => Buffer.from(chunk))), sink, [], (reported) => (error = reported), multipartEndCheck(BOUNDARY));
  const ended = await done;
  return { output: Buffer.concat(received).toString(), ended, ...(error ? { error } : {}) };
}

describe('multipart completeness check', () => {
  it('passes a complete body through unchanged, also when the delimiter is split over chunks', async () => {
    const body = part(100_000) + part(10) + `--${BOUNDARY}--\r\n`;
    for (const cut of [body.length - 5, body.length - 20, 50_000]) {
      const result = await relay([body.slice(0, cut), body.slice(cut)]);
      expect(result.error).toBeUndefined();
      expect(result.ended).toBe(true);
      expect(result.output).toBe(body);
    }
    expect((await relay([body + 'epilogue'])).error).toBeUndefined();
    // The delimiter spread over many small chunks after a large one.
    const small = await relay([body.slice(0, 50_000), ...body.slice(50_000).match(/[^]{1,7}/g)!]);
    expect(small).toEqual({ output: body, ended: true });
  });

  it.each([
    ['mid-part', [part(100_000).slice(0, 60_000)]],
    ['between parts', [part(1000), part(1000)]],
    ['before anything (empty body)', []],
    ['right after a part boundary', [part(10), `--${BOUNDARY}\r\n`]],
  ])('fails a body cut %s', async (_name, chunks: string[]) => {
    const result = await relay(chunks);
    expect(result.error).toBeInstanceOf(TruncatedMultipartError);
    expect(result.ended).toBe(false);
  });

  it('reads the boundary of multipart content types only (quoted or not)', () => {
    expect(multipartBoundary(`multipart/related; type="application/dicom"; boundary=${BOUNDARY}`)).toBe(BOUNDARY);
    expect(multipartBoundary('Multipart/Related; boundary="a b;c"; type="application/dicom"')).toBe('a b;c');
    expect(multipartBoundary('application/dicom+json')).toBeUndefined();
    expect(multipartBoundary(undefined)).toBeUndefined();
  });

  it('applies to close-delimited bodies only (a length or chunked encoding already shows truncation)', () => {
    expect(isCloseDelimited({ connection: 'close' })).toBe(true);
    expect(isCloseDelimited({ 'content-length': '10' })).toBe(false);
    expect(isCloseDelimited({ 'transfer-encoding': 'chunked' })).toBe(false);
  });
});
