import type ProtocolMapperRepresentation from '@keycloak/keycloak-admin-client/lib/defs/protocolMapperRepresentation.js';
import type { AdminClient } from './admin-connection.js';
import { clientDifferences, mapperDifferences, mergedClient, mergedMapper } from './differences.js';
import type { WantedClient, WantedState } from './wanted-state.js';

export interface Change {
  action: 'created' | 'updated';
  /** e.g. `role pacs-viewer`, `client orthanc-gateway`, `mapper "groups" of client orthanc-gateway` */
  what: string;
  /** For updates: the fields that changed. */
  fields?: string[];
}

export interface SetupResult {
  changes: Change[];
  /** Secrets of confidential clients this run created (an existing client's secret only when asked for). */
  secrets: Record<string, string>;
}

async function ensureRole(admin: AdminClient, name: string, changes: Change[]): Promise<void> {
  if (await admin.roles.findOneByName({ name })) return;
  await admin.roles.create({ name, description: 'Access through the Orthanc OIDC gateway (npm run keycloak -- setup)' });
  changes.push({ action: 'created', what: `role ${name}` });
}

async function ensureMapper(admin: AdminClient, id: string, clientId: string, existing: ProtocolMapperRepresentation[], wanted: ProtocolMapperRepresentation, changes: Change[]): Promise<void> {
  const what = `mapper "${wanted.name}" of client ${clientId}`;
  const actual = existing.find((mapper) => mapper.name === wanted.name);
  if (!actual) {
    await admin.clients.addProtocolMapper({ id }, wanted);
    changes.push({ action: 'created', what });
    return;
  }
  const fields = mapperDifferences(actual, wanted);
  if (fields.length === 0) return;
  await admin.clients.updateProtocolMapper({ id, mapperId: actual.id! }, mergedMapper(actual, wanted));
  changes.push({ action: 'updated', what, fields });
}

/** Creates or updates one client; returns its internal id and whether it was created. */
async function ensureClient(admin: AdminClient, wanted: WantedClient, changes: Change[]): Promise<{ id: string; created: boolean }> {
  const { clientId } = wanted.representation;
  const [actual] = await admin.clients.find({ clientId });
  if (!actual?.id) {
    const { id } = await admin.clients.create(wanted.representation);
    changes.push({ action: 'created', what: `client ${clientId}` });
    return { id, created: true };
  }
  const fields = clientDifferences(actual, wanted.representation);
  if (fields.length > 0) {
    await admin.clients.update({ id: actual.id }, mergedClient(actual, wanted.representation));
    changes.push({ action: 'updated', what: `client ${clientId}`, fields });
  }
  return { id: actual.id, created: false };
}

/**
 * Brings the realm (the admin client's realm) to the wanted state, touching only what differs: a
 * second run changes nothing. `revealSecrets` also returns the secret of existing confidential clients.
 */
export async function applySetup(admin: AdminClient, wanted: WantedState, { revealSecrets = false } = {}): Promise<SetupResult> {
  const changes: Change[] = [];
  const secrets: Record<string, string> = {};
  for (const role of wanted.roles) await ensureRole(admin, role, changes);
  for (const client of wanted.clients) {
    const { id, created } = await ensureClient(admin, client, changes);
    const existing = await admin.clients.listProtocolMappers({ id });
    for (const mapper of client.mappers) await ensureMapper(admin, id, client.representation.clientId, existing, mapper, changes);
    if (!client.representation.publicClient && (created || revealSecrets)) {
      const { value } = await admin.clients.getClientSecret({ id });
      if (value) secrets[client.representation.clientId] = value;
    }
  }
  return { changes, secrets };
}
