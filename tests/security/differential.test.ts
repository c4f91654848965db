import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { stowBody } from '../support/dicomweb.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { Browser } from '../support/http-browser.js';
import { uploadInstances } from '../support/orthanc.js';
import { orthancRouteClass, readAsOrthanc, type Catalogue, type OrthancReading } from '../support/orthanc-reading.js';
import { rawRequest, type RawResponse } from '../support/raw-http.js';
import { startRecordingProxy, type RecordedRequest, type RecordingProxy } from '../support/recording-proxy.js';
import { NO_RATE_LIMITS } from '../support/security.js';
import { gatewayClientTokens, startSessionStack, type SessionStack, signedInBrowser } from '../support/session-stack.js';

/**
 * Differential harness (issue 14): the gateway must decide on exactly the request Orthanc executes.
 * A recorder between the gateways and a real Orthanc notes what Orthanc received; a generated corpus
 * (fast-check, fixed seed) sends variants of every route class — repeated, re-cased and
 * percent-encoded parameters, `_method` and override-header tricks, path tricks — as several
 * principals. For each request:
 *  - let through: Orthanc's reading of it (tests/support/orthanc-reading.ts: method, route class,
 *    study/series/instance) equals the gateway's audit line, and a study-restricted principal never
 *    reached (nor got back) another study;
 *  - refused: nothing reached Orthanc.
 * Adding a route class = one row in ROUTE_CLASSES.
 */

const SEED = 14_2026;
const RUNS_PER_CLASS = Number(process.env['DIFFERENTIAL_RUNS'] ?? 400);

interface Study {
  studyUid: string;
  seriesUid: string;
  instanceUid: string;
  orthancId: string;
  patientId: string;
  orthancPatientId: string;
}

/** The studies of the suite: the claim-restricted user's only one, the shared one, one nobody restricted may see. */
interface Fixtures {
  restrictedHome: Study;
  shared: Study;
  foreign: Study;
  /** Uploaded again and again by STOW variants. */
  stow: GeneratedSeries;
}

type PrincipalName = 'viewer' | 'admin-bearer' | 'admin-session' | 'claims-restricted' | 'share-session';

interface Principal {
  name: PrincipalName;
  gateway: () => TestGateway;
  headers: () => Record<string, string>;
  /** The one study a restricted principal may see. */
  onlyStudy?: () => Study;
}

/** A request before serialization: the corpus mutates these parts. */
interface Shape {
  method: string;
  prefix: '/pacs' | '/pacs-admin';
  segments: string[];
  /** Raw `name=value` pieces and the separator before each (the first one's is ignored). */
  params: Array<{ name: string; value: string; separator: '&' | ';' }>;
  headers: Record<string, string>;
  body?: { data: Buffer; contentType: string };
}

interface RouteClassRow {
  name: string;
  principals: PrincipalName[];
  /** Legitimate requests of the class for a principal whose readable study is `home`. */
  shapes: (home: Study, fixtures: Fixtures) => Shape[];
  /** Variants may all be refused (blocked endpoints: what reaches Orthanc is some other, unknown path). */
  mayRefuseAll?: true;
}

const param = (name: string, value: string) => ({ name, value, separator: '&' as const });
const get = (prefix: Shape['prefix'], path: string, params: Array<[string, string]> = []): Shape => ({
  method: 'GET',
  prefix,
  segments: path.split('/').filter(Boolean),
  params: params.map(([name, value]) => param(name, value)),
  headers: {},
});
const instancePath = (s: Study) => `dicom-web/studies/${s.studyUid}/series/${s.seriesUid}/instances/${s.instanceUid}`;

const READERS: PrincipalName[] = ['viewer', 'admin-bearer', 'claims-restricted', 'share-session'];

/** One row per route class: its principals and legitimate shapes. */
const ROUTE_CLASSES: RouteClassRow[] = [
  {
    name: 'QIDO-RS search',
    principals: READERS,
    shapes: (home) => [
      get('/pacs', 'dicom-web/studies', [['StudyInstanceUID', home.studyUid], ['includefield', '00081030'], ['limit', '10']]),
      get('/pacs', 'dicom-web/studies', [['PatientID', home.patientId], ['offset', '0']]),
      get('/pacs', 'dicom-web/series', [['StudyInstanceUID', home.studyUid], ['0020000E', home.seriesUid]]),
      get('/pacs', 'dicom-web/instances', [['StudyInstanceUID', home.studyUid], ['SOPInstanceUID', home.instanceUid]]),
      get('/pacs', `dicom-web/studies/${home.studyUid}/series`, [['SeriesInstanceUID', home.seriesUid]]),
      get('/pacs', `dicom-web/studies/${home.studyUid}/series/${home.seriesUid}/instances`, [['limit', '5']]),
    ],
  },
  {
    name: 'WADO-RS retrieve',
    principals: READERS,
    shapes: (home) => [
      get('/pacs', `dicom-web/studies/${home.studyUid}`),
      get('/pacs', `dicom-web/studies/${home.studyUid}/metadata`),
      get('/pacs', `dicom-web/studies/${home.studyUid}/series/${home.seriesUid}`),
      get('/pacs', `dicom-web/studies/${home.studyUid}/series/${home.seriesUid}/metadata`),
      get('/pacs', instancePath(home)),
      get('/pacs', `${instancePath(home)}/metadata`),
      get('/pacs', `${instancePath(home)}/bulk/7FE00010`),
    ],
  },
  {
    name: 'WADO-RS frames',
    principals: READERS,
    shapes: (home) => [get('/pacs', `${instancePath(home)}/frames/1`), get('/pacs', `${instancePath(home)}/frames/1,1`)],
  },
  {
    name: 'WADO-RS rendered',
    principals: READERS,
    shapes: (home) => [
      get('/pacs', `${instancePath(home)}/rendered`, [['quality', '50']]),
      get('/pacs', `${instancePath(home)}/frames/1/rendered`, [['viewport', '32,32']]),
      get('/pacs', `dicom-web/studies/${home.studyUid}/series/${home.seriesUid}/rendered`),
    ],
  },
  {
    name: 'WADO-RS thumbnail',
    principals: READERS,
    shapes: (home) => [get('/pacs', `${instancePath(home)}/thumbnail`), get('/pacs', `dicom-web/studies/${home.studyUid}/thumbnail`)],
  },
  {
    name: 'WADO-URI',
    principals: READERS,
    shapes: (home) => [
      get('/pacs', 'wado', [['requestType', 'WADO'], ['studyUID', home.studyUid], ['seriesUID', home.seriesUid], ['objectUID', home.instanceUid], ['contentType', 'application/dicom']]),
      get('/pacs', 'wado', [['requestType', 'WADO'], ['studyUID', home.studyUid], ['objectUID', home.instanceUid]]),
    ],
  },
  {
    name: 'previews',
    principals: ['viewer', 'admin-bearer', 'claims-restricted', 'share-session'],
    shapes: (home) => [get('/pacs', `instances/${home.orthancId}/preview`), get('/pacs', `instances/${home.orthancId}/frames/0/preview`)],
  },
  {
    name: 'STOW-RS',
    principals: ['admin-bearer', 'admin-session', 'viewer', 'share-session'],
    shapes: (_home, { stow }) => {
      const { body, contentType } = stowBody(stow.files, 'differential-stow');
      const store = (path: string): Shape => ({ ...get('/pacs', path), method: 'POST', body: { data: body, contentType } });
      return [store('dicom-web/studies'), store(`dicom-web/studies/${stow.studyInstanceUid}`)];
    },
  },
  {
    name: 'admin API',
    principals: ['admin-bearer', 'admin-session', 'viewer'],
    shapes: (home, { foreign }) => [
      get('/pacs-admin', 'system'),
      get('/pacs-admin', 'studies', [['expand', 'true'], ['limit', '2']]),
      get('/pacs-admin', `patients/${foreign.orthancPatientId}`),
      get('/pacs-admin', `instances/${home.orthancId}/tags`, [['simplify', 'true']]),
      { ...get('/pacs-admin', 'tools/find'), method: 'POST', body: { data: Buffer.from('{"Level":"Study","Query":{}}'), contentType: 'application/json' } },
      // Allowed by policy and destructive: the recorder keeps it (and every other write) from Orthanc.
      { ...get('/pacs-admin', `patients/${foreign.orthancPatientId}`), method: 'DELETE' },
    ],
  },
  {
    name: 'blocked admin endpoints',
    principals: ['admin-bearer', 'admin-session'],
    mayRefuseAll: true,
    shapes: () => [
      { ...get('/pacs-admin', 'tools/execute-script'), method: 'POST', body: { data: Buffer.from('print(1)'), contentType: 'text/plain' } },
      { ...get('/pacs-admin', 'tools/reset'), method: 'POST' },
      { ...get('/pacs-admin', 'tools/shutdown'), method: 'POST' },
      { ...get('/pacs-admin', 'modalities/sample/echo'), method: 'POST', body: { data: Buffer.from('{}'), contentType: 'application/json' } },
    ],
  },
];

// ---------------------------------------------------------------- the corpus: mutations of shapes

type Mutation = (shape: Shape, foreign: Study) => Shape;
/** A mutation and what it does, for the counterexample. */
type Labelled = [Mutation, string];

const UID_PARAMETER = /uid|0020000[de]|00080018/i;
/** The foreign study's UID of the same level as a UID parameter (or the same value for other names). */
function foreignValue(name: string, value: string, foreign: Study): string {
  if (!UID_PARAMETER.test(name)) return value;
  if (/series|0020000e/i.test(name)) return foreign.seriesUid;
  if (/sop|object|00080018/i.test(name)) return foreign.instanceUid;
  return foreign.studyUid;
}

const percentEncodeChar = (char: string) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
/** Percent-encodes the character at `index` of `text`, once or twice (`%2541`). */
function encodeAt(text: string, index: number, twice: boolean): string {
  if (text.length === 0) return text;
  const at = index % text.length;
  const once = percentEncodeChar(text[at]!);
  return text.slice(0, at) + (twice ? `%25${once.slice(1)}` : once) + text.slice(at + 1);
}
const recase = (text: string, how: number) => [text.toLowerCase(), text.toUpperCase(), text.charAt(0).toUpperCase() + text.slice(1), text.charAt(0).toLowerCase() + text.slice(1)][how % 4]!;
const withParams = (shape: Shape, params: Shape['params']): Shape => ({ ...shape, params });
const pick = <T>(items: T[], index: number): T | undefined => (items.length === 0 ? undefined : items[index % items.length]);

const METHOD_NAMES = ['_method', '_METHOD', '_Method', '%5Fmethod', '%5fmethod', '%255Fmethod', '_method%20', 'x-http-method-override'];
const METHOD_VALUES = ['DELETE', 'delete', 'PUT', 'Put', 'GET', 'PATCH', 'POST', ''];
const OVERRIDE_HEADERS = ['X-HTTP-Method-Override', 'x-http-method-override', 'X-HTTP-Method', 'X-Method-Override', 'X-HTTP-METHOD-OVERRIDE'];

const parameterMutation: fc.Arbitrary<Labelled> = fc.oneof(
  // A parameter given again: a foreign value last or first, an empty value, or the same value.
  fc.tuple(fc.nat(), fc.constantFrom('foreign-last', 'foreign-first', 'empty-last', 'empty-first', 'same')).map(
    ([index, how]): Labelled => [
      (shape, foreign) => {
        const original = pick(shape.params, index);
        if (!original) return shape;
        const value = how.startsWith('foreign') ? foreignValue(original.name, original.value, foreign) : how.startsWith('empty') ? '' : original.value;
        const copy = param(original.name, value);
        return withParams(shape, how.endsWith('first') ? [copy, ...shape.params] : [...shape.params, copy]);
      },
      `parameter #${index} repeated (${how})`,
    ],
  ),
  // A parameter's name in another case, or a second copy in another case carrying a foreign value.
  fc.tuple(fc.nat(), fc.nat(3), fc.boolean()).map(
    ([index, how, duplicate]): Labelled => [
      (shape, foreign) => {
        const original = pick(shape.params, index);
        if (!original) return shape;
        const renamed = param(recase(original.name, how), duplicate ? foreignValue(original.name, original.value, foreign) : original.value);
        return withParams(shape, duplicate ? [...shape.params, renamed] : shape.params.map((p) => (p === original ? renamed : p)));
      },
      `parameter #${index} re-cased${duplicate ? ' as a foreign copy' : ''}`,
    ],
  ),
  // Percent-encoding of a name or a value, single or double, in place or as an added foreign copy.
  fc.tuple(fc.nat(), fc.nat(), fc.boolean(), fc.constantFrom('name', 'value', 'name-copy')).map(
    ([index, at, twice, where]): Labelled => [
      (shape, foreign) => {
        const original = pick(shape.params, index);
        if (!original) return shape;
        if (where === 'name-copy') return withParams(shape, [...shape.params, param(encodeAt(original.name, at, twice), foreignValue(original.name, original.value, foreign))]);
        const changed = where === 'name' ? { ...original, name: encodeAt(original.name, at, twice) } : { ...original, value: encodeAt(original.value, at, twice) };
        return withParams(shape, shape.params.map((p) => (p === original ? changed : p)));
      },
      `parameter #${index} ${where} percent-encoded${twice ? ' twice' : ''}`,
    ],
  ),
  // `;` instead of `&` before a foreign copy of a parameter.
  fc.nat().map(
    (index): Labelled => [
      (shape, foreign) => {
        const original = pick(shape.params, index);
        if (!original) return shape;
        return withParams(shape, [...shape.params, { ...param(original.name, foreignValue(original.name, original.value, foreign)), separator: ';' }]);
      },
      `parameter #${index} repeated after ';'`,
    ],
  ),
);

/** The other spellings Orthanc's QIDO matcher accepts for a UID attribute (keyword, tag, `gggg,eeee`, lower-case hex). */
const UID_SPELLINGS = [
  ['StudyInstanceUID', '0020000D', '0020,000D', '0020000d'],
  ['SeriesInstanceUID', '0020000E', '0020,000E', '0020000e'],
  ['SOPInstanceUID', '00080018', '0008,0018', '00080018'],
];
const aliasSpelling: fc.Arbitrary<Labelled> = fc.tuple(fc.nat(), fc.nat(3), fc.boolean()).map(([index, spelling, foreignCopy]): Labelled => [
  (shape, foreign) => {
    const original = pick(shape.params, index);
    const spellings = original && UID_SPELLINGS.find((names) => names.includes(original.name));
    if (!original || !spellings) return shape;
    const alias = param(spellings[spelling]!, foreignCopy ? foreignValue(original.name, original.value, foreign) : original.value);
    return withParams(shape, foreignCopy ? [...shape.params, alias] : shape.params.map((p) => (p === original ? alias : p)));
  },
  `parameter #${index} spelled as Orthanc's alias ${spelling}${foreignCopy ? ', a foreign copy' : ''}`,
]);

/** A separator hidden in an escaped value: `x%26StudyInstanceUID%3D<foreign>` must stay one value on its way to Orthanc. */
const separatorInValue: fc.Arbitrary<Labelled> = fc.tuple(fc.nat(), fc.constantFrom('%26', '%3B', '%26%26', '&amp;')).map(([index, separator]): Labelled => [
  (shape, foreign) => {
    const target = pick(shape.params.filter((p) => UID_PARAMETER.test(p.name)), index);
    if (!target) return shape;
    const hidden = `${separator}${target.name}%3D${foreignValue(target.name, target.value, foreign)}`;
    return withParams(shape, [...shape.params.filter((p) => p !== target), param(target.name, `${target.value}${hidden}`)]);
  },
  `UID parameter #${index} with ${separator}<name>=<foreign> in its value`,
]);

/** Every UID parameter again with the foreign study's value (after or before), or emptied with a foreign object. */
const uidSwap: fc.Arbitrary<Labelled> = fc.constantFrom('foreign-last', 'foreign-first', 'empty-checks').map((how): Labelled => [
  (shape, foreign) => {
    const uids = shape.params.filter((p) => UID_PARAMETER.test(p.name));
    if (how === 'empty-checks') {
      const swapped = uids.map((p) => param(p.name, /object|sop|00080018/i.test(p.name) ? foreignValue(p.name, p.value, foreign) : ''));
      return withParams(shape, [...shape.params, ...swapped]);
    }
    const copies = uids.map((p) => param(p.name, foreignValue(p.name, p.value, foreign)));
    return withParams(shape, how === 'foreign-last' ? [...shape.params, ...copies] : [...copies, ...shape.params]);
  },
  `every UID parameter repeated (${how})`,
]);

/** `_method` in every spelling (the exact one most often), as a parameter, inside a value, or after a `;`. */
const methodParameter: fc.Arbitrary<Labelled> = fc
  .tuple(
    fc.oneof({ arbitrary: fc.constant('_method'), weight: 3 }, fc.constantFrom(...METHOD_NAMES)),
    fc.oneof({ arbitrary: fc.constantFrom('DELETE', 'PUT', 'delete'), weight: 3 }, fc.constantFrom(...METHOD_VALUES)),
    fc.oneof({ arbitrary: fc.constantFrom('last', 'first'), weight: 3 }, fc.constantFrom('in-value', 'after-semicolon')),
  )
  .map(([name, value, where]): Labelled => [
    (shape) => {
      const trick = param(name, value);
      if (where === 'first') return withParams(shape, [trick, ...shape.params]);
      if (where === 'in-value') return withParams(shape, [...shape.params, param('x', `${name}=${value}`)]);
      if (where === 'after-semicolon') return withParams(shape, [...shape.params, { ...trick, separator: ';' }]);
      return withParams(shape, [...shape.params, trick]);
    },
    `${name}=${value} (${where})`,
  ]);

const headerMutation: fc.Arbitrary<Labelled> = fc
  .tuple(fc.constantFrom(...OVERRIDE_HEADERS), fc.constantFrom('DELETE', 'PUT', 'GET', 'POST', 'delete'))
  .map(([name, value]): Labelled => [(shape) => ({ ...shape, headers: { ...shape.headers, [name]: value } }), `header ${name}: ${value}`]);

const methodMutation: fc.Arbitrary<Labelled> = fc
  .constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE')
  .map((method): Labelled => [(shape) => ({ ...shape, method }), `method ${method}`]);

/** Path tricks, applied to the serialized path (prefix included). */
type PathTrick = (path: string, at: number) => string;
const segmentsOf = (path: string) => path.split('/');
const atSlash = (path: string, at: number, replacement: string) => {
  const slashes = [...path.matchAll(/\//g)].map((match) => match.index).filter((index) => index > 0);
  const index = pick(slashes, at);
  return index === undefined ? path : path.slice(0, index) + replacement + path.slice(index + 1);
};
const PATH_TRICKS: Record<string, PathTrick> = {
  'dot segment': (path, at) => atSlash(path, at, '/./'),
  'dot-dot segment': (path, at) => atSlash(path, at, '/x/../'),
  'encoded slash': (path, at) => atSlash(path, at, '%2F'),
  'encoded dot segment': (path, at) => atSlash(path, at, '/%2e/'),
  'encoded dot-dot': (path, at) => atSlash(path, at, '/x/%2e%2e/'),
  'double slash': (path, at) => atSlash(path, at, '//'),
  backslash: (path, at) => atSlash(path, at, '\\'),
  'upper-case prefix': (path) => path.replace(/^\/pacs(-admin)?/, (prefix) => prefix.toUpperCase()),
  'upper-case segment': (path, at) => segmentsOf(path).map((segment, index) => (index === 2 + (at % 2) ? segment.toUpperCase() : segment)).join('/'),
  'trailing slash': (path) => `${path}/`,
  'encoded query in the path': (path) => `${path}%3F_method%3DDELETE`,
  'encoded fragment in the path': (path) => `${path}%23x`,
  'encoded NUL': (path) => `${path}%00.json`,
  'encoded letter': (path, at) => {
    const letters = [...path.matchAll(/[a-z]/g)].map((match) => match.index);
    const index = pick(letters, at);
    return index === undefined ? path : path.slice(0, index) + percentEncodeChar(path[index]!) + path.slice(index + 1);
  },
  'double-encoded letter': (path, at) => {
    const letters = [...path.matchAll(/[a-z]/g)].map((match) => match.index);
    const index = pick(letters, at);
    return index === undefined ? path : path.slice(0, index) + `%25${percentEncodeChar(path[index]!).slice(1)}` + path.slice(index + 1);
  },
};

interface Variant {
  principal: PrincipalName;
  shapeIndex: number;
  mutations: Mutation[];
  pathTrick?: [string, number];
  /** How the variant was made, for the counterexample. */
  description: string[];
}

function variants(row: RouteClassRow): fc.Arbitrary<Variant> {
  const oneMutation: fc.Arbitrary<Labelled> = fc.oneof(
    { arbitrary: parameterMutation, weight: 6 },
    { arbitrary: uidSwap, weight: 2 },
    { arbitrary: aliasSpelling, weight: 1 },
    { arbitrary: separatorInValue, weight: 1 },
    { arbitrary: methodParameter, weight: 3 },
    { arbitrary: headerMutation, weight: 2 },
    { arbitrary: methodMutation, weight: 1 },
  );
  return fc
    .record({
      principal: fc.constantFrom(...row.principals),
      shapeIndex: fc.nat(),
      mutations: fc.array(oneMutation, { maxLength: 3 }),
      pathTrick: fc.option(fc.tuple(fc.constantFrom(...Object.keys(PATH_TRICKS)), fc.nat()), { freq: 3 }),
    })
    .map(({ principal, shapeIndex, mutations, pathTrick }) => {
      const description = [...mutations.map(([, label]) => label), ...(pathTrick ? [`path: ${pathTrick[0]}`] : [])];
      return {
        principal,
        shapeIndex,
        mutations: mutations.map(([mutation]) => mutation),
        ...(pathTrick ? { pathTrick } : {}),
        description,
        // How fast-check prints the counterexample.
        [fc.toStringMethod]: () => `${principal}, shape #${shapeIndex}: ${description.join('; ') || 'unmutated'}`,
      };
    });
}

// ---------------------------------------------------------------- the stack

let stack: SessionStack;
let recorder: RecordingProxy;
let claimsGateway: TestGateway;
let fixtures: Fixtures;
let catalogue: Catalogue;
const tokens: Partial<Record<'viewer' | 'admin' | 'viewer-a', string>> = {};
const cookies: Partial<Record<'admin' | 'share', string>> = {};

const bearer = (user: keyof typeof tokens) => () => ({ authorization: `Bearer ${tokens[user]}` });
const session = (which: keyof typeof cookies) => () => ({ cookie: `gw-session=${cookies[which]}`, origin: stack.publicUrl });
const PRINCIPALS: Record<PrincipalName, Principal> = {
  viewer: { name: 'viewer', gateway: () => stack.gateways[0]!, headers: bearer('viewer') },
  'admin-bearer': { name: 'admin-bearer', gateway: () => stack.gateways[0]!, headers: bearer('admin') },
  'admin-session': { name: 'admin-session', gateway: () => stack.gateways[0]!, headers: session('admin') },
  'claims-restricted': { name: 'claims-restricted', gateway: () => claimsGateway, headers: bearer('viewer-a'), onlyStudy: () => fixtures.restrictedHome },
  'share-session': { name: 'share-session', gateway: () => stack.gateways[0]!, headers: session('share'), onlyStudy: () => fixtures.shared },
};

/**
 * Keeps every proxied write except STOW-RS and /tools/find from Orthanc, whatever the gateway let
 * through: the fixtures survive any corpus (the gateway's own study lookups pass).
 */
function refuseWrites(record: RecordedRequest): string | undefined {
  if (record.headers['forwarded'] === undefined) return undefined;
  const { method, path } = readAsOrthanc(record, catalogue ?? { byInstanceUid: () => undefined, byOrthancId: () => undefined });
  if (method === 'GET' || method === 'HEAD' || method === 'INVALID') return undefined;
  if (method === 'POST' && (/^\/dicom-web\/studies(\/[^/]+)?\/?$/.test(path) || path === '/tools/find')) return undefined;
  return `${method} ${path} would change Orthanc`;
}

async function seed(institutionName: string, patientId: string): Promise<Study> {
  const series = makeSeries({ modality: 'CT', patientName: 'Differential^Test', patientId, institutionName, instances: 1, rows: 16, columns: 16 });
  const [uploaded] = await uploadInstances(stack.orthanc, series.files);
  return {
    studyUid: series.studyInstanceUid,
    seriesUid: series.seriesInstanceUid,
    instanceUid: series.sopInstanceUids[0]!,
    orthancId: uploaded!.ID,
    patientId,
    orthancPatientId: uploaded!.ParentPatient,
  };
}

function catalogueOf(studies: Study[], stow: GeneratedSeries): Catalogue {
  return {
    byInstanceUid: (uid) => {
      const study = studies.find((s) => s.instanceUid === uid);
      if (study) return { studyUid: study.studyUid, seriesUid: study.seriesUid };
      return stow.sopInstanceUids.includes(uid) ? { studyUid: stow.studyInstanceUid, seriesUid: stow.seriesInstanceUid } : undefined;
    },
    byOrthancId: (id) => {
      const study = studies.find((s) => s.orthancId === id);
      return study && { studyUid: study.studyUid, seriesUid: study.seriesUid, instanceUid: study.instanceUid };
    },
  };
}

const signedInCookie = (username: string) => signedInBrowser(stack.publicUrl, username);

async function shareSessionCookie(admin: Browser, studyUid: string): Promise<string> {
  const created = await admin.request(`${stack.publicUrl}/auth/share`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: stack.publicUrl, accept: 'application/json' },
    body: JSON.stringify({ studyInstanceUID: studyUid, expiresInSeconds: 3600 }),
  });
  if (created.status !== 201) throw new Error(`creating the share link answered ${created.status}`);
  const recipient = new Browser();
  await recipient.request(((await created.json()) as { url: string }).url);
  const cookie = recipient.cookie('gw-session');
  if (!cookie) throw new Error('the share link opened no session');
  return cookie;
}

beforeAll(async () => {
  stack = await startSessionStack({
    // The Bearer tokens are fetched once: they must outlive the corpus on a slow machine (the realm's 5 minutes may not).
    accessTokenLifespan: 3600,
    env: NO_RATE_LIMITS,
    orthancFront: async (orthancUrl) => (recorder = await startRecordingProxy(orthancUrl, { refuse: refuseWrites })),
  });
  claimsGateway = await startTestGateway(
    {
      OIDC_ISSUER: stack.idp.issuer,
      OIDC_CLIENT_SECRET: stack.idp.realm.clients.find((client) => client.clientId === 'orthanc-gateway')?.secret,
      ORTHANC_URL: recorder.url,
      ORTHANC_USERNAME: stack.orthanc.username,
      ORTHANC_PASSWORD: stack.orthanc.password,
      STUDY_ACCESS_CLAIM: 'groups',
      LOG_LEVEL: 'info',
      ...NO_RATE_LIMITS,
    },
    { logDestination: stack.logs },
  );
  const restrictedHome = await seed('Hospital A', 'DIFF-A');
  const shared = await seed('Hospital B', 'DIFF-S');
  const foreign = await seed('Hospital B', 'DIFF-F');
  const stow = makeSeries({ modality: 'MR', patientName: 'Stow^Variant', patientId: 'DIFF-STOW', instances: 1, rows: 8, columns: 8 });
  fixtures = { restrictedHome, shared, foreign, stow };
  catalogue = catalogueOf([restrictedHome, shared, foreign], stow);
  for (const user of ['viewer', 'admin', 'viewer-a'] as const) tokens[user] = (await gatewayClientTokens(stack, user)).access_token;
  const admin = await signedInCookie('admin');
  cookies.admin = admin.cookie('gw-session');
  cookies.share = await shareSessionCookie(admin, shared.studyUid);
}, 120_000);

afterAll(async () => {
  await claimsGateway?.close(1000);
  await stack?.stop();
  await recorder?.stop(); // stopped with the stack, unless the stack failed to start
});

// ---------------------------------------------------------------- one probe and its verdict

interface Probe {
  principal: PrincipalName;
  method: string;
  target: string;
  headers: Record<string, string>;
  body?: Buffer;
}

function serialize(shape: Shape, pathTrick: Variant['pathTrick']): Pick<Probe, 'method' | 'target' | 'headers' | 'body'> {
  let path = `${shape.prefix}/${shape.segments.join('/')}`;
  if (pathTrick) path = PATH_TRICKS[pathTrick[0]]!(path, pathTrick[1]);
  const query = shape.params.map((p, index) => `${index === 0 ? '' : p.separator}${p.name}=${p.value}`).join('');
  const withBody = shape.body && shape.method !== 'GET' && shape.method !== 'HEAD';
  return {
    method: shape.method,
    target: query ? `${path}?${query}` : path,
    headers: { ...shape.headers, ...(withBody ? { 'content-type': shape.body!.contentType } : {}) },
    ...(withBody ? { body: shape.body!.data } : {}),
  };
}

function probeOf(row: RouteClassRow, variant: Variant): Probe {
  const principal = PRINCIPALS[variant.principal];
  const home = principal.onlyStudy?.() ?? (variant.shapeIndex % 2 === 0 ? fixtures.restrictedHome : fixtures.shared);
  const shapes = row.shapes(home, fixtures);
  let shape = shapes[variant.shapeIndex % shapes.length]!;
  for (const mutation of variant.mutations) shape = mutation(shape, fixtures.foreign);
  return { principal: variant.principal, ...serialize(shape, variant.pathTrick) };
}

type AuditLine = Record<string, unknown> & { event: string; method: string; path: string; routeClass?: string; status: number; studyUid?: string; seriesUid?: string; instanceUid?: string };

async function auditLine(requestId: string | undefined): Promise<AuditLine | undefined> {
  if (!requestId) return undefined;
  for (let attempt = 0; attempt < 100; attempt++) {
    const line = stack.logs.lines.find((entry) => entry['log'] === 'audit' && entry['requestId'] === requestId);
    if (line) return line as AuditLine;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return undefined;
}

/** Requests the gateway's proxy sent (they carry Forwarded); the gateway's own study lookups do not. */
const proxied = (records: RecordedRequest[]) => records.filter((record) => record.headers['forwarded'] !== undefined);

const UID_KEYS = ['studyUid', 'seriesUid', 'instanceUid'] as const;

/** Every way the request Orthanc executed differs from what policy decided on (empty: none). */
function differences(audit: AuditLine | undefined, reading: OrthancReading, principal: Principal, searched: boolean): string[] {
  if (!audit) return ['a request reached Orthanc without an audit line'];
  const found: string[] = [];
  if (audit.event !== 'access') found.push(`the audit line says "${audit.event}" but the request reached Orthanc`);
  if (reading.method !== audit.method) found.push(`policy decided on ${audit.method}, Orthanc executes ${reading.method}`);
  const prefix = audit.path.startsWith('/pacs-admin/') ? '/pacs-admin' : '/pacs';
  const orthancClass = orthancRouteClass(reading, prefix);
  if (orthancClass !== audit.routeClass) found.push(`policy decided on route class ${audit.routeClass}, Orthanc executes ${orthancClass} (${reading.method} ${reading.path})`);
  const only = principal.onlyStudy?.();
  if (only && reading.studyUid !== undefined && reading.studyUid !== only.studyUid && !(principal.name === 'claims-restricted' && searched)) {
    found.push(`a principal restricted to study ${only.studyUid} reached study ${reading.studyUid}`);
  }
  // Another method or route class already says it all: which UIDs a DELETE /wado names is beside the
  // point. And Orthanc 1.10 runs no handler for HEAD (see orthanc-reading.ts): it acts on no UID.
  if (found.length > 0 || reading.method === 'HEAD') return found;
  for (const key of UID_KEYS) {
    const decided = audit[key];
    // Every UID the decision names is the one Orthanc acts on; every UID the request names (as
    // Orthanc reads it) is in the decision — except the study filter a share link's search gets from the gateway.
    const addedByGateway = searched && key === 'studyUid' && reading.named[key] === only?.studyUid && principal.name === 'share-session';
    if (decided !== undefined && decided !== reading[key]) found.push(`policy decided on ${key} ${decided}, Orthanc acts on ${reading[key] ?? '(none)'}`);
    if (decided === undefined && reading.named[key] !== undefined && !addedByGateway) found.push(`policy decided on no ${key}, Orthanc acts on ${reading.named[key]}`);
  }
  return found;
}

/** UIDs of studies a restricted principal may not see, found in an answer it got. */
function foreignUidsIn(body: string, principal: Principal): string[] {
  const only = principal.onlyStudy?.();
  if (!only) return [];
  const others = [fixtures.restrictedHome, fixtures.shared, fixtures.foreign].filter((study) => study.studyUid !== only.studyUid);
  return others.flatMap((study) => [study.studyUid, study.seriesUid, study.instanceUid]).filter((uid) => body.includes(uid));
}

async function send(probe: Probe): Promise<RawResponse> {
  const principal = PRINCIPALS[probe.principal];
  return rawRequest(principal.gateway().url, probe.target, {
    method: probe.method,
    headers: { ...principal.headers(), ...probe.headers, ...(probe.body ? { 'content-length': String(probe.body.length) } : {}) },
    ...(probe.body ? { body: probe.body } : {}),
  });
}

/** The gateway's warnings and errors about this request, for the report. */
const gatewayComplaints = (requestId: string | undefined) =>
  stack.logs.lines.filter((line) => line['requestId'] === requestId && Number(line['level']) >= 40).map((line) => `gateway log: ${JSON.stringify(line)}`);

/**
 * Sends one probe (alone: records are matched to it by time) and throws a readable report of every
 * difference; else tells whether the probe reached Orthanc.
 */
async function check(probe: Probe, description: string[]): Promise<'forwarded' | 'refused'> {
  recorder.clear();
  const response = await send(probe).catch((error: Error) => {
    // No answer at all (the gateway dropped the connection): say what reached Orthanc and what the gateway logged last.
    const received = recorder.records().map((record) => `${record.method} ${record.target}`);
    const logged = stack.logs.lines.slice(-5).map((line) => JSON.stringify(line));
    throw new Error([`${probe.method} ${probe.target} (${probe.principal}): ${error.message}`, ...logged, `Orthanc received: ${received.join(', ') || 'nothing'}`].join('\n'));
  });
  const requestId = response.headers['x-request-id'] as string | undefined;
  const records = proxied(recorder.records());
  // Only a request that reached Orthanc needs its audit line (one refused before routing has none: no waiting for it).
  const audit = records.length > 0 ? await auditLine(requestId) : undefined;
  const principal = PRINCIPALS[probe.principal];
  const problems: string[] = [];
  const readings = records.map((record) => readAsOrthanc(record, catalogue));
  if (records.length === 0) {
    if (response.status < 400) problems.push(`answered ${response.status} although nothing reached Orthanc`);
  } else {
    for (const reading of readings) {
      const searched = /\/(studies|series|instances)\/?$/.test(reading.path) && reading.path.startsWith('/dicom-web/');
      problems.push(...differences(audit, reading, principal, searched));
    }
  }
  const leaked = response.status < 400 ? foreignUidsIn(response.body, principal) : [];
  if (leaked.length > 0) problems.push(`the answer to a restricted principal holds another study's UIDs: ${leaked.join(', ')}`);
  if (problems.length === 0) return records.length > 0 ? 'forwarded' : 'refused';
  throw new Error(
    [
      `${problems.length} difference(s):`,
      ...problems.map((problem) => `  - ${problem}`),
      `request (${probe.principal}; ${description.join(', ') || 'unmutated'}): ${probe.method} ${probe.target}${Object.keys(probe.headers).length ? ` ${JSON.stringify(probe.headers)}` : ''}`,
      `gateway answered: ${response.status}`,
      `audit decision: ${audit ? JSON.stringify({ event: audit.event, method: audit.method, path: audit.path, routeClass: audit.routeClass, status: audit.status, studyUid: audit.studyUid, seriesUid: audit.seriesUid, instanceUid: audit.instanceUid }) : '(no audit line)'}`,
      ...records.map((record, index) => `Orthanc received: ${record.method} ${record.target}${record.refused ? ` (kept from Orthanc: ${record.refused})` : ''}\n  read as: ${JSON.stringify({ ...readings[index], arguments: undefined })}`),
      records.length === 0 ? 'Orthanc received: nothing' : '',
      ...gatewayComplaints(requestId),
    ].join('\n'),
  );
}

describe('differential: the gateway decides on exactly the request Orthanc executes', () => {
  it('sees the fixtures through every principal unmutated (the harness itself works)', async () => {
    for (const row of ROUTE_CLASSES) {
      for (const principal of row.principals) {
        const variant: Variant = { principal, shapeIndex: 0, mutations: [], description: [] };
        await check(probeOf(row, variant), ['unmutated']);
      }
    }
    // A plain legitimate read reached Orthanc and was answered: the recorder sees the gateway's requests.
    recorder.clear();
    const response = await send(probeOf(ROUTE_CLASSES[1]!, { principal: 'viewer', shapeIndex: 1, mutations: [], description: [] }));
    expect(response.status).toBe(200);
    expect(proxied(recorder.records())).toHaveLength(1);
  }, 60_000);

  it.each(ROUTE_CLASSES.map((row) => [row.name, row] as const))('%s: generated variants', async (_name, row) => {
    const outcomes = { forwarded: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(variants(row), async (variant: Variant) => {
        outcomes[await check(probeOf(row, variant), variant.description)] += 1;
      }),
      { seed: SEED, numRuns: RUNS_PER_CLASS, endOnFailure: false },
    );
    // The corpus exercised both verdicts: variants the gateway let through, and variants it refused.
    expect(outcomes.refused).toBeGreaterThan(0);
    if (!row.mayRefuseAll) expect(outcomes.forwarded).toBeGreaterThan(0);
  }, 600_000);
});
