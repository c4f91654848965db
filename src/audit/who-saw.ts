import type { AuditEvent } from '../observability/audit.js';
import { studyUidsOf, type AuditPatient } from './record.js';

/** One line of the chained audit file, as the who-saw question reads it. */
export type AuditFileRecord = AuditEvent & { time: string; patients?: AuditPatient[] };

export interface WhoSawQuery {
  study?: string | undefined;
  patient?: string | undefined;
  /** A token subject or a username. */
  user?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

export class WhoSawQueryError extends Error {}

function time(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const parsed = new Date(value);
  if (value === '' || Number.isNaN(parsed.getTime())) throw new WhoSawQueryError(`${name} must be an ISO 8601 time (e.g. 2025-01-31 or 2025-01-31T12:00:00Z)`);
  return parsed;
}

/** The question from its words (command options or route parameters): one subject, an optional time range. */
export function whoSawQuery(input: { study?: string | undefined; patient?: string | undefined; user?: string | undefined; from?: string | undefined; to?: string | undefined }): WhoSawQuery {
  const subjects = [input.study, input.patient, input.user].filter((value) => value !== undefined);
  if (subjects.length !== 1 || subjects[0] === '') throw new WhoSawQueryError('ask about exactly one of study, patient, user');
  return { study: input.study, patient: input.patient, user: input.user, from: time(input.from, 'from'), to: time(input.to, 'to') };
}

/** One answer: who, when, from where, what, and whether it was let through. */
export interface Sighting {
  time: string;
  user: string;
  sub: string;
  clientIp: string;
  outcome: 'access' | 'denied';
  action: string;
  status: number;
  studies: string;
  patients: string;
  path: string;
  requestId: string;
}

/** The record of a line of the audit file, or undefined for anchors and anything else. */
export function parseAuditLine(line: string): AuditFileRecord | undefined {
  try {
    const value = JSON.parse(line) as Partial<AuditFileRecord>;
    return (value.event === 'access' || value.event === 'denied') && typeof value.time === 'string' ? (value as AuditFileRecord) : undefined;
  } catch {
    return undefined;
  }
}

export function matches(record: AuditFileRecord, query: WhoSawQuery): boolean {
  const time = Date.parse(record.time);
  if (query.from && time < query.from.getTime()) return false;
  if (query.to && time > query.to.getTime()) return false;
  if (query.study && !studyUidsOf(record).includes(query.study) && !(record.patients ?? []).some((patient) => patient.studyUid === query.study)) return false;
  if (query.patient && !(record.patients ?? []).some((patient) => patient.id === query.patient)) return false;
  if (query.user && record.user?.sub !== query.user && record.user?.username !== query.user) return false;
  return true;
}

export function sighting(record: AuditFileRecord): Sighting {
  const patients = record.patients ?? [];
  return {
    time: record.time,
    user: record.user?.username ?? '',
    sub: record.user?.sub ?? '',
    clientIp: record.clientIp ?? '',
    outcome: record.event === 'denied' ? 'denied' : 'access',
    action: record.action,
    status: record.status,
    studies: studyUidsOf(record).join(' '),
    patients: patients.map((patient) => (patient.name ? `${patient.id} (${patient.name})` : patient.id)).join(' '),
    path: record.path,
    requestId: record.requestId,
  };
}

/** Accesses and refusals that match the query, oldest first, from the lines of an audit file. */
export async function whoSaw(lines: AsyncIterable<string>, query: WhoSawQuery): Promise<Sighting[]> {
  const found: Sighting[] = [];
  for await (const line of lines) {
    const record = parseAuditLine(line);
    if (record && matches(record, query)) found.push(sighting(record));
  }
  return found;
}

const COLUMNS: Array<keyof Sighting> = ['time', 'user', 'sub', 'clientIp', 'outcome', 'action', 'status', 'studies', 'patients', 'path', 'requestId'];

/** RFC 4180 CSV; a cell a spreadsheet would run as a formula (=, +, -, @) is quoted with a leading '. */
export function toCsv(sightings: Sighting[]): string {
  const cell = (value: string | number) => {
    const text = String(value);
    const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
    return /[",\n\r']/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  return [COLUMNS.join(','), ...sightings.map((row) => COLUMNS.map((column) => cell(row[column])).join(','))].join('\r\n') + '\r\n';
}

/** A plain text table with aligned columns. */
export function toTable(sightings: Sighting[]): string {
  const rows = [COLUMNS.map(String), ...sightings.map((row) => COLUMNS.map((column) => String(row[column]).replace(/[\r\n\t]/g, ' ')))];
  const widths = COLUMNS.map((_, index) => Math.max(...rows.map((row) => row[index]!.length)));
  return rows.map((row) => row.map((value, index) => value.padEnd(widths[index]!)).join('  ').trimEnd()).join('\n') + '\n';
}
