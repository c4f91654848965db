import { pino, type Logger, type LoggerOptions } from 'pino';
import { TurnBatchedDestination } from './log-destination.js';

export type { Logger };

const CENSOR = '[redacted]';
/**
 * Credential fields at known places, redacted by pino (also in child bindings): cheap, exact paths.
 */
const REDACTED_PATHS = ['authorization', 'cookie', 'password', 'token', 'headers.authorization', 'headers.cookie', 'headers["set-cookie"]'];
/**
 * Credential fields one level down under any key (`tokens.refreshToken`, `user.password`…): pino's
 * wildcard paths (`*.token`) did this at ~11 µs per line, and every proxied request writes two
 * lines (access log, audit event); redactCredentials does it in well under 1 µs (bench/README.md).
 */
const REDACTED_NESTED = new Set(['authorization', 'cookie', 'password', 'token', 'accessToken', 'refreshToken', 'idToken']);
/** Keys with their own serializer (see serializeError), which keeps only safe fields. */
const SERIALIZED = new Set(['err', 'error']);

/**
 * Replaces credential fields one level down in a log object (a copy; the caller's object is left
 * alone): what pino's `*.authorization`, `*.token`… redact paths did.
 */
export function redactCredentials<T extends Record<string, unknown>>(object: T): T {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(object)) {
    const value = object[key];
    if (value === null || typeof value !== 'object' || Array.isArray(value) || SERIALIZED.has(key)) continue;
    let nested: Record<string, unknown> | undefined;
    for (const inner of Object.keys(value)) if (REDACTED_NESTED.has(inner)) (nested ??= { ...value })[inner] = CENSOR;
    if (nested) (copy ??= { ...object })[key] = nested;
  }
  return (copy ?? object) as T;
}

interface SerializedError {
  type: string;
  message: string;
  code?: string;
  stack?: string;
  cause?: SerializedError;
}

/**
 * Errors are logged as type, message, code and stack only. pino's default serializer copies every
 * enumerable property, and library errors carry request data there (ioredis: the command and its
 * arguments, i.e. session data with tokens; HTTP clients: request and response objects).
 */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error) };
  const { code } = error as { code?: unknown };
  return {
    type: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(error.stack ? { stack: error.stack } : {}),
    ...(error.cause !== undefined && depth < 3 ? { cause: serializeError(error.cause, depth + 1) } : {}),
  };
}

let timeMs = -1;
let timeField = '';
let secondMs = -1;
let secondPrefix = '';
const MILLISECONDS = Array.from({ length: 1000 }, (_, ms) => String(ms).padStart(3, '0'));

/**
 * pino's `isoTime` (`,"time":"<ISO 8601>"`), made once per millisecond from a prefix made once per
 * second: a proxied request writes two lines (access log, audit event) in the same millisecond, and at
 * a few hundred requests per second nearly every request ends in a millisecond of its own.
 */
export function isoTimeOncePerMs(): string {
  const now = Date.now();
  if (now === timeMs) return timeField;
  const ms = now % 1000;
  if (now - ms !== secondMs) {
    secondMs = now - ms;
    secondPrefix = `,"time":"${new Date(secondMs).toISOString().slice(0, -4)}`; // up to and with the seconds' "."
  }
  timeMs = now;
  timeField = `${secondPrefix}${MILLISECONDS[ms]}Z"`;
  return timeField;
}

/** Options shared by the application log and the audit trail. */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: 'orthanc-oidc-gateway' },
    redact: { paths: REDACTED_PATHS, censor: CENSOR },
    formatters: { log: redactCredentials },
    serializers: { err: serializeError, error: serializeError },
    timestamp: isoTimeOncePerMs,
  };
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(loggerOptions(level), destination);
}

/** The production log destination: stdout, one write per event-loop turn (see log-destination.ts). */
export function batchedStdout(): pino.DestinationStream {
  return new TurnBatchedDestination(1);
}
