/**
 * The access line built as one string is byte for byte what pino writes for the same request
 * (`logger.info(object, 'request')`, the object form in logAccess), with the gateway's logger options.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { Request, Response } from 'express';
import { pino } from 'pino';
import type { Principal } from '../../../src/auth/principal.js';
import { createLogger, loggerOptions, type Logger } from '../../../src/observability/logger.js';
import { accessLogger, logAccess } from '../../../src/request/access-log.js';
import type { RequestState } from '../../../src/respond/request-state.js';
import { routeFor } from '../../support/routes.js';

function rawLines(): { write(line: string): void; lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (line) => void lines.push(line) };
}

const principal = (username: string): Principal => ({ sub: 's', username, name: undefined, email: undefined, roles: [], via: 'bearer', expiresAt: 0 });

interface Case {
  name: string;
  method: string;
  path: string;
  status: number;
  finished: boolean;
  route?: boolean;
  username?: string;
  requestId?: string;
  durationMs: number;
}

const CASES: Case[] = [
  { name: 'a proxied search', method: 'GET', path: '/pacs/dicom-web/studies', status: 200, finished: true, route: true, username: 'alice', durationMs: 1.234567 },
  { name: 'no route, no user', method: 'GET', path: '/healthz', status: 200, finished: true, durationMs: 0.05 },
  { name: 'aborted', method: 'GET', path: '/pacs/dicom-web/studies', status: 200, finished: false, route: true, username: 'bob', durationMs: 30001 },
  { name: 'quotes and backslashes', method: 'GET', path: '/pacs/"a"\\b', status: 400, finished: true, username: '"quoted" \\ name', requestId: '"id"', durationMs: 2 },
  { name: 'unicode and a lone surrogate', method: 'GET', path: '/pacs/Ã©tude', status: 404, finished: true, username: 'Jürgen \u{1F600} \ud800', durationMs: 3.5 },
  { name: 'control characters', method: 'GET', path: '/x', status: 400, finished: true, username: 'tab\there\nnewline\u0001', durationMs: 4 },
  { name: 'a long user name (pino: JSON.stringify)', method: 'POST', path: '/pacs/dicom-web/studies', status: 403, finished: true, route: true, username: `${'ü'.repeat(120)}\ud800"`, durationMs: 5 },
  { name: 'an unknown method', method: 'BREW', path: '/', status: 405, finished: true, durationMs: 0 },
];

function requestOf(c: Case): { req: Request; res: Response; state: RequestState } {
  const state: RequestState = {
    requestId: c.requestId ?? 'rid-1',
    receivedAt: 0n,
    receivedPath: c.path,
    socketBytesBefore: 0,
    clientIp: '10.0.0.1',
    ...(c.route ? { route: routeFor(c.method === 'POST' ? 'POST' : 'GET', c.path) } : {}),
    ...(c.username !== undefined ? { principal: principal(c.username) } : {}),
  };
  return { req: { method: c.method } as Request, res: { statusCode: c.status, writableFinished: c.finished } as Response, state };
}

function bothWays(logger: Logger, destination: { lines: string[] }, c: Case): [string, string] {
  const { req, res, state } = requestOf(c);
  logAccess(logger, req, res, state, c.durationMs);
  accessLogger(logger)(req, res, state, c.durationMs);
  expect(destination.lines).toHaveLength(2);
  const [viaPino, built] = destination.lines.splice(0) as [string, string];
  return [viaPino, built];
}

describe('accessLogger', () => {
  beforeEach(() => void jest.spyOn(Date, 'now').mockReturnValue(Date.UTC(2026, 11, 4, 21, 0, 0, 123)));
  afterEach(() => void jest.restoreAllMocks());

  it.each(CASES)('$name: the same bytes as pino', (c) => {
    const destination = rawLines();
    const [viaPino, built] = bothWays(createLogger('info', destination), destination, c);
    expect(built).toBe(viaPino);
    expect(JSON.parse(built)).toMatchObject({ level: 30, service: 'orthanc-oidc-gateway', method: c.method, path: c.path, status: c.status, aborted: !c.finished, msg: 'request' });
  });

  it("a child logger's bindings, in pino's place", () => {
    const destination = rawLines();
    const [viaPino, built] = bothWays(createLogger('info', destination).child({ worker: 2, tag: 'x"y' }), destination, CASES[0]!);
    expect(built).toBe(viaPino);
    expect(built).toContain('"service":"orthanc-oidc-gateway","worker":2,"tag":"x\\"y","requestId"');
  });

  it('writes nothing below info, and goes through pino for a logger that does more than plain lines', () => {
    const quiet = rawLines();
    const { req, res, state } = requestOf(CASES[0]!);
    accessLogger(createLogger('warn', quiet))(req, res, state, 1);
    expect(quiet.lines).toEqual([]);

    const mixed = rawLines();
    accessLogger(pino({ ...loggerOptions('info'), mixin: () => ({ fromMixin: true }) }, mixed))(req, res, state, 1);
    expect(JSON.parse(mixed.lines[0]!)).toMatchObject({ fromMixin: true, msg: 'request' });
  });
});
