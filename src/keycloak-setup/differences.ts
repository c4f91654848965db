import type ClientRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js';
import type ClientScopeRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientScopeRepresentation.js';
import type ProtocolMapperRepresentation from '@keycloak/keycloak-admin-client/lib/defs/protocolMapperRepresentation.js';

type Value = unknown;

/** URI lists are sets to Keycloak: order does not matter. */
function sameValue(actual: Value, wanted: Value): boolean {
  if (Array.isArray(wanted)) {
    const have = Array.isArray(actual) ? [...actual].map(String).sort() : [];
    return JSON.stringify(have) === JSON.stringify([...wanted].map(String).sort());
  }
  return actual === wanted;
}

/** Names of the wanted fields (attributes as `attributes.<name>`) whose value differs; other fields are left alone. */
export function clientDifferences<T extends ClientRepresentation | ClientScopeRepresentation>(actual: T, wanted: T): string[] {
  const fields = Object.entries(wanted)
    .filter(([key]) => key !== 'attributes' && key !== 'protocolMappers')
    .filter(([key, value]) => !sameValue(actual[key as keyof T], value))
    .map(([key]) => key);
  const attributes = Object.entries(wanted.attributes ?? {})
    .filter(([key, value]) => !sameValue(actual.attributes?.[key], value))
    .map(([key]) => `attributes.${key}`);
  return [...fields, ...attributes];
}

/** The existing client with the wanted fields and attributes on top (unknown attributes of the site are kept). */
export function mergedClient<T extends ClientRepresentation | ClientScopeRepresentation>(actual: T, wanted: T): T {
  return { ...actual, ...wanted, attributes: { ...actual.attributes, ...wanted.attributes } };
}

/** Config keys of the wanted mapper whose value differs (a different mapper type counts as `protocolMapper`). */
export function mapperDifferences(actual: ProtocolMapperRepresentation, wanted: ProtocolMapperRepresentation): string[] {
  const type = actual.protocolMapper === wanted.protocolMapper ? [] : ['protocolMapper'];
  const config = Object.entries(wanted.config ?? {})
    .filter(([key, value]) => actual.config?.[key] !== value)
    .map(([key]) => `config.${key}`);
  return [...type, ...config];
}

export function mergedMapper(actual: ProtocolMapperRepresentation, wanted: ProtocolMapperRepresentation): ProtocolMapperRepresentation {
  return { ...actual, ...wanted, id: actual.id, config: { ...actual.config, ...wanted.config } };
}
