/** relayStream: pipeline semantics (both ends stop when either fails or leaves) without pipeline's per-call cost. */
import { PassThrough, Transform, Writable } from 'node:stream';
import { describe, expect, it, jest } from '@jest/globals';
import { relayStream } from '../../../src/upstream/relay-stream.js';

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
