import { pino } from 'pino';
import type { Logger } from './logger.js';

/**
 * Info lines whose properties the caller serialized itself, written the way pino's
 * `logger.info(object, msg)` writes them: level, time, the logger's bindings, the properties, msg.
 * This skips pino's walk over the object (its serializers, redaction stringifiers and log
 * formatter), so a caller may use it only for keys none of those touch; its tests compare its
 * lines with pino's. Used for the lines every request writes (bench/README.md, "Issue 16").
 */

const { lsCacheSym, timeSym, chindingsSym, endSym, streamSym, mixinSym, hooksSym, nestedKeySym, messageKeySym, needsMetadataGsym } = pino.symbols;
/** Missing from pino's types, present in its `symbols`. */
const { msgPrefixSym } = pino.symbols as unknown as { msgPrefixSym: symbol };
const INFO = 30;

type Internals = Record<symbol, unknown>;

/**
 * Whether pino would write nothing but level, time, bindings, properties and `msg` for this logger:
 * no mixin, no stream hook, no nested key, no message prefix, and a destination that does not read
 * the last line's metadata (pino.multistream).
 */
export function writesPlainLines(logger: Logger): boolean {
  const internals = logger as unknown as Internals;
  const stream = internals[streamSym] as Internals;
  return (
    !internals[mixinSym] &&
    !(internals[hooksSym] as { streamWrite?: unknown }).streamWrite &&
    !internals[nestedKeySym] &&
    !internals[msgPrefixSym] &&
    internals[messageKeySym] === 'msg' &&
    stream[needsMetadataGsym] !== true
  );
}

/** Writes `properties` (`,"key":value…`, already JSON) and `msg` (a JSON string) as an info line, if info is enabled. */
export function writeInfoLine(logger: Logger, properties: string, msg: string): void {
  if (!logger.isLevelEnabled('info')) return;
  const internals = logger as unknown as Internals;
  const levelPrefix = (internals[lsCacheSym] as Record<number, string>)[INFO]!;
  const time = (internals[timeSym] as () => string).call(logger);
  const line = `${levelPrefix}${time}${internals[chindingsSym] as string}${properties},"msg":${msg}${internals[endSym] as string}`;
  (internals[streamSym] as { write(line: string): void }).write(line);
}

const PINO_USES_JSON_STRINGIFY = Number(process.versions.node.split('.')[0]) >= 25;

/**
 * A string as pino writes it (its `asString`): JSON.stringify's escaping, except that before Node 25
 * a string of at most 100 characters without control characters keeps lone surrogates as they are.
 */
export function jsonString(text: string): string {
  if (PINO_USES_JSON_STRINGIFY || text.length > 100) return JSON.stringify(text);
  let escaped = '';
  let last = 0;
  let found = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 32) return JSON.stringify(text);
    if (code === 34 || code === 92) {
      escaped += `${text.slice(last, i)}\\`;
      last = i;
      found = true;
    }
  }
  return `"${found ? escaped + text.slice(last) : text}"`;
}
