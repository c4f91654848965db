/**
 * Keycloak's optional client scopes in the dev IdP: the ones `npm run keycloak -- setup` would put
 * into a realm (src/keycloak-setup/wanted-state.ts), so a dev IdP started with them issues the
 * tokens Keycloak issues after that setup.
 */
import type { WantedClientScope } from '../keycloak-setup/wanted-state.js';
import type { AttributeClaimMapper, DevClientScope, DevRealm, DevUser } from './realm.js';

const on = (config: Record<string, string> | undefined, key: string) => config?.[key] === 'true';

function toDevScope(scope: WantedClientScope): DevClientScope {
  const where = `client scope ${scope.representation.name}`;
  const attributeClaims = scope.mappers.map((mapper): AttributeClaimMapper => {
    if (mapper.protocolMapper !== 'oidc-usermodel-attribute-mapper') throw new Error(`${where}: the dev IdP maps user attributes only, not ${mapper.protocolMapper}`);
    const config = mapper.config as Record<string, string> | undefined;
    if (!on(config, 'access.token.claim') || on(config, 'id.token.claim') || on(config, 'userinfo.token.claim')) {
      throw new Error(`${where}: the dev IdP puts attributes into access tokens only`);
    }
    return { attribute: config!['user.attribute']!, claim: config!['claim.name']!, multivalued: on(config, 'multivalued') };
  });
  return {
    name: scope.representation.name,
    inTokenScope: scope.representation.attributes?.['include.in.token.scope'] !== 'false',
    attributeClaims,
    optionalOn: scope.optionalOn,
  };
}

/** The realm with these client scopes added (every client named must exist). */
export function withClientScopes(realm: DevRealm, scopes: WantedClientScope[]): DevRealm {
  for (const scope of scopes) {
    const unknown = scope.optionalOn.filter((clientId) => !realm.clients.some((client) => client.clientId === clientId));
    if (unknown.length > 0) throw new Error(`client scope ${scope.representation.name}: no client ${unknown.join(', ')} in the realm`);
  }
  return { ...realm, clientScopes: [...realm.clientScopes, ...scopes.map(toDevScope)] };
}

/** Names of the optional scopes of a client, which an app may add to its `scope` request. */
export function optionalScopesOf(realm: DevRealm, clientId: string): string[] {
  return realm.clientScopes.filter((scope) => scope.optionalOn.includes(clientId)).map((scope) => scope.name);
}

/** Keycloak nests a claim name on dots. */
function nested(claim: string, value: unknown): Record<string, unknown> {
  return claim.split('.').reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

/**
 * The claims the granted optional scopes' attribute mappers add (`granted`: the token's scope). Like
 * Keycloak, a user without the attribute gets no claim, and a single-valued mapper takes the first value.
 */
export function grantedScopeClaims(realm: DevRealm, clientId: string, granted: string, user: DevUser): Record<string, unknown> {
  const names = new Set(granted.split(' '));
  const mappers = realm.clientScopes
    .filter((scope) => scope.optionalOn.includes(clientId) && names.has(scope.name))
    .flatMap((scope) => scope.attributeClaims);
  return Object.assign({}, ...mappers.map(({ attribute, claim, multivalued }) => {
    const values = user.attributes[attribute] ?? [];
    if (values.length === 0) return {};
    return nested(claim, multivalued ? [...values] : values[0]);
  })) as Record<string, unknown>;
}
