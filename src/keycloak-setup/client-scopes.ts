import type { AdminClient } from './admin-connection.js';
import type { Change } from './apply.js';
import { clientDifferences, mergedClient } from './differences.js';
import { ensureMapper, type MapperOwner } from './mappers.js';
import type { WantedClientScope } from './wanted-state.js';

/**
 * Keycloak 26 keeps (and maps into tokens) only user attributes its user profile knows: declare the
 * scope's attribute, visible and editable by administrators only, unless the site already has it.
 */
async function ensureUserAttribute(admin: AdminClient, name: string, changes: Change[]): Promise<void> {
  const profile = await admin.users.getProfile();
  if (profile.attributes?.some((attribute) => attribute.name === name)) return;
  const declared = { name, displayName: 'DICOM Patient ID (SMART patient context)', multivalued: true, permissions: { view: ['admin'], edit: ['admin'] } };
  await admin.users.updateProfile({ ...profile, attributes: [...(profile.attributes ?? []), declared] });
  changes.push({ action: 'created', what: `user profile attribute ${name}` });
}

async function ensureScope(admin: AdminClient, wanted: WantedClientScope, changes: Change[]): Promise<string> {
  const { name } = wanted.representation;
  const actual = await admin.clientScopes.findOneByName({ name });
  if (!actual?.id) {
    await admin.clientScopes.create(wanted.representation);
    changes.push({ action: 'created', what: `client scope ${name}` });
    return (await admin.clientScopes.findOneByName({ name }))!.id!;
  }
  const fields = clientDifferences(actual, wanted.representation);
  if (fields.length > 0) {
    await admin.clientScopes.update({ id: actual.id }, mergedClient(actual, wanted.representation));
    changes.push({ action: 'updated', what: `client scope ${name}`, fields });
  }
  return actual.id;
}

/** Optional on the client unless the site made it a default scope there (both let an app get it). */
async function ensureOptionalOn(admin: AdminClient, scopeId: string, scopeName: string, clientId: string, changes: Change[]): Promise<void> {
  const [client] = await admin.clients.find({ clientId });
  if (!client?.id) throw new Error(`client ${clientId} does not exist in the realm: create it first (a SMART app's client is not created by setup)`);
  const id = client.id;
  const bound = [...await admin.clients.listOptionalClientScopes({ id }), ...await admin.clients.listDefaultClientScopes({ id })];
  if (bound.some((scope) => scope.id === scopeId)) return;
  await admin.clients.addOptionalClientScope({ id, clientScopeId: scopeId });
  changes.push({ action: 'created', what: `optional client scope ${scopeName} of client ${clientId}` });
}

/** Brings one client scope (user attribute, scope, mappers, client bindings) to the wanted state. */
export async function ensureClientScope(admin: AdminClient, wanted: WantedClientScope, changes: Change[]): Promise<void> {
  const { name } = wanted.representation;
  if (wanted.userAttribute) await ensureUserAttribute(admin, wanted.userAttribute, changes);
  const id = await ensureScope(admin, wanted, changes);
  const owner: MapperOwner = {
    what: `client scope ${name}`,
    add: (mapper) => admin.clientScopes.addProtocolMapper({ id }, mapper),
    update: (mapperId, mapper) => admin.clientScopes.updateProtocolMapper({ id, mapperId }, mapper),
  };
  const existing = await admin.clientScopes.listProtocolMappers({ id });
  for (const mapper of wanted.mappers) await ensureMapper(owner, existing, mapper, changes);
  for (const clientId of wanted.optionalOn) await ensureOptionalOn(admin, id, name, clientId, changes);
}
