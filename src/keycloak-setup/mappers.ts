import type ProtocolMapperRepresentation from '@keycloak/keycloak-admin-client/lib/defs/protocolMapperRepresentation.js';
import type { Change } from './apply.js';
import { mapperDifferences, mergedMapper } from './differences.js';

/** Where mappers live: a client or a client scope, with the admin calls for each. */
export interface MapperOwner {
  what: string;
  add(mapper: ProtocolMapperRepresentation): Promise<unknown>;
  update(mapperId: string, mapper: ProtocolMapperRepresentation): Promise<unknown>;
}

export async function ensureMapper(owner: MapperOwner, existing: ProtocolMapperRepresentation[], wanted: ProtocolMapperRepresentation, changes: Change[]): Promise<void> {
  const what = `mapper "${wanted.name}" of ${owner.what}`;
  const actual = existing.find((mapper) => mapper.name === wanted.name);
  if (!actual) {
    await owner.add(wanted);
    changes.push({ action: 'created', what });
    return;
  }
  const fields = mapperDifferences(actual, wanted);
  if (fields.length === 0) return;
  await owner.update(actual.id!, mergedMapper(actual, wanted));
  changes.push({ action: 'updated', what, fields });
}

