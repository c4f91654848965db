import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { startKeycloak, KEYCLOAK_VERSION, type KeycloakServer } from './keycloak.js';

/** Command lines of running Keycloak JVMs whose home is `home`. */
function javaProcessesUnder(home: string): string[] {
  const lines = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n');
  return lines.filter((line) => line.includes('quarkus-run.jar') && line.includes(home));
}

describe('test support: real Keycloak', () => {
  let keycloak: KeycloakServer | undefined;
  let home = '';

  beforeAll(async () => {
    keycloak = await startKeycloak();
    home = /-Dkc\.home\.dir='?([^' ]+)/.exec(javaProcessesUnder('keycloak-').join('\n'))?.[1] ?? '';
  }, 240_000);

  afterAll(async () => {
    await keycloak?.stop();
  }, 30_000);

  it(`runs Keycloak ${KEYCLOAK_VERSION} with the realm export imported and a pinned issuer`, async () => {
    const discovery = (await (await fetch(`${keycloak!.issuer}/.well-known/openid-configuration`)).json()) as { issuer: string };
    expect(discovery.issuer).toBe(keycloak!.issuer);
    // The same issuer whatever host name the client used (--hostname is pinned).
    const viaLocalhost = keycloak!.issuer.replace('127.0.0.1', 'localhost');
    const other = (await (await fetch(`${viaLocalhost}/.well-known/openid-configuration`)).json()) as { issuer: string };
    expect(other.issuer).toBe(keycloak!.issuer);
  });

  it('gives an admin token that reads the imported realm', async () => {
    const token = await keycloak!.adminToken();
    const response = await fetch(`${keycloak!.url}/admin/realms/orthanc/roles`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const roles = ((await response.json()) as { name: string }[]).map((role) => role.name);
    expect(roles).toEqual(expect.arrayContaining(['pacs-viewer', 'pacs-uploader', 'pacs-admin']));
  });

  it('stops every process it started', async () => {
    expect(home).not.toBe('');
    expect(javaProcessesUnder(home)).toHaveLength(1);
    await keycloak!.stop();
    expect(javaProcessesUnder(home)).toEqual([]);
    await expect(fetch(keycloak!.url)).rejects.toThrow();
    keycloak = undefined;
  }, 30_000);
});
