import { createHash } from 'node:crypto';

/** The `prev` of a chain's first record. */
export const GENESIS = '0'.repeat(64);

/** The link to a record: SHA-256 of its line exactly as written (without the newline). */
export function lineHash(line: string): string {
  return createHash('sha256').update(line, 'utf8').digest('hex');
}
