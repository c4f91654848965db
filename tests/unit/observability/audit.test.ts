/**
 * The audit trail's pure parts: request → action, UIDs from path and query, refusal reasons; and the
 * two sinks (the log stream with "log":"audit", or a file of its own).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createChainedFile } from '../../../src/audit/chained-file.js';
import { createAuditDispatcher } from '../../../src/audit/dispatcher.js';
import { GatewayError } from '../../../src/errors.js';
import { accessAction, auditOutcome, auditUids, createAuditLog, denialReason, type AuditEvent } from '../../../src/observability/audit.js';
import { createLogger } from '../../../src/observability/logger.js';
import { normalizeTarget } from '../../../src/policy/normalize.js';
import { classify, type Route } from '../../../src/policy/routes.js';
import type { Query } from '../../../src/canonical/query.js';
import { queryOf } from '../../support/routes.js';

const STUDY = '1.2.840.113619.2.55.3.604688119.969.1268071029.320';
const SERIES = '1.2.840.113619.2.55.3.604688119.969.1268071029.321';
const INSTANCE = '1.2.840.113619.2.55.3.604688119.969.1268071029.322';
const ORTHANC_ID = '6b9e19d9-62094390-5f9ddb01-4a191ae7-9766b715';
const S = `/pacs/dicom-web/studies/${STUDY}`;
const SE = `${S}/series/${SERIES}`;
const I = `${SE}/instances/${INSTANCE}`;

/** Request target → route and canonical query, the way the gateway's classify stage sees it. */
function request(method: string, target: string): { route: Route; query: Query } {
  const normalized = normalizeTarget(target);
  if (!normalized.ok) throw new Error(`rejected ${target}: ${normalized.reason}`);
  const query = queryOf(normalized.query);
  const result = classify(method, normalized.segments, query);
  if (result.kind !== 'route') throw new Error(`${method} ${target} is not a route: ${result.kind}`);
  return { route: result.route, query };
}

describe('accessAction', () => {
  it.each([
    // QIDO-RS: GET/HEAD on a search resource
    ['GET', '/pacs/dicom-web/studies', 'search'],
    ['GET', '/pacs/dicom-web/studies?PatientID=P1&limit=10', 'search'],
    ['HEAD', '/pacs/dicom-web/studies', 'search'],
    ['GET', '/pacs/dicom-web/series', 'search'],
    ['GET', '/pacs/dicom-web/instances', 'search'],
    ['GET', `${S}/series`, 'search'],
    ['GET', `${S}/instances`, 'search'],
    ['GET', `${SE}/instances`, 'search'],
    // WADO-RS, metadata, rendered, thumbnails, frames, bulk data
    ['GET', S, 'retrieve'],
    ['GET', `${S}/metadata`, 'retrieve'],
    ['GET', `${S}/rendered`, 'retrieve'],
    ['GET', `${S}/thumbnail`, 'retrieve'],
    ['GET', SE, 'retrieve'],
    ['GET', `${SE}/metadata`, 'retrieve'],
    ['GET', I, 'retrieve'],
    ['GET', `${I}/metadata`, 'retrieve'],
    ['GET', `${I}/rendered`, 'retrieve'],
    ['GET', `${I}/frames/1`, 'retrieve'],
    ['GET', `${I}/frames/1,2/rendered`, 'retrieve'],
    ['GET', `${I}/bulk/7FE00010`, 'retrieve'],
    // WADO-URI and previews
    ['GET', `/pacs/wado?requestType=WADO&studyUID=${STUDY}&seriesUID=${SERIES}&objectUID=${INSTANCE}`, 'retrieve'],
    ['GET', `/pacs/instances/${ORTHANC_ID}/preview`, 'retrieve'],
    ['GET', `/pacs/instances/${ORTHANC_ID}/frames/0/preview`, 'retrieve'],
    // STOW-RS
    ['POST', '/pacs/dicom-web/studies', 'store'],
    ['POST', S, 'store'],
    // Orthanc Explorer and REST, blocked endpoints included
    ['GET', '/pacs-admin/app/explorer.html', 'admin'],
    ['GET', '/pacs-admin/studies', 'admin'],
    ['DELETE', `/pacs-admin/studies/${ORTHANC_ID}`, 'admin'],
    ['POST', '/pacs-admin/tools/execute-script', 'admin'],
  ])('%s %s → %s', (method, target, action) => {
    expect(accessAction(request(method, target).route)).toBe(action);
  });
});

describe('auditOutcome', () => {
  const { route } = request('GET', `${S}/metadata`);
  it.each([
    [200, false, { event: 'access', action: 'retrieve' }],
    [206, false, { event: 'access', action: 'retrieve' }],
    [304, false, { event: 'access', action: 'retrieve' }],
    [404, false, { event: 'access', action: 'retrieve' }],
    [502, false, { event: 'access', action: 'retrieve' }],
    [401, false, { event: 'denied', action: 'denied' }],
    [403, false, { event: 'denied', action: 'denied' }],
    [429, false, { event: 'denied', action: 'denied' }],
    [302, true, { event: 'denied', action: 'denied' }],
  ])('status %i (sign-in redirect: %s) → %o', (status, loginRedirect, expected) => {
    expect(auditOutcome(route, { status, loginRedirect })).toEqual(expected);
  });

  it('a 404 the gateway answered as a refusal (a study not yours) is a denial', () => {
    expect(auditOutcome(route, { status: 404, refused: true })).toEqual({ event: 'denied', action: 'denied' });
  });
});

describe('auditUids', () => {
  it.each([
    ['GET', S, { studyUid: STUDY }],
    ['GET', `${SE}/metadata`, { studyUid: STUDY, seriesUid: SERIES }],
    ['GET', `${I}/frames/1`, { studyUid: STUDY, seriesUid: SERIES, instanceUid: INSTANCE }],
    ['POST', S, { studyUid: STUDY }],
    ['POST', '/pacs/dicom-web/studies', {}],
    // QIDO: UIDs named as query keys, keywords or tags
    ['GET', `/pacs/dicom-web/studies?StudyInstanceUID=${STUDY}`, { studyUid: STUDY }],
    ['GET', `/pacs/dicom-web/studies?0020000D=${STUDY}&PatientID=X`, { studyUid: STUDY }],
    ['GET', `/pacs/dicom-web/series?0020000d=${STUDY}&SeriesInstanceUID=${SERIES}`, { studyUid: STUDY, seriesUid: SERIES }],
    ['GET', `/pacs/dicom-web/instances?SOPInstanceUID=${INSTANCE}`, { instanceUid: INSTANCE }],
    ['GET', `${S}/series?SeriesInstanceUID=${SERIES}`, { studyUid: STUDY, seriesUid: SERIES }],
    ['GET', `/pacs/dicom-web/studies?StudyInstanceUID=${STUDY},1.2.3`, { studyUid: `${STUDY},1.2.3` }],
    // the path wins over the query
    ['GET', `${S}/series?StudyInstanceUID=1.2.3`, { studyUid: STUDY }],
    // malformed values are left out (no free text reaches the audit trail)
    ['GET', '/pacs/dicom-web/studies?StudyInstanceUID=Doe%5EJane', {}],
    // after a share link's restriction the canonical query holds the shared study, and that is what is audited
    ['GET', `/pacs/dicom-web/studies?PatientID=X&StudyInstanceUID=${STUDY}`, { studyUid: STUDY }],
    ['GET', '/pacs/dicom-web/studies?StudyInstanceUID=1.2.*', {}],
    ['GET', `/pacs/dicom-web/studies?StudyInstanceUID=1.${'2'.repeat(63)}`, {}],
    // retrieves take UIDs from the path only
    ['GET', `${S}/metadata?SeriesInstanceUID=${SERIES}`, { studyUid: STUDY }],
    // WADO-URI parameters
    ['GET', `/pacs/wado?requestType=WADO&studyUID=${STUDY}&seriesUID=${SERIES}&objectUID=${INSTANCE}`, { studyUid: STUDY, seriesUid: SERIES, instanceUid: INSTANCE }],
    // previews and admin routes name Orthanc ids, not UIDs (the path is in the event)
    ['GET', `/pacs/instances/${ORTHANC_ID}/preview`, {}],
    ['GET', `/pacs-admin/studies/${ORTHANC_ID}?StudyInstanceUID=${STUDY}`, {}],
  ])('%s %s → %o', (method, target, expected) => {
    const { route, query } = request(method, target);
    expect(auditUids(route, query)).toEqual(expected);
  });
});

describe('denialReason', () => {
  it.each([
    ['no error', undefined, false, undefined],
    ['sign-in redirect', undefined, true, 'missing'],
    ['401 without credentials', new GatewayError('unauthenticated', 'x'), false, 'missing'],
    ['invalid token', new GatewayError('invalid_token', 'x'), false, 'invalid_token'],
    ['expired token', new GatewayError('invalid_token', 'x', {}, 'expired'), false, 'expired'],
    ['missing role', new GatewayError('forbidden', 'x', {}, 'forbidden'), false, 'forbidden'],
    ['403 without a reason', new GatewayError('forbidden', 'x'), false, 'forbidden'],
    ['blocked endpoint', new GatewayError('forbidden', 'x', {}, 'blocked'), false, 'blocked'],
    ['cross-site request', new GatewayError('forbidden', 'x', {}, 'csrf'), false, 'csrf'],
    ['Orthanc refused', new GatewayError('forbidden', 'x', {}, 'orthanc_forbidden'), false, 'orthanc_forbidden'],
    ['unknown reason falls back to the code', new GatewayError('forbidden', 'x', {}, 'made-up'), false, 'forbidden'],
    ['rate limited', new GatewayError('too_many_requests', 'x'), false, 'rate_limited'],
    ['not an auth failure', new GatewayError('bad_gateway', 'x'), false, undefined],
    ['not found', new GatewayError('not_found', 'x'), false, undefined],
  ])('%s', (_name, error, loginRedirect, expected) => {
    expect(denialReason(error, loginRedirect)).toBe(expected);
  });
});

const EVENT: AuditEvent = {
  event: 'access',
  action: 'retrieve',
  user: { sub: 'sub-1', username: 'alice' },
  via: 'bearer',
  method: 'GET',
  path: `${S}/metadata`,
  status: 200,
  routeClass: 'dicomweb-read',
  studyUid: STUDY,
  clientIp: '127.0.0.1',
  requestId: 'req-1',
  bytesOut: 1234,
};

class Lines extends Writable {
  readonly lines: Array<Record<string, unknown>> = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    callback();
  }
}

describe('createAuditLog', () => {
  it('writes to the log stream with "log":"audit", whatever LOG_LEVEL (except silent)', () => {
    for (const level of ['info', 'warn', 'fatal']) {
      const sink = new Lines();
      createAuditLog({ logger: createLogger(level, sink), toLogStream: true }).record(EVENT);
      expect(sink.lines).toEqual([{ level: 30, time: expect.any(String), service: 'orthanc-oidc-gateway', log: 'audit', ...EVENT, msg: 'audit' }]);
      expect(Number.isNaN(Date.parse(sink.lines[0]!['time'] as string))).toBe(false);
    }
  });

  it('is silent with LOG_LEVEL=silent and no file', () => {
    const sink = new Lines();
    createAuditLog({ logger: createLogger('silent', sink), toLogStream: true }).record(EVENT);
    expect(sink.lines).toEqual([]);
  });

  it('appends to AUDIT_LOG_FILE (hash-chained, with anchors), not to the log stream, creating its folder', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'audit-')), 'sub', 'audit.log');
    const sink = new Lines();
    const logger = createLogger('silent', sink);
    for (let round = 0; round < 2; round++) {
      const sinks = createAuditDispatcher({ sinks: [createChainedFile({ file, anchorEvery: 100, logger })], patients: undefined, logger });
      const audit = createAuditLog({ logger, toLogStream: false, sinks });
      audit.record({ ...EVENT, requestId: `req-${round}` });
      await audit.close();
    }
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const anchor = (seq: number, reason: string) => ({ level: 30, time: expect.any(String), service: 'orthanc-oidc-gateway', log: 'audit', event: 'anchor', reason, msg: 'audit anchor', seq, prev: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(lines).toEqual([0, 1].flatMap((round) => [
      anchor(round * 3, 'start'),
      { level: 30, time: expect.any(String), service: 'orthanc-oidc-gateway', log: 'audit', ...EVENT, requestId: `req-${round}`, msg: 'audit', seq: round * 3 + 1, prev: expect.any(String) },
      anchor(round * 3 + 2, 'stop'),
    ]));
    expect(sink.lines).toEqual([]);
  });
});
