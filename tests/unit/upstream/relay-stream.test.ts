/** relayStream and relayRewritten: pipeline semantics (both ends stop when either fails or leaves) without pipeline's per-call cost. */
import { PassThrough, Transform, Writable } from 'node:stream';
import { describe, expect, it, jest } from '@jest/globals';
import { relayRewritten, relayStream } from '../../../src/upstream/relay-stream.js';
import { urlRewriterFor } from '../../../src/upstream/url-rewrite.js';

function sink() {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { destination, text: () => chunks.join('') };
}
const closed = (stream: NodeJS.EventEmitter) => new Promise((resolve) => stream.once('close', resolve));
const upper = () =>
  new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      callback(null, chunk.toString().toUpperCase());
    },
  });

describe('relayStream', () => {
  it('copies everything and ends the destination', async () => {
    const source = new PassThrough();
    const { destination, text } = sink();
    const onError = jest.fn();
    relayStream(source, destination, [], onError);
    source.write('hello ');
    source.end('world');
    await new Promise((resolve) => destination.once('finish', resolve));
    expect(text()).toBe('hello world');
    expect(onError).not.toHaveBeenCalled();
  });

  it('runs the body through a transform', async () => {
    const source = new PassThrough();
    const { destination, text } = sink();
    relayStream(source, destination, [upper()], () => undefined);
    source.end('abc');
    await new Promise((resolve) => destination.once('finish', resolve));
    expect(text()).toBe('ABC');
  });

  it('reports a source error and destroys the destination', async () => {
    const source = new PassThrough();
    const { destination } = sink();
    const onError = jest.fn();
    relayStream(source, destination, [upper()], onError);
    source.write('partial');
    source.destroy(new Error('upstream reset'));
    await closed(destination);
    expect(destination.destroyed).toBe(true);
    expect(destination.writableFinished).toBe(false);
    expect(onError).toHaveBeenCalledTimes(1);
    expect((onError.mock.calls[0]![0] as Error).message).toBe('upstream reset');
  });

  it('destroys the destination when the source closes before its end, without an error', async () => {
    const source = new PassThrough();
    const { destination } = sink();
    const onError = jest.fn();
    relayStream(source, destination, [], onError);
    source.write('partial');
    source.destroy();
    await closed(destination);
    expect(destination.writableFinished).toBe(false);
    expect(onError).not.toHaveBeenCalled();
  });

  it('destroys the source when the client goes away first, without an error', async () => {
    const source = new PassThrough();
    const { destination } = sink();
    const onError = jest.fn();
    relayStream(source, destination, [], onError);
    source.write('partial');
    destination.destroy();
    await closed(source);
    expect(source.destroyed).toBe(true);
    expect(onError).not.toHaveBeenCalled();
  });
});

describe('relayStream when the client has already gone', () => {
  it('destroys the source at once, without an error', async () => {
    const source = new PassThrough();
    const { destination } = sink();
    destination.destroy();
    await closed(destination);
    const onError = jest.fn();
    relayStream(source, destination, [], onError);
    expect(source.destroyed).toBe(true);
    expect(onError).not.toHaveBeenCalled();
  });
});

describe('relayRewritten', () => {
  const REWRITE = { from: 'http://o/dicom-web/', to: 'https://p/pacs/dicom-web/' };
  const rewriter = () => urlRewriterFor(REWRITE)();
  const BODY = '[{"url":"http://o/dicom-web/studies/1"},{"url":"http://o/dicom-web/studies/2"}]';
  const EXPECTED = BODY.split(REWRITE.from).join(REWRITE.to);
  const finished = (stream: Writable) => new Promise((resolve) => stream.once('finish', resolve));

  it('with a declared length, the chunk completing it ends the destination in the same call', async () => {
    const source = new PassThrough();
    const { destination, text } = sink();
    const write = jest.spyOn(destination, 'write');
    const end = jest.spyOn(destination, 'end');
    const onError = jest.fn();
    relayRewritten(source, destination, rewriter(), onError, Buffer.byteLength(BODY));
    source.write(BODY);
    await finished(destination);
    expect(write).not.toHaveBeenCalled();
    expect(end).toHaveBeenCalledTimes(1);
    expect(text()).toBe(EXPECTED);
    source.end(); // the source's own end afterwards changes nothing
    await new Promise((resolve) => source.once('end', resolve));
    expect(end).toHaveBeenCalledTimes(1);
    expect(onError).not.toHaveBeenCalled();
  });

  it('with a declared length over several chunks, a URL cut between them is rewritten and the held-back tail sent with the end', async () => {
    const bytes = Buffer.from(BODY + 'http://o/dicom');
    for (const cut of [1, 10, 20, 30, bytes.length - 5]) {
      const source = new PassThrough();
      const { destination, text } = sink();
      relayRewritten(source, destination, rewriter(), () => undefined, bytes.length);
      source.write(bytes.subarray(0, cut));
      source.write(bytes.subarray(cut));
      await finished(destination);
      expect(text()).toBe(EXPECTED + 'http://o/dicom');
    }
  });

  it('without a declared length, ends the destination at the source end with the held-back tail', async () => {
    const source = new PassThrough();
    const { destination, text } = sink();
    relayRewritten(source, destination, rewriter(), () => undefined);
    source.write(BODY.slice(0, 30));
    source.write(BODY.slice(30) + 'http://o/dic');
    source.end();
    await finished(destination);
    expect(text()).toBe(EXPECTED + 'http://o/dic');
  });

  it('an empty body (HEAD, 204) ends the destination at the source end', async () => {
    const source = new PassThrough();
    const { destination, text } = sink();
    relayRewritten(source, destination, rewriter(), () => undefined, 1108);
    source.end();
    await finished(destination);
    expect(text()).toBe('');
  });

  it('waits for a slow destination (backpressure) and still relays everything', async () => {
    const source = new PassThrough();
    const chunks: string[] = [];
    const destination = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString());
        setTimeout(callback, 2);
      },
    });
    relayRewritten(source, destination, rewriter(), () => undefined);
    const pieces = Array.from({ length: 20 }, (_, index) => `{"n":${index},"url":"http://o/dicom-web/x"}`);
    for (const piece of pieces) source.write(piece);
    expect(source.isPaused()).toBe(true);
    source.end();
    await finished(destination);
    expect(chunks.join('')).toBe(pieces.join('').split(REWRITE.from).join(REWRITE.to));
  });

  it('reports a source error and destroys the destination unfinished', async () => {
    const source = new PassThrough();
    const { destination } = sink();
    const onError = jest.fn();
    relayRewritten(source, destination, rewriter(), onError, 1000);
    source.write('partial');
    source.destroy(new Error('upstream reset'));
    await closed(destination);
    expect(destination.writableFinished).toBe(false);
    expect((onError.mock.calls[0]![0] as Error).message).toBe('upstream reset');
  });

  it('destroys the destination when the source closes before its declared end, without an error', async () => {
    const source = new PassThrough();
    const { destination } = sink();
    const onError = jest.fn();
    relayRewritten(source, destination, rewriter(), onError, 1000);
    source.write('partial');
    source.destroy();
    await closed(destination);
    expect(destination.writableFinished).toBe(false);
    expect(onError).not.toHaveBeenCalled();
  });

  it('destroys the source when the client goes away first, or was gone already', async () => {
    const source = new PassThrough();
    const { destination } = sink();
    relayRewritten(source, destination, rewriter(), () => undefined, 1000);
    source.write('partial');
    destination.destroy();
    await closed(source);
    expect(source.destroyed).toBe(true);

    const late = new PassThrough();
    const gone = sink().destination;
    gone.destroy();
    await closed(gone);
    relayRewritten(late, gone, rewriter(), () => undefined);
    expect(late.destroyed).toBe(true);
  });
});
