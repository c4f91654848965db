/**
 * Route classification, composed with normalization the way the gateway uses it:
 * request target → normalizeTarget → classify(method, segments).
 */
import { describe, expect, it } from '@jest/globals';
import { normalizeTarget } from '../../../src/policy/normalize.js';
import { routeFor } from '../../support/routes.js';
import { classify, type Classification, type Route } from '../../../src/policy/routes.js';
import { BLOCKED_ENDPOINT_NAMES, BLOCKED_ENDPOINTS, findBlockedEndpoint } from '../../../src/policy/blocked.js';

const STUDY = '1.2.840.113619.2.55.3.604688119.969.1268071029.320';
const SERIES = '1.2.840.113619.2.55.3.604688119.969.1268071029.321';
const INSTANCE = '1.2.840.113619.2.55.3.604688119.969.1268071029.322';
const UID_64 = `1.${'2'.repeat(62)}`;
const UID_65 = `1.${'2'.repeat(63)}`;
const ORTHANC_ID = '6b9e19d9-62094390-5f9ddb01-4a191ae7-9766b715';

const S = `/pacs/dicom-web/studies/${STUDY}`;
const SE = `${S}/series/${SERIES}`;
const I = `${SE}/instances/${INSTANCE}`;

const READ = ['GET', 'HEAD'];
const STORE = ['GET', 'HEAD', 'POST'];

function classifyTarget(method: string, target: string): Classification {
  const normalized = normalizeTarget(target);
  if (!normalized.ok) throw new Error(`normalizeTarget rejected ${target}: ${normalized.reason}`);
  return classify(method, normalized.segments);
}

function routeOf(method: string, target: string): Route {
  const result = classifyTarget(method, target);
  if (result.kind !== 'route') throw new Error(`${method} ${target} is ${JSON.stringify(result)}, not a route`);
  return result.route;
}

/** `/pacs/dicom-web/x` → `/dicom-web/x` (query stripped). */
const upstreamOf = (target: string) => target.replace(/^\/pacs/, '').replace(/\?.*$/, '');

interface UidRow {
  studyUid?: string;
  seriesUid?: string;
  instanceUid?: string;
}

describe('DICOMweb reads (QIDO-RS, WADO-RS, rendered, thumbnail, frames, bulk)', () => {
  const rows: Array<{ name: string; target: string; uids: UidRow }> = [
    { name: 'QIDO all studies', target: '/pacs/dicom-web/studies', uids: {} },
    { name: 'QIDO studies with query', target: '/pacs/dicom-web/studies?PatientID=42&limit=25&includefield=all', uids: {} },
    { name: 'QIDO all series', target: '/pacs/dicom-web/series', uids: {} },
    { name: 'QIDO all instances', target: '/pacs/dicom-web/instances', uids: {} },
    { name: 'WADO-RS study', target: S, uids: { studyUid: STUDY } },
    { name: 'QIDO series of a study', target: `${S}/series`, uids: { studyUid: STUDY } },
    { name: 'QIDO instances of a study', target: `${S}/instances`, uids: { studyUid: STUDY } },
    { name: 'study metadata', target: `${S}/metadata`, uids: { studyUid: STUDY } },
    { name: 'study rendered', target: `${S}/rendered`, uids: { studyUid: STUDY } },
    { name: 'study thumbnail', target: `${S}/thumbnail`, uids: { studyUid: STUDY } },
    { name: 'WADO-RS series', target: SE, uids: { studyUid: STUDY, seriesUid: SERIES } },
    { name: 'QIDO instances of a series', target: `${SE}/instances`, uids: { studyUid: STUDY, seriesUid: SERIES } },
    { name: 'series metadata', target: `${SE}/metadata`, uids: { studyUid: STUDY, seriesUid: SERIES } },
    { name: 'series rendered', target: `${SE}/rendered`, uids: { studyUid: STUDY, seriesUid: SERIES } },
    { name: 'series thumbnail', target: `${SE}/thumbnail`, uids: { studyUid: STUDY, seriesUid: SERIES } },
    { name: 'WADO-RS instance', target: I, uids: { studyUid: STUDY, seriesUid: SERIES, instanceUid: INSTANCE } },
    { name: 'instance metadata', target: `${I}/metadata`, uids: { studyUid: STUDY, seriesUid: SERIES, instanceUid: INSTANCE } },
    { name: 'instance rendered', target: `${I}/rendered?quality=80`, uids: { studyUid: STUDY, seriesUid: SERIES, instanceUid: INSTANCE } },
    { name: 'instance thumbnail', target: `${I}/thumbnail`, uids: { studyUid: STUDY, seriesUid: SERIES, instanceUid: INSTANCE } },
    { name: 'one frame', target: `${I}/frames/1`, uids: { studyUid: STUDY, seriesUid: SERIES, instanceUid: INSTANCE } },
    { name: 'frame list', target: `${I}/frames/1,2,3`, uids: { studyUid: STUDY, seriesUid: SERIES, instanceUid: INSTANCE } },
    { name: 'frame rendered', target: `${I}/frames/1/rendered`, uids: { studyUid: STUDY, seriesUid: SERIES, instanceUid: INSTANCE } },
    { name: 'frame thumbnail', target: `${I}/frames/12/thumbnail`, uids: { studyUid: STUDY, seriesUid: SERIES, instanceUid: INSTANCE } },
    { name: 'bulk data by tag', target: `${I}/bulk/7fe00010`, uids: { studyUid: STUDY, seriesUid: SERIES, instanceUid: INSTANCE } },
    { name: 'bulk data nested path', target: `${I}/bulk/00540016/0/00181072`, uids: { studyUid: STUDY, seriesUid: SERIES, instanceUid: INSTANCE } },
    { name: 'UID of 64 characters', target: `/pacs/dicom-web/studies/${UID_64}`, uids: { studyUid: UID_64 } },
    { name: 'single-component UID', target: '/pacs/dicom-web/studies/1/series/2/instances/3', uids: { studyUid: '1', seriesUid: '2', instanceUid: '3' } },
  ];

  describe.each(READ)('%s', (method) => {
    it.each(rows)('$name: $target', ({ target, uids }) => {
      expect(classifyTarget(method, target)).toEqual({
        kind: 'route',
        route: { class: 'dicomweb-read', prefix: '/pacs', upstreamPath: upstreamOf(target), ...uids },
      });
    });
  });
});

describe('STOW-RS', () => {
  it.each([
    { target: '/pacs/dicom-web/studies', uids: {} },
    { target: S, uids: { studyUid: STUDY } },
  ])('POST $target is dicomweb-store', ({ target, uids }) => {
    expect(classifyTarget('POST', target)).toEqual({
      kind: 'route',
      route: { class: 'dicomweb-store', prefix: '/pacs', upstreamPath: upstreamOf(target), ...uids },
    });
  });
});

describe('method not allowed (the resource exists, the method does not)', () => {
  it.each([
    { method: 'POST', target: '/pacs/dicom-web/series', allowed: READ },
    { method: 'POST', target: '/pacs/dicom-web/instances', allowed: READ },
    { method: 'POST', target: `${S}/series`, allowed: READ },
    { method: 'POST', target: SE, allowed: READ },
    { method: 'POST', target: `${I}/frames/1`, allowed: READ },
    { method: 'POST', target: `${S}/metadata`, allowed: READ },
    { method: 'DELETE', target: '/pacs/dicom-web/studies', allowed: STORE },
    { method: 'DELETE', target: S, allowed: STORE },
    { method: 'PUT', target: '/pacs/dicom-web/studies', allowed: STORE },
    { method: 'PATCH', target: S, allowed: STORE },
    { method: 'DELETE', target: I, allowed: READ },
    { method: 'PUT', target: '/pacs/wado', allowed: READ },
    { method: 'POST', target: '/pacs/wado?requestType=WADO', allowed: READ },
    { method: 'DELETE', target: `/pacs/instances/${ORTHANC_ID}/preview`, allowed: READ },
    { method: 'POST', target: `/pacs/instances/${ORTHANC_ID}/frames/0/preview`, allowed: READ },
    { method: 'OPTIONS', target: '/pacs/dicom-web/studies', allowed: STORE },
  ])('$method $target → allowed $allowed', ({ method, target, allowed }) => {
    expect(classifyTarget(method, target)).toEqual({ kind: 'method-not-allowed', allowed });
  });
});

describe('not found under /pacs (never forwarded)', () => {
  const targets = [
    '/pacs',
    '/pacs/',
    '/pacs/dicom-web',
    '/pacs/dicom-web/',
    '/pacs/dicom-web/servers',
    '/pacs/dicom-web/servers/remote/stow',
    '/pacs/dicom-web/info',
    '/pacs/dicom-web/studies/',
    '/pacs/dicom-web/Studies',
    '/pacs/dicom-web/studies/1..2',
    '/pacs/dicom-web/studies/1.2.',
    '/pacs/dicom-web/studies/.1.2',
    '/pacs/dicom-web/studies/abc',
    '/pacs/dicom-web/studies/1.2a',
    '/pacs/dicom-web/studies/-1.2',
    `/pacs/dicom-web/studies/${UID_65}`,
    `${S}/unknown`,
    `${S}/series/abc`,
    `${S}/series/${SERIES}/frames/1`,
    `${S}/bulk/7fe00010`,
    `${S}/instances/${INSTANCE}`,
    `/pacs/dicom-web/series/${SERIES}`,
    `/pacs/dicom-web/instances/${INSTANCE}`,
    `${SE}/unknown`,
    `${SE}/instances/1..2`,
    `${I}/unknown`,
    `${I}/frames`,
    `${I}/frames/0`,
    `${I}/frames/01`,
    `${I}/frames/1,`,
    `${I}/frames/,1`,
    `${I}/frames/1%202`,
    `${I}/frames/x`,
    `${I}/frames/1/metadata`,
    `${I}/frames/1/rendered/extra`,
    `${I}/metadata/extra`,
    `${I}/bulk`,
    `${I}/bulk/xyz`,
    `${I}/bulk/7fe0001`,
    `${I}/instances/1`,
    '/pacs/wado/',
    '/pacs/wado/x',
    '/pacs/WADO',
    '/pacs/tools/execute-script',
    '/pacs/system',
    '/pacs/studies',
    '/pacs/app/explorer.html',
    '/pacs/instances',
    `/pacs/instances/${ORTHANC_ID}`,
    `/pacs/instances/${ORTHANC_ID}/file`,
    `/pacs/instances/${ORTHANC_ID}/frames/0`,
    `/pacs/instances/${ORTHANC_ID}/frames/x/preview`,
    `/pacs/instances/${ORTHANC_ID}/frames/0/preview/extra`,
    `/pacs/instances/${ORTHANC_ID}/preview/extra`,
    '/pacs/instances/not-an-id/preview',
    `/pacs/instances/${ORTHANC_ID.toUpperCase()}/preview`,
    `/pacs/instances/${ORTHANC_ID.slice(0, -1)}/preview`,
    `/pacs/instances/${ORTHANC_ID}0/preview`,
    `/pacs/instances/${ORTHANC_ID.replace(/-/g, '')}/preview`,
    `/pacs/studies/${ORTHANC_ID}/preview`,
    `/pacs/series/${ORTHANC_ID}/preview`,
  ];

  describe.each(['GET', 'POST', 'DELETE'])('%s', (method) => {
    it.each(targets)('%s', (target) => {
      expect(classifyTarget(method, target)).toEqual({ kind: 'not-found' });
    });
  });
});

describe('WADO-URI and previews', () => {
  it.each([
    { method: 'GET', target: '/pacs/wado?requestType=WADO&studyUID=1.2&seriesUID=1.3&objectUID=1.4', upstreamPath: '/wado', cls: 'wado-uri' },
    { method: 'HEAD', target: '/pacs/wado', upstreamPath: '/wado', cls: 'wado-uri' },
    { method: 'GET', target: `/pacs/instances/${ORTHANC_ID}/preview`, upstreamPath: `/instances/${ORTHANC_ID}/preview`, cls: 'preview' },
    { method: 'HEAD', target: `/pacs/instances/${ORTHANC_ID}/preview`, upstreamPath: `/instances/${ORTHANC_ID}/preview`, cls: 'preview' },
    { method: 'GET', target: `/pacs/instances/${ORTHANC_ID}/frames/0/preview`, upstreamPath: `/instances/${ORTHANC_ID}/frames/0/preview`, cls: 'preview' },
    { method: 'GET', target: `/pacs/instances/${ORTHANC_ID}/frames/17/preview?quality=90`, upstreamPath: `/instances/${ORTHANC_ID}/frames/17/preview`, cls: 'preview' },
  ])('$method $target → $cls $upstreamPath', ({ method, target, upstreamPath, cls }) => {
    const orthancId = cls === 'preview' ? { orthancId: ORTHANC_ID } : {};
    expect(classifyTarget(method, target)).toEqual({ kind: 'route', route: { class: cls, prefix: '/pacs', upstreamPath, ...orthancId } });
  });
});

describe('admin routes (/pacs-admin → Orthanc /)', () => {
  it.each([
    { method: 'GET', target: '/pacs-admin', upstreamPath: '/' },
    { method: 'GET', target: '/pacs-admin/', upstreamPath: '/' },
    { method: 'GET', target: '/pacs-admin/app/explorer.html', upstreamPath: '/app/explorer.html' },
    { method: 'GET', target: '/pacs-admin/app/libs/jquery.min.js', upstreamPath: '/app/libs/jquery.min.js' },
    { method: 'GET', target: '/pacs-admin/system', upstreamPath: '/system' },
    { method: 'GET', target: '/pacs-admin/system?expand', upstreamPath: '/system' },
    { method: 'GET', target: '/pacs-admin/studies/', upstreamPath: '/studies/' },
    { method: 'GET', target: '/pacs-admin/modalities/x', upstreamPath: '/modalities/x' },
    { method: 'GET', target: '/pacs-admin/peers/x', upstreamPath: '/peers/x' },
    { method: 'DELETE', target: '/pacs-admin/studies/x', upstreamPath: '/studies/x' },
    { method: 'POST', target: '/pacs-admin/instances', upstreamPath: '/instances' },
    { method: 'POST', target: '/pacs-admin/tools/find', upstreamPath: '/tools/find' },
    { method: 'GET', target: '/pacs-admin/tools/log-level', upstreamPath: '/tools/log-level' },
    { method: 'GET', target: '/pacs-admin/tools/default-encoding', upstreamPath: '/tools/default-encoding' },
    { method: 'GET', target: '/pacs-admin/dicom-web/servers', upstreamPath: '/dicom-web/servers' },
    { method: 'GET', target: '/pacs-admin/dicom-web/servers/remote', upstreamPath: '/dicom-web/servers/remote' },
    { method: 'GET', target: `/pacs-admin/dicom-web/studies/${STUDY}`, upstreamPath: `/dicom-web/studies/${STUDY}` },
    { method: 'GET', target: '/pacs-admin/studies/x/archive', upstreamPath: '/studies/x/archive' },
    { method: 'GET', target: '/pacs-admin/tools/execute-script-help', upstreamPath: '/tools/execute-script-help' },
    // Canonical re-encoding: the upstream path carries the decoded segment re-encoded once.
    { method: 'GET', target: '/pacs-admin/tools/lookup%3Fx', upstreamPath: '/tools/lookup%3Fx' },
    { method: 'GET', target: '/pacs-admin/patients/a%20b', upstreamPath: '/patients/a%20b' },
  ])('$method $target → admin $upstreamPath', ({ method, target, upstreamPath }) => {
    expect(classifyTarget(method, target)).toEqual({ kind: 'route', route: { class: 'admin', prefix: '/pacs-admin', upstreamPath } });
  });
});

describe('blocked admin endpoints', () => {
  const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'];
  /** One row per endpoint: the rule's name, the methods the block applies to, and the ones that stay plain admin. */
  const rows: Array<{ path: string; name: string; blocked: string[]; open: string[] }> = [
    { path: '/tools/execute-script', name: 'execute-script', blocked: ALL_METHODS, open: [] },
    { path: '/tools/shutdown', name: 'shutdown', blocked: ALL_METHODS, open: [] },
    { path: '/tools/reset', name: 'reset', blocked: ALL_METHODS, open: [] },
    { path: '/tools/reconstruct', name: 'reconstruct', blocked: ALL_METHODS, open: [] },
    { path: '/tools/invalidate-tags', name: 'invalidate-tags', blocked: ALL_METHODS, open: [] },
    { path: '/tools/create-dicom', name: 'create-dicom', blocked: ALL_METHODS, open: [] },
    { path: '/tools/log-level', name: 'log-level', blocked: ['PUT'], open: ['GET', 'HEAD', 'POST', 'DELETE'] },
    { path: '/tools/log-level-http', name: 'log-level', blocked: ['PUT'], open: ['GET'] },
    { path: '/tools/log-level-plugins', name: 'log-level', blocked: ['PUT'], open: ['GET'] },
    { path: '/tools/default-encoding', name: 'runtime-configuration', blocked: ['PUT'], open: ['GET', 'POST', 'DELETE'] },
    { path: '/tools/accepted-transfer-syntaxes', name: 'runtime-configuration', blocked: ['PUT'], open: ['GET'] },
    { path: '/tools/unknown-sop-class-accepted', name: 'runtime-configuration', blocked: ['PUT'], open: ['GET'] },
    { path: '/patients/x/export', name: 'export', blocked: ALL_METHODS, open: [] },
    { path: '/studies/x/export', name: 'export', blocked: ALL_METHODS, open: [] },
    { path: '/series/x/export', name: 'export', blocked: ALL_METHODS, open: [] },
    { path: '/instances/x/export', name: 'export', blocked: ALL_METHODS, open: [] },
    { path: '/modalities/x', name: 'remote-config', blocked: ['PUT', 'DELETE'], open: ['GET', 'HEAD'] },
    { path: '/modalities/x', name: 'modality-other', blocked: ['POST'], open: [] },
    { path: '/peers/x', name: 'remote-config', blocked: ['PUT', 'DELETE'], open: ['GET'] },
    { path: '/peers/x', name: 'peer-other', blocked: ['POST'], open: [] },
    { path: '/dicom-web/servers/x', name: 'dicomweb-server-config', blocked: ['PUT', 'DELETE'], open: ['GET', 'POST'] },
    { path: '/webdav', name: 'webdav', blocked: ALL_METHODS, open: [] },
    { path: '/webdav/', name: 'webdav', blocked: ALL_METHODS, open: [] },
    { path: '/webdav/by-uids/1.2/1.3', name: 'webdav', blocked: ALL_METHODS, open: [] },
    // Calls that make Orthanc open a connection somewhere (network scanning, data sent anywhere).
    { path: '/tools/dicom-echo', name: 'dicom-echo', blocked: ALL_METHODS, open: [] },
    { path: '/modalities/x/echo', name: 'modality-echo', blocked: ALL_METHODS, open: [] },
    { path: '/modalities/x/store', name: 'modality-store', blocked: ALL_METHODS, open: [] },
    { path: '/modalities/x/store-straight', name: 'modality-store', blocked: ALL_METHODS, open: [] },
    { path: '/modalities/x/storage-commitment', name: 'modality-store', blocked: ALL_METHODS, open: [] },
    { path: '/modalities/x/query', name: 'modality-query', blocked: ALL_METHODS, open: [] },
    { path: '/modalities/x/find', name: 'modality-query', blocked: ALL_METHODS, open: [] },
    { path: '/modalities/x/find-patient', name: 'modality-query', blocked: ALL_METHODS, open: [] },
    { path: '/modalities/x/find-study', name: 'modality-query', blocked: ALL_METHODS, open: [] },
    { path: '/modalities/x/find-series', name: 'modality-query', blocked: ALL_METHODS, open: [] },
    { path: '/modalities/x/find-instance', name: 'modality-query', blocked: ALL_METHODS, open: [] },
    { path: '/modalities/x/find-worklist', name: 'modality-query', blocked: ALL_METHODS, open: [] },
    { path: '/modalities/x/move', name: 'modality-move', blocked: ALL_METHODS, open: [] },
    { path: '/modalities/x/get', name: 'modality-get', blocked: ALL_METHODS, open: [] },
    { path: '/modalities/x/some-future-operation', name: 'modality-other', blocked: ['POST'], open: ['GET'] },
    { path: '/modalities/x/configuration', name: 'modality-other', blocked: ['POST'], open: ['GET'] },
    { path: '/queries/q1/retrieve', name: 'query-retrieve', blocked: ALL_METHODS, open: [] },
    { path: '/queries/q1/answers/0/retrieve', name: 'query-retrieve', blocked: ALL_METHODS, open: [] },
    { path: '/queries/q1/answers/0/query-studies', name: 'query-retrieve', blocked: ALL_METHODS, open: [] },
    { path: '/queries/q1/answers/0/query-series', name: 'query-retrieve', blocked: ALL_METHODS, open: [] },
    { path: '/queries/q1/answers/0/query-instances', name: 'query-retrieve', blocked: ALL_METHODS, open: [] },
    { path: '/queries/q1/answers/0/content', name: 'none', blocked: [], open: ['GET'] },
    { path: '/peers/x/store', name: 'peer-store', blocked: ALL_METHODS, open: [] },
    { path: '/peers/x/store-straight', name: 'peer-store', blocked: ALL_METHODS, open: [] },
    { path: '/peers/x/system', name: 'peer-system', blocked: ALL_METHODS, open: [] },
    { path: '/peers/x/configuration', name: 'peer-other', blocked: ['POST'], open: ['GET'] },
    { path: '/dicom-web/servers/x/stow', name: 'dicomweb-client', blocked: ALL_METHODS, open: [] },
    { path: '/dicom-web/servers/x/wado', name: 'dicomweb-client', blocked: ALL_METHODS, open: [] },
    { path: '/dicom-web/servers/x/qido', name: 'dicomweb-client', blocked: ALL_METHODS, open: [] },
    { path: '/dicom-web/servers/x/get', name: 'dicomweb-client', blocked: ALL_METHODS, open: [] },
    { path: '/dicom-web/servers/x/post', name: 'dicomweb-client', blocked: ALL_METHODS, open: [] },
    { path: '/dicom-web/servers/x/retrieve', name: 'dicomweb-client', blocked: ALL_METHODS, open: [] },
    { path: '/dicom-web/servers/x/anything/below', name: 'dicomweb-client', blocked: ALL_METHODS, open: [] },
    { path: '/transfers/send', name: 'transfers', blocked: ALL_METHODS, open: [] },
    { path: '/transfers/pull', name: 'transfers', blocked: ALL_METHODS, open: [] },
    { path: '/transfers/peers', name: 'transfers', blocked: ALL_METHODS, open: [] },
    { path: '/tools/find', name: 'none', blocked: [], open: ['POST'] },
    { path: '/modalities', name: 'none', blocked: [], open: ['GET'] },
    { path: '/queries', name: 'none', blocked: [], open: ['GET'] },
  ];

  it('every rule in BLOCKED_ENDPOINTS is exercised by this table, under its own name', () => {
    const untested = BLOCKED_ENDPOINTS.filter((rule) => !rows.some((row) => row.name === rule.name && row.blocked.length > 0));
    expect(untested.map((rule) => rule.name)).toEqual([]);
  });

  it('rule names are unique and URL/env friendly', () => {
    expect(new Set(BLOCKED_ENDPOINT_NAMES).size).toBe(BLOCKED_ENDPOINTS.length);
    for (const name of BLOCKED_ENDPOINT_NAMES) expect(name).toMatch(/^[a-z]+(-[a-z]+)*$/);
  });

  const blockedCases = rows.flatMap(({ path, name, blocked }) => blocked.map((method) => ({ method, path, name })));
  it.each(blockedCases)('$method /pacs-admin$path is admin-blocked by $name', ({ method, path, name }) => {
    const route = routeOf(method, `/pacs-admin${path}`);
    expect(route).toEqual({ class: 'admin-blocked', prefix: '/pacs-admin', upstreamPath: path, blocked: { name, reason: expect.any(String) } });
    expect(route.blocked).toEqual(findBlockedEndpoint(method, path));
  });

  const openCases = rows.flatMap(({ path, open }) => open.map((method) => ({ method, path })));
  it.each(openCases)('$method /pacs-admin$path stays admin', ({ method, path }) => {
    expect(routeOf(method, `/pacs-admin${path}`)).toEqual({ class: 'admin', prefix: '/pacs-admin', upstreamPath: path });
  });

  it.each([
    { method: 'POST', target: '/pacs-admin/TOOLS/Execute-Script' },
    { method: 'POST', target: '/pacs-admin/tools/execute-script/' },
    { method: 'POST', target: '/pacs-admin/Tools/EXECUTE-SCRIPT/' },
    { method: 'POST', target: '/pacs-admin/tools/execute%2Dscript' },
    { method: 'POST', target: '/pacs-admin/%74ools/execute-script' },
    { method: 'POST', target: '/pacs-admin/tools/execute-script?x=1' },
    { method: 'POST', target: '/pacs-admin/tools/shutdown/' },
    { method: 'POST', target: '/pacs-admin/TOOLS/RESET' },
    { method: 'PUT', target: '/pacs-admin/tools/LOG-LEVEL' },
    { method: 'PUT', target: '/pacs-admin/Modalities/evil' },
    { method: 'DELETE', target: '/pacs-admin/peers/x/' },
    { method: 'PUT', target: '/pacs-admin/DICOM-WEB/Servers/x' },
    { method: 'POST', target: '/pacs-admin/Studies/x/EXPORT' },
    { method: 'GET', target: '/pacs-admin/WebDav/x' },
    { method: 'POST', target: '/pacs-admin/Tools/Dicom-Echo/' },
    { method: 'POST', target: '/pacs-admin/tools/dicom%2Decho' },
    { method: 'POST', target: '/pacs-admin/MODALITIES/x/ECHO' },
    { method: 'POST', target: '/pacs-admin/modalities/x/Find-Study' },
    { method: 'POST', target: '/pacs-admin/Peers/x/Store/' },
    { method: 'POST', target: '/pacs-admin/dicom-web/SERVERS/x/Stow' },
    { method: 'POST', target: '/pacs-admin/Queries/q/Answers/0/Retrieve' },
  ])('spelling variant $method $target is still admin-blocked', ({ method, target }) => {
    expect(routeOf(method, target).class).toBe('admin-blocked');
  });

  it.each([
    { method: 'POST', path: '/tools/execute-script', reason: /Lua/ },
    { method: 'PUT', path: '/modalities/x', reason: /sends data/ },
    { method: 'POST', path: '/tools/dicom-echo', reason: /host and port/ },
  ])('findBlockedEndpoint explains $method $path with a fixed text (no part of the request)', ({ method, path, reason }) => {
    const explanation = findBlockedEndpoint(method, path);
    expect(explanation?.reason).toMatch(reason);
    expect(explanation?.reason).not.toContain(path);
  });

  it.each([
    { method: 'GET', path: '/' },
    { method: 'GET', path: '/system' },
    { method: 'POST', path: '/tools/find' },
    { method: 'GET', path: '/modalities/x' },
  ])('findBlockedEndpoint($method, $path) is undefined', ({ method, path }) => {
    expect(findBlockedEndpoint(method, path)).toBeUndefined();
  });
});

describe('not for the gateway (other handlers or 404, never proxied)', () => {
  it.each([
    '/',
    '/auth/login',
    '/auth/callback?code=x&state=y',
    '/healthz',
    '/index.html',
    '/PACS/dicom-web/studies',
    '/Pacs/dicom-web/studies',
    '/Pacs-Admin/system',
    '/PACS-ADMIN/tools/execute-script',
    '/pacsx',
    '/pacsx/dicom-web/studies',
    '/pacs-adminx/system',
    '/pacs-admin-x',
    '/dicom-web/studies',
    '/tools/execute-script',
  ])('%s', (target) => {
    expect(classifyTarget('GET', target)).toEqual({ kind: 'not-gateway' });
    expect(classifyTarget('POST', target)).toEqual({ kind: 'not-gateway' });
  });
});

describe('classify works on decoded segments', () => {
  it('takes the segments normalizeTarget produced, not raw text', () => {
    expect(classify('GET', ['pacs', 'dicom-web', 'studies', STUDY, 'series'])).toEqual({
      kind: 'route',
      route: { class: 'dicomweb-read', prefix: '/pacs', upstreamPath: `/dicom-web/studies/${STUDY}/series`, studyUid: STUDY },
    });
  });

  it('re-encodes segments when building the upstream path', () => {
    expect(classify('GET', ['pacs-admin', 'patients', 'a/b?c'])).toEqual({
      kind: 'route',
      route: { class: 'admin', prefix: '/pacs-admin', upstreamPath: '/patients/a%2Fb%3Fc' },
    });
  });

  it.each(['/pacs/dicom-web/studies/1%2E2', '/pacs/dicom-web/studies%2f1.2', '/pacs/dicom-web/../tools/execute-script'])(
    'targets that only make sense after decoding never reach classify: %s',
    (target) => {
      expect(normalizeTarget(target).ok).toBe(false);
    },
  );
});

describe('WADO-URI UIDs come from the canonical query', () => {
  const wadoRoute = (query: string) => routeFor('GET', `/pacs/wado?${query}`);

  it.each([
    [`requestType=WADO&studyUID=${STUDY}&seriesUID=${SERIES}&objectUID=${INSTANCE}`, { studyUid: STUDY, seriesUid: SERIES, instanceUid: INSTANCE }],
    [`objectUID=${INSTANCE}&seriesUID=${SERIES}&studyUID=${STUDY}&requestType=WADO`, { studyUid: STUDY, seriesUid: SERIES, instanceUid: INSTANCE }],
    [`requestType=WADO&studyUID=1.%32&seriesUID=${SERIES}&objectUID=${INSTANCE}`, { studyUid: '1.2', seriesUid: SERIES, instanceUid: INSTANCE }],
  ])('%s → %o', (query, uids) => {
    expect(wadoRoute(query)).toMatchObject({ class: 'wado-uri', ...uids });
  });

  // parameter-rules.ts refuses these before policy; classification alone never picks one of two values.
  it.each([
    [`studyUID=${STUDY}&studyUID=9.9`, 'studyUid'],
    ['studyUID=', 'studyUid'],
    [`StudyUID=${STUDY}`, 'studyUid'],
    [`objectUID=${INSTANCE}&objectUID=9.9`, 'instanceUid'],
    [`seriesUID=not-a-uid`, 'seriesUid'],
  ])('%s names no %s', (query, key) => {
    expect(wadoRoute(query)).not.toHaveProperty(key);
  });
});
