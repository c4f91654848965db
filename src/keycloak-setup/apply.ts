import type { AdminClient } from './admin-connection.js';
import { clientDifferences, mergedClient } from './differences.js';
import { ensureClientScope } from './client-scopes.js';
import { ensureMapper, type MapperOwner } from './mappers.js';
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

const clientMapperOwner = (admin: AdminClient, id: string, clientId: string): MapperOwner => ({
  what: `client ${clientId}`,
  add: (mapper) => admin.clients.addProtocolMapper({ id }, mapper),
  update: (mapperId, mapper) => admin.clients.updateProtocolMapper({ id, mapperId }, mapper),
});

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
    for (const mapper of client.mappers) await ensureMapper(clientMapperOwner(admin, id, client.representation.clientId), existing, mapper, changes);
    if (!client.representation.publicClient && (created || revealSecrets)) {
      const { value } = await admin.clients.getClientSecret({ id });
      if (value) secrets[client.representation.clientId] = value;
    }
  }
  for (const scope of wanted.clientScopes) await ensureClientScope(admin, scope, changes);
  return { changes, secrets };
}
