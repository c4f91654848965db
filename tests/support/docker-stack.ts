/**
 * Reads the docker stack's files the way `docker compose` and the orthancteam/orthanc image do, so
 * tests can check them without a Docker engine (none runs on the CI machines). Not part of the
 * gateway image: test tooling.
 *
 * Covered: the compose interpolation forms used here (`$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `$$` for a literal dollar), `.env` files
 * (KEY=VALUE, `#` comments, optional quotes), `environment:` as a map or a list, and JSON with
 * C++-style comments (Orthanc's configuration format).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DOCKER_DIR = resolve(REPO_ROOT, 'docker');
export const COMPOSE_FILE = join(DOCKER_DIR, 'docker-compose.yml');
export const ENV_EXAMPLE_FILE = join(DOCKER_DIR, '.env.example');
export const ORTHANC_CONFIG_FILE = join(DOCKER_DIR, 'orthanc.json');
export const DOCKERFILE = join(DOCKER_DIR, 'Dockerfile');

export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; args?: Record<string, string> | string[] };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: Array<string | number | { target: number; published?: string | number; host_ip?: string }>;
  expose?: Array<string | number>;
  volumes?: Array<string | { type?: string; source?: string; target: string; read_only?: boolean }>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  networks?: string[] | Record<string, unknown>;
  user?: string;
  [key: string]: unknown;
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, { internal?: boolean } | null>;
}

/** One `${…}` (or `$VAR`) reference found in the compose file. */
export interface VariableReference {
  name: string;
  /** `:?` / `?`: compose refuses to start when the variable is unset (or empty, with the colon). */
  required: boolean;
  /** `:-` / `-`: the value used when the variable is unset. */
  defaultValue?: string;
}

const REFERENCE = /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

export class MissingVariableError extends Error {
  override name = 'MissingVariableError';
}

/** Interpolates one string like docker compose; throws MissingVariableError for `${VAR:?msg}`. */
export function interpolate(text: string, env: Readonly<Record<string, string | undefined>>): string {
  return text.replace(REFERENCE, (whole, dollar?: string, braced?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
    if (dollar) return '$';
    const name = braced ?? bare;
    if (!name) return whole;
    const value = env[name];
    const unset = value === undefined || (colon === ':' && value === '');
    if (op === '-') return unset ? (arg ?? '') : value!;
    if (op === '?') {
      if (unset) throw new MissingVariableError(`${name}: ${arg || 'required variable is missing'}`);
      return value!;
    }
    return value ?? '';
  });
}

/** Every variable reference in a string (`$$` escapes are skipped). */
export function referencesIn(text: string): VariableReference[] {
  const found: VariableReference[] = [];
  for (const match of text.matchAll(REFERENCE)) {
    const [, dollar, braced, , op, arg, bare] = match;
    if (dollar) continue;
    const name = (braced ?? bare)!;
    found.push({ name, required: op === '?', ...(op === '-' ? { defaultValue: arg ?? '' } : {}) });
  }
  return found;
}

function mapStrings(value: unknown, fn: (text: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, fn));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, mapStrings(item, fn)]));
  }
  return value;
}

function collectStrings(value: unknown, into: string[] = []): string[] {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) value.forEach((item) => collectStrings(item, into));
  else if (value && typeof value === 'object') Object.values(value).forEach((item) => collectStrings(item, into));
  return into;
}

/** The compose file as written (no interpolation). */
export function readComposeRaw(file = COMPOSE_FILE): ComposeFile {
  return parseYaml(readFileSync(file, 'utf8')) as ComposeFile;
}

/** Every variable reference in the compose file, in file order (duplicates kept). */
export function composeVariableReferences(file = COMPOSE_FILE): VariableReference[] {
  return collectStrings(readComposeRaw(file)).flatMap(referencesIn);
}

/** The compose file after interpolation with `env` (what `docker compose config` would show). */
export function readComposeInterpolated(env: Readonly<Record<string, string | undefined>>, file = COMPOSE_FILE): ComposeFile {
  return mapStrings(readComposeRaw(file), (text) => interpolate(text, env)) as ComposeFile;
}

/** `environment:` of a service as a plain map (list form `KEY=VALUE` included; `KEY` alone is skipped). */
export function serviceEnvironment(service: ComposeService): Record<string, string> {
  const { environment } = service;
  if (!environment) return {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(
      environment.flatMap((entry) => {
        const at = entry.indexOf('=');
        return at < 0 ? [] : [[entry.slice(0, at), entry.slice(at + 1)]];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(environment).flatMap(([key, value]) => (value === null ? [] : [[key, String(value)]])),
  );
}

/** Parses a `.env` file: KEY=VALUE lines, `#` comment lines, optional single or double quotes. */
export function parseDotenv(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new Error(`not a KEY=VALUE line: ${line}`);
    let value = match[2]!;
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2]!;
    else value = value.replace(/\s+#.*$/, '');
    result[match[1]!] = value;
  }
  return result;
}

export function readDotenv(file = ENV_EXAMPLE_FILE): Record<string, string> {
  return parseDotenv(readFileSync(file, 'utf8'));
}

/** Removes `//` and `/* … *\/` comments outside JSON strings (Orthanc's configuration syntax). */
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/**
 * docker/orthanc.json as the orthancteam/orthanc start-up script reads it: environment variables
 * substituted in the raw text first (envsubst), then comments removed, then JSON parsed.
 * Without `env` the `${…}` placeholders stay as written.
 */
export function readOrthancConfig(env?: Readonly<Record<string, string | undefined>>, file = ORTHANC_CONFIG_FILE): Record<string, unknown> {
  const raw = readFileSync(file, 'utf8');
  const text = env ? raw.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => env[name] ?? whole) : raw;
  return JSON.parse(stripJsonComments(text)) as Record<string, unknown>;
}

/** Host port and container port of every `ports:` entry (short or long syntax). */
export function publishedPorts(service: ComposeService): Array<{ hostIp?: string; published: number; target: number }> {
  return (service.ports ?? []).map((entry) => {
    if (typeof entry === 'object') {
      return {
        ...(entry.host_ip ? { hostIp: entry.host_ip } : {}),
        published: Number(entry.published ?? entry.target),
        target: entry.target,
      };
    }
    const parts = String(entry).replace(/\/(tcp|udp)$/, '').split(':');
    const target = Number(parts.pop());
    const published = parts.length ? Number(parts.pop()) : target;
    const hostIp = parts.length ? parts.join(':') : undefined;
    return { ...(hostIp ? { hostIp } : {}), published, target };
  });
}
