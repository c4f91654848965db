import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from '@jest/globals';
import { createMultipartCompletenessCheck, isCloseDelimited, multipartBoundary, TruncatedMultipartError } from '../../src/http/multipart-guard.js';

/** A close-delimited multipart body (Orthanc's WADO-RS retrieve) must end with its closing delimiter. */
const BOUNDARY = 'e7af7087-5ac7-4271-a2a3-8195f5acd5b0';
const part = (bytes: number) => `--${BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n${'x'.repeat(bytes)}\r\n`;

async function relay(chunks: string[]): Promise<{ output: string; error?: Error }> {
  const sink = new PassThrough();
  const received: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => received.push(chunk));
  try {
    await pipeline(Readable.from(chunks.map((chunk) => Buffer.from(chunk))), createMultipartCompletenessCheck(BOUNDARY), sink);
    return { output: Buffer.concat(received).toString() };
  } catch (error) {
    return { output: Buffer.concat(received).toString(), error: error as Error };
  }
}

describe('multipart completeness check', () => {
  it('passes a complete body through unchanged, also when the delimiter is split over chunks', async () => {
    const body = part(100_000) + part(10) + `--${BOUNDARY}--\r\n`;
    for (const cut of [body.length - 5, body.length - 20, 50_000]) {
      const result = await relay([body.slice(0, cut), body.slice(cut)]);
      expect(result.error).toBeUndefined();
      expect(result.output).toBe(body);
    }
    expect((await relay([body + 'epilogue'])).error).toBeUndefined();
  });

  it.each([
    ['mid-part', [part(100_000).slice(0, 60_000)]],
    ['between parts', [part(1000), part(1000)]],
    ['before anything (empty body)', []],
    ['right after a part boundary', [part(10), `--${BOUNDARY}\r\n`]],
  ])('fails a body cut %s', async (_name, chunks: string[]) => {
    const result = await relay(chunks);
    expect(result.error).toBeInstanceOf(TruncatedMultipartError);
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
