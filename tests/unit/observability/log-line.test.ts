/**
 * Lines built as one string (log-line.ts) are byte for byte what pino writes for the same object
 * with the gateway's logger options; whatever pino would change is left to pino.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { AuditEvent } from '../../../src/observability/audit.js';
import { createAuditLog } from '../../../src/observability/audit.js';
import { jsonString, plainProperties } from '../../../src/observability/log-line.js';
import { createLogger } from '../../../src/observability/logger.js';

function rawLines(): { write(line: string): void; lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (line) => void lines.push(line) };
}

const access: AuditEvent = { event: 'access', action: 'search', user: { sub: 'sub-1', username: 'alice' }, via: 'bearer', method: 'GET', path: '/pacs/dicom-web/studies', status: 200, clientIp: '10.0.0.1', requestId: 'rid-1', bytesOut: 512, routeClass: 'dicomweb-read', studyUid: '1.2.3' };

const EVENTS: Array<[string, AuditEvent]> = [
  ['an access', access],
  ['a refusal with app, patient context and sharer', { ...access, event: 'denied', action: 'denied', clientId: 'ohif', patientContext: ['P1', 'P"2'], sharedBy: { sub: 'sub-2', username: 'Jürgen \u{1F600}' }, status: 403, reason: 'forbidden' }],
  ['an unauthenticated request', { ...access, event: 'denied', action: 'denied', user: null, via: null, status: 401, reason: 'missing', clientIp: undefined }],
  ['a back-channel logout, its note first', { user: { sub: 's', username: undefined }, via: 'backchannel', event: 'logout', action: 'logout', sessionsEnded: 2, method: 'POST', path: '/auth/backchannel-logout', status: 200, clientIp: '::1', requestId: 'r"2\\', bytesOut: 10 }],
  ['a path with a lone surrogate and control characters', { ...access, path: '/pacs/\ud800/a\tb', user: { sub: 'x'.repeat(150), username: '\u0001' } }],
];

describe('the audit line on the log stream', () => {
  beforeEach(() => void jest.spyOn(Date, 'now').mockReturnValue(Date.UTC(2026, 11, 4, 21, 0, 0, 123)));
  afterEach(() => void jest.restoreAllMocks());

  it.each(EVENTS)('%s: the same bytes as pino', (_name, event) => {
    const destination = rawLines();
    const logger = createLogger('warn', destination);
    logger.child({ log: 'audit' }, { level: 'info' }).info(event, 'audit');
    createAuditLog({ logger, toLogStream: true }).record(event);
    expect(destination.lines).toHaveLength(2);
    expect(destination.lines[1]).toBe(destination.lines[0]);
    expect(JSON.parse(destination.lines[1]!)).toMatchObject({ level: 30, service: 'orthanc-oidc-gateway', log: 'audit', requestId: event.requestId, msg: 'audit' });
  });

  it('a credential in a nested object goes through pino, and is redacted', () => {
    const destination = rawLines();
    const event = { ...access, user: { sub: 's', username: 'u', token: 'secret' } } as AuditEvent;
    createAuditLog({ logger: createLogger('info', destination), toLogStream: true }).record(event);
    expect(destination.lines[0]).not.toContain('secret');
    expect(JSON.parse(destination.lines[0]!)).toMatchObject({ user: { token: '[redacted]' }, msg: 'audit' });
  });

  it('nothing at LOG_LEVEL=silent', () => {
    const destination = rawLines();
    createAuditLog({ logger: createLogger('silent', destination), toLogStream: true }).record(access);
    expect(destination.lines).toEqual([]);
  });
});

describe('plainProperties', () => {
  it('leaves to pino the keys it redacts or serializes, nested credentials and values JSON cannot write', () => {
    for (const key of ['authorization', 'cookie', 'password', 'token', 'headers', 'err', 'error']) expect(plainProperties({ a: 1, [key]: 'x' })).toBeUndefined();
    expect(plainProperties({ tokens: { refreshToken: 'r' } })).toBeUndefined();
    expect(plainProperties({ n: 1n })).toBeUndefined();
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(plainProperties({ circular })).toBeUndefined();
  });

  it("writes the rest in the object's order, without undefined values, non-finite numbers as null", () => {
    expect(plainProperties({ b: 'x', a: undefined, n: Number.NaN, ok: true, list: [1, 'y'], nothing: null })).toBe(',"b":"x","n":null,"ok":true,"list":[1,"y"],"nothing":null');
  });
});

describe('jsonString', () => {
  it("escapes like JSON.stringify but for pino's lone surrogates in short strings", () => {
    for (const text of ['', 'plain', '"', '\\', 'a"b\\c"', 'ü\u{1F600}', 'tab\t', 'x'.repeat(101) + '\ud800']) expect(jsonString(text)).toBe(JSON.stringify(text));
    expect(jsonString('a\ud800')).toBe('"a\ud800"');
  });
});
