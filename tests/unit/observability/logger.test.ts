/** The application logger: credentials are redacted, errors are logged without their attached request data. */
import { Writable } from 'node:stream';
import { describe, expect, it, jest } from '@jest/globals';
import { pino } from 'pino';
import { createLogger, isoTimeOncePerMs, redactCredentials, serializeError } from '../../../src/observability/logger.js';

class Lines extends Writable {
  readonly lines: Array<Record<string, unknown>> = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    callback();
  }
}

/** Like an ioredis ReplyError: the failed command, arguments included, hangs on the error. */
function redisError(): Error {
  return Object.assign(new Error('READONLY You can\'t write against a read only replica.'), {
    name: 'ReplyError',
    code: 'READONLY',
    command: { name: 'set', args: ['gw:sess:abc', '{"user":{"tokens":{"accessToken":"eyJ.secret.token"}}}'] },
  });
}

describe('serializeError', () => {
  it('keeps type, message, code, stack and causes, and drops every other property', () => {
    const wrapped = new Error('session save failed', { cause: redisError() });
    const serialized = serializeError(wrapped);
    expect(serialized).toEqual({
      type: 'Error',
      message: 'session save failed',
      stack: expect.any(String),
      cause: { type: 'ReplyError', message: expect.stringContaining('READONLY'), code: 'READONLY', stack: expect.any(String) },
    });
    expect(JSON.stringify(serialized)).not.toContain('secret');
  });

  it('describes non-errors without copying them', () => {
    expect(serializeError('plain')).toEqual({ type: 'string', message: 'plain' });
  });

  it('stops at a few levels of causes', () => {
    let error: Error = new Error('root');
    for (let depth = 0; depth < 10; depth++) error = new Error(`level ${depth}`, { cause: error });
    expect(JSON.stringify(serializeError(error)).match(/"message"/g)).toHaveLength(4);
  });
});

describe('createLogger', () => {
  it('applies the serializer to err and redacts credential fields', () => {
    const sink = new Lines();
    const logger = createLogger('trace', sink);
    logger.trace({ err: redisError(), headers: { authorization: 'Bearer abc', cookie: 'gw-session=xyz' }, password: 'pw', tokens: { refreshToken: 'rt' } }, 'failed');
    expect(sink.lines).toHaveLength(1);
    const text = JSON.stringify(sink.lines[0]);
    for (const secret of ['eyJ.secret.token', 'Bearer abc', 'gw-session=xyz', '"pw"', '"rt"']) expect([secret, text.includes(secret)]).toEqual([secret, false]);
    expect(sink.lines[0]).toMatchObject({ level: 10, time: expect.any(String), err: { type: 'ReplyError', code: 'READONLY' }, msg: 'failed' });
  });
});

describe('isoTimeOncePerMs', () => {
  it("writes pino's isoTime field, formatted again when the millisecond changes, across seconds too", () => {
    const now = jest.spyOn(Date, 'now');
    try {
      for (const ms of [1_700_000_000_000, 1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_999, 1_700_000_001_000, 1_700_000_001_042, 1_800_000_000_999]) {
        now.mockReturnValue(ms);
        expect(isoTimeOncePerMs()).toBe(pino.stdTimeFunctions.isoTime());
        expect(isoTimeOncePerMs()).toBe(`,"time":"${new Date(ms).toISOString()}"`);
      }
    } finally {
      now.mockRestore();
    }
  });
});

describe('credential redaction', () => {
  const logged = (write: (logger: ReturnType<typeof createLogger>) => void) => {
    const sink = new Lines();
    write(createLogger('info', sink));
    return sink.lines;
  };

  it('replaces credential fields at the top level and one level down, under any key', () => {
    const [line] = logged((logger) =>
      logger.info(
        {
          authorization: 'Bearer top',
          token: 'tok',
          cookie: 'c=1',
          session: { accessToken: 'at', idToken: 'it', refreshToken: 'rt', password: 'pw', keep: 'visible' },
          headers: { 'set-cookie': ['s=1'], cookie: 'c=2', authorization: 'Basic x', accept: 'application/json' },
          list: [{ token: 'in-array' }],
        },
        'm',
      ),
    );
    expect(line).toMatchObject({
      authorization: '[redacted]',
      token: '[redacted]',
      cookie: '[redacted]',
      session: { accessToken: '[redacted]', idToken: '[redacted]', refreshToken: '[redacted]', password: '[redacted]', keep: 'visible' },
      headers: { 'set-cookie': '[redacted]', cookie: '[redacted]', authorization: '[redacted]', accept: 'application/json' },
      // like pino's `*.token` path: arrays are not searched
      list: [{ token: 'in-array' }],
    });
  });

  it('redacts credential fields of child bindings', () => {
    const [line] = logged((logger) => logger.child({ token: 'bound', headers: { cookie: 'c=1' } }).info('m'));
    expect(line).toMatchObject({ token: '[redacted]', headers: { cookie: '[redacted]' } });
  });

  it('never changes the caller’s object, and returns it as is when nothing is redacted', () => {
    const object = { user: { token: 'secret' }, path: '/pacs' };
    const redacted = redactCredentials(object);
    expect(redacted).toEqual({ user: { token: '[redacted]' }, path: '/pacs' });
    expect(object.user.token).toBe('secret');
    const clean = { requestId: 'r', method: 'GET', path: '/pacs/dicom-web/studies', status: 200, user: { sub: 's', username: 'u' } };
    expect(redactCredentials(clean)).toBe(clean);
  });
});
