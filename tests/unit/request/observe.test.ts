/**
 * The end-of-request observer: the audit event of a proxied request (fields and their order, as the
 * format in README.md lists them), and one 'close' listener writing the access line, the metrics and
 * the audit event.
 */
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import type { Request, Response } from 'express';
import type { Principal } from '../../../src/auth/principal.js';
import { GatewayError } from '../../../src/errors.js';
import type { AuditEvent, AuditLog } from '../../../src/observability/audit.js';
import { createLogger } from '../../../src/observability/logger.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { auditEvent, observeRequests } from '../../../src/request/observe.js';
import type { RequestState } from '../../../src/respond/request-state.js';
import { queryOf, routeFor } from '../../support/routes.js';

const STUDY = '1.2.3.4';
const principal: Principal = { sub: 'sub-1', username: 'alice', name: undefined, email: undefined, roles: ['pacs-viewer'], via: 'bearer', expiresAt: 0 };

function stateFor(target: string, extra: Partial<RequestState> = {}): RequestState {
  const [, query = ''] = target.split('?');
  return { requestId: 'rid-1', receivedAt: 0n, receivedPath: target.split('?')[0]!, socketBytesBefore: 0, clientIp: '10.0.0.1', route: routeFor('GET', target), request: { method: 'GET', segments: [], query: queryOf(query), hasBody: false }, ...extra };
}
const request = { method: 'GET' } as Request;
const response = (statusCode: number) => ({ statusCode }) as Response;

describe('auditEvent', () => {
  it('an allowed search: the event, the caller, the request, the UIDs of its query, in this order', () => {
    const event = auditEvent(request, response(200), stateFor(`/pacs/dicom-web/studies?StudyInstanceUID=${STUDY}`, { principal }), 512);
    expect(event).toEqual({ event: 'access', action: 'search', user: { sub: 'sub-1', username: 'alice' }, via: 'bearer', method: 'GET', path: '/pacs/dicom-web/studies', status: 200, clientIp: '10.0.0.1', requestId: 'rid-1', bytesOut: 512, routeClass: 'dicomweb-read', studyUid: STUDY });
    expect(Object.keys(event!)).toEqual(['event', 'action', 'user', 'via', 'method', 'path', 'status', 'clientIp', 'requestId', 'bytesOut', 'routeClass', 'studyUid']);
  });

  it('a refusal: the app, patient context and sharer of the caller before the request, the reason last', () => {
    const caller: Principal = { ...principal, clientId: 'ohif', smart: { grants: {} as never, patient: ['P1'] }, sharedBy: { sub: 'sub-2', username: 'bob' } };
    const error = new GatewayError('forbidden', 'no');
    const event = auditEvent(request, response(403), stateFor(`/pacs/dicom-web/studies/${STUDY}/series`, { principal: caller, error }), 90);
    expect(Object.keys(event!)).toEqual(['event', 'action', 'user', 'via', 'clientId', 'patientContext', 'sharedBy', 'method', 'path', 'status', 'clientIp', 'requestId', 'bytesOut', 'routeClass', 'studyUid', 'reason']);
    expect(event).toMatchObject({ event: 'denied', action: 'denied', clientId: 'ohif', patientContext: ['P1'], sharedBy: { sub: 'sub-2', username: 'bob' }, reason: 'forbidden', studyUid: STUDY });
  });

  it('an unauthenticated request names no user; a request without route or note has no event', () => {
    const event = auditEvent(request, response(401), stateFor('/pacs/dicom-web/studies', { principal: null, error: new GatewayError('unauthenticated', 'no') }), 0);
    expect(event).toMatchObject({ event: 'denied', user: null, via: null, reason: 'missing' });
    expect(auditEvent(request, response(404), { requestId: 'r', receivedAt: 0n, receivedPath: '/x', socketBytesBefore: 0, clientIp: '10.0.0.1' }, 0)).toBeUndefined();
  });

  it('a note of an /auth route, completed with the request', () => {
    const state: RequestState = { requestId: 'r2', receivedAt: 0n, receivedPath: '/auth/callback', socketBytesBefore: 0, clientIp: '10.0.0.1', audit: { event: 'login', action: 'login', user: { sub: 's', username: 'u' }, via: 'session' } };
    const event = auditEvent(request, response(302), state, 10);
    expect(event).toEqual({ event: 'login', action: 'login', user: { sub: 's', username: 'u' }, via: 'session', method: 'GET', path: '/auth/callback', status: 302, clientIp: '10.0.0.1', requestId: 'r2', bytesOut: 10 });
    expect(Object.keys(event!).slice(0, 4)).toEqual(['user', 'via', 'event', 'action']);
  });
});

describe('observeRequests', () => {
  it('writes the access line, the metrics and the audit event from one close listener, with the client address read on arrival', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger('info', new Writable({ write: (chunk: Buffer, _encoding, done) => done(void lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)) }));
    const metrics = createMetrics();
    const recorded: AuditEvent[] = [];
    const audit: AuditLog = { record: (event) => void recorded.push(event), close: () => undefined };
    const socket = { bytesWritten: 100 };
    const req = { method: 'GET', path: '/pacs/dicom-web/studies', ip: '10.0.0.2', socket } as unknown as Request;
    const state = { requestId: 'rid-9' } as RequestState;
    const res = Object.assign(new EventEmitter(), { req, locals: state, statusCode: 401, writableFinished: true }) as unknown as Response;
    let nexts = 0;
    observeRequests({ logger, metrics, audit, viewer: false })(req, res, () => void nexts++);
    expect(nexts).toBe(1);
    expect(res.listenerCount('close')).toBe(1);
    state.route = routeFor('GET', '/pacs/dicom-web/studies');
    state.request = { method: 'GET', segments: [], query: [], hasBody: false };
    state.principal = null;
    state.error = new GatewayError('unauthenticated', 'no');
    (req as { url?: string }).url = '/dicom-web/studies'; // the proxy's rewrite does not change the logged path
    socket.bytesWritten = 350;
    (req as { ip?: string }).ip = undefined; // a client gone: its socket no longer knows the peer address
    res.emit('close');

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request', requestId: 'rid-9', method: 'GET', path: '/pacs/dicom-web/studies', status: 401, routeClass: 'dicomweb-read', aborted: false });
    expect(typeof lines[0]!['durationMs']).toBe('number');
    expect(recorded).toEqual([expect.objectContaining({ event: 'denied', reason: 'missing', clientIp: '10.0.0.2', bytesOut: 250, requestId: 'rid-9' })]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('gateway_http_requests_total{route_class="dicomweb-read",method="GET",status="401"} 1');
    expect(text).toContain('gateway_http_request_duration_seconds_count{route_class="dicomweb-read"} 1');
    expect(text).toContain('gateway_auth_failures_total{reason="missing"} 1');
  });
});
