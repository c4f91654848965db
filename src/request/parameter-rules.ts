import { isQidoSearch } from '../policy/qido-limit.js';
import type { Route } from '../policy/routes.js';
import type { Query } from '../canonical/query.js';

/**
 * Which query parameters each kind of route accepts, and how. A parameter any stage decides on is
 * named here with its exact spelling: it must be given at most once (unless it is a list, like
 * `includefield`), with a valid, non-empty value; a name that differs from it only in case is
 * refused (Orthanc and its plugins compare names exactly, so the two would be read as different
 * parameters). Everything is checked before authentication and policy run.
 */
export type ParameterClass = 'qido-search' | 'qido-search-in-study' | 'qido-search-in-series' | 'dicomweb-retrieve' | 'dicomweb-store' | 'wado-uri' | 'preview' | 'admin';

interface ParameterRule {
  /** A list parameter: may be given more than once. */
  repeatable?: boolean;
  required?: boolean;
  /** What a value must look like (also refuses the empty value where the empty string does not match). */
  value?: RegExp;
  expected?: string;
}

interface ClassRules {
  known: Readonly<Record<string, ParameterRule>>;
  /** Parameters not listed: refused, accepted when plain (the Orthanc REST API's own arguments), or QIDO attribute filters. */
  others: 'refuse' | 'accept' | 'attribute-filter';
  /** Attribute filters (by tag) the path already sets: the path and the query would both name the study or series. */
  setByPath?: readonly string[];
}

const UID = /^(?=.{1,64}$)[0-9]+(\.[0-9]+)*$/;
const WHOLE_NUMBER = /^[0-9]{1,9}$/;
const NOT_EMPTY = /^.+$/s;
const single = (value?: RegExp, expected?: string): ParameterRule => ({ ...(value ? { value } : {}), ...(expected ? { expected } : {}) });
const uidRule: ParameterRule = { required: true, value: UID, expected: 'one DICOM UID' };

/** DICOM attributes a stage reads, by keyword, with the tag Orthanc reads the same filter under. */
export const ATTRIBUTE_KEYWORDS: Readonly<Record<string, string>> = {
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  SOPInstanceUID: '00080018',
  PatientID: '00100020',
  InstitutionName: '00080080',
};

/** QIDO UID filters: a comma list of UIDs, or empty (matches everything). Orthanc's matcher drops backslashes first, so none may hide in one. */
const UID_FILTER = /^((?=[0-9.]{1,64}(,|$))[0-9]+(\.[0-9]+)*(,(?=[0-9.]{1,64}(,|$))[0-9]+(\.[0-9]+)*)*)?$/;
const UID_FILTER_TAGS = new Set(['0020000D', '0020000E', '00080018']);

const KEYWORD = /^[A-Za-z][A-Za-z0-9]*$/;
const TAG = /^[0-9A-Fa-f]{8}$/;

const QIDO_KNOWN: Readonly<Record<string, ParameterRule>> = {
  limit: single(WHOLE_NUMBER, 'a whole number'),
  offset: single(WHOLE_NUMBER, 'a whole number'),
  fuzzymatching: single(/^(true|false)$/, 'true or false'),
  includefield: { repeatable: true, value: NOT_EMPTY, expected: 'not empty' },
};

const RULES: Record<ParameterClass, ClassRules> = {
  // QIDO-RS (Orthanc's DICOMweb plugin reads limit, offset, fuzzymatching and includefield by exact
  // name, the last one wins; every other name is an attribute filter, keyword or tag).
  'qido-search': { known: QIDO_KNOWN, others: 'attribute-filter' },
  // Searches below /studies/{study} (and /series/{series}): the path names the study (and series).
  'qido-search-in-study': { known: QIDO_KNOWN, others: 'attribute-filter', setByPath: ['0020000D'] },
  'qido-search-in-series': { known: QIDO_KNOWN, others: 'attribute-filter', setByPath: ['0020000D', '0020000E'] },
  // WADO-RS retrieve, metadata, rendered and thumbnail resources (PS3.18 8.3.5 / 9.5 query parameters).
  'dicomweb-retrieve': {
    known: Object.fromEntries(['accept', 'charset', 'annotation', 'quality', 'viewport', 'window', 'iccprofile'].map((name) => [name, single()])),
    others: 'refuse',
  },
  'dicomweb-store': { known: {}, others: 'refuse' },
  // WADO-URI (PS3.18 9.2): the plugin finds the instance by objectUID and checks studyUID and
  // seriesUID only when they are not empty, so all three are required, once each.
  'wado-uri': {
    known: {
      requestType: { required: true, value: /^WADO$/, expected: 'WADO' },
      studyUID: uidRule,
      seriesUID: uidRule,
      objectUID: uidRule,
      ...Object.fromEntries(
        ['contentType', 'charset', 'anonymize', 'annotation', 'rows', 'columns', 'region', 'windowCenter', 'windowWidth', 'frameNumber', 'imageQuality', 'presentationUID', 'presentationSeriesUID', 'transferSyntax'].map(
          (name) => [name, single()],
        ),
      ),
    },
    others: 'refuse',
  },
  // Orthanc's /instances/{id}/preview (and frames/{n}/preview).
  preview: { known: { quality: single(WHOLE_NUMBER, 'a whole number'), returnUnsupportedImage: single() }, others: 'refuse' },
  // The Orthanc REST API takes many arguments of its own; none is given twice or under two spellings.
  admin: { known: {}, others: 'accept' },
};

export function parameterClass(route: Pick<Route, 'class' | 'upstreamPath' | 'studyUid' | 'seriesUid'>): ParameterClass {
  switch (route.class) {
    case 'dicomweb-read':
      if (!isQidoSearch(route)) return 'dicomweb-retrieve';
      if (route.seriesUid !== undefined) return 'qido-search-in-series';
      return route.studyUid !== undefined ? 'qido-search-in-study' : 'qido-search';
    case 'admin':
    case 'admin-blocked':
      return 'admin';
    case 'dicomweb-store':
    case 'wado-uri':
    case 'preview':
      return route.class;
  }
}

/** The rule of a listed parameter (own keys only: a name like `constructor` is not listed). */
const ruleOf = (rules: ClassRules, name: string): ParameterRule | undefined => (Object.hasOwn(rules.known, name) ? rules.known[name] : undefined);

/** What Orthanc reads a parameter as: a QIDO filter's tag (keyword or hex, any case), else the name itself. */
function readAs(name: string, rules: ClassRules): string {
  if (rules.others !== 'attribute-filter' || ruleOf(rules, name)) return name;
  if (TAG.test(name)) return name.toUpperCase();
  return ATTRIBUTE_KEYWORDS[name] ?? name;
}

/** Each class's known names (its listed parameters, and for QIDO the attribute keywords) by their lower-case form, made once. */
const KNOWN_SPELLINGS = new Map(
  (Object.entries(RULES) as Array<[ParameterClass, ClassRules]>).map(([className, rules]) => {
    const names = [...Object.keys(rules.known), ...(rules.others === 'attribute-filter' ? Object.keys(ATTRIBUTE_KEYWORDS) : [])];
    return [className, new Map(names.map((name) => [name.toLowerCase(), name]))];
  }),
);

function checkName(name: string, rules: ClassRules, knownSpellings: ReadonlyMap<string, string>): string | undefined {
  const lowerCase = name.toLowerCase();
  if (lowerCase === '_method') return 'the "_method" parameter (a method override) is not accepted';
  const knownSpelling = knownSpellings.get(lowerCase);
  if (knownSpelling !== undefined && knownSpelling !== name) return `query parameter "${name}" must be spelled "${knownSpelling}"`;
  if (knownSpelling !== undefined || rules.others === 'accept') return undefined;
  if (rules.others === 'attribute-filter' && (KEYWORD.test(name) || TAG.test(name))) return undefined;
  return `query parameter "${name}" is not accepted here`;
}

function checkKnown(query: Query, rules: ClassRules): string | undefined {
  for (const [name, rule] of Object.entries(rules.known)) {
    const values = query.filter((parameter) => parameter.name === name).map(({ value }) => value);
    if (rule.required && values.length === 0) return `query parameter "${name}" is required`;
    const invalid = rule.value ? values.find((value) => !rule.value!.test(value)) : undefined;
    if (invalid !== undefined) return `query parameter "${name}" must be ${rule.expected ?? 'valid'}`;
  }
  return undefined;
}

/** Why `query` is refused on this kind of route, or undefined when every stage and Orthanc read it alike. */
export function queryProblem(query: Query, parameterClassName: ParameterClass): string | undefined {
  const rules = RULES[parameterClassName];
  const knownSpellings = KNOWN_SPELLINGS.get(parameterClassName)!;
  const spellings = new Map<string, string>();
  const readNames = new Set<string>();
  for (const { name, value } of query) {
    const problem = checkName(name, rules, knownSpellings);
    if (problem) return problem;
    const other = spellings.get(name.toLowerCase());
    if (other !== undefined && other !== name) return `query parameters "${other}" and "${name}" differ only in case`;
    spellings.set(name.toLowerCase(), name);
    const key = readAs(name, rules);
    if (rules.setByPath?.includes(key)) return `query parameter "${name}" filters on what the path already names`;
    if (UID_FILTER_TAGS.has(key) && !UID_FILTER.test(value)) return `query parameter "${name}" must be DICOM UIDs, separated by commas`;
    if (readNames.has(key) && !ruleOf(rules, name)?.repeatable) return `query parameter "${name}" is given more than once (or under two spellings)`;
    readNames.add(key);
  }
  return checkKnown(query, rules);
}
