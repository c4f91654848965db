import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Paths that could carry credentials; pino replaces them before anything is written. */
const REDACTED = [
  'authorization',
  'cookie',
  'password',
  'token',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  '*.authorization',
  '*.cookie',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.idToken',
];

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

/** Options shared by the application log and the audit trail. */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: 'orthanc-oidc-gateway' },
    redact: { paths: REDACTED, censor: '[redacted]' },
    serializers: { err: serializeError, error: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(loggerOptions(level), destination);
}
