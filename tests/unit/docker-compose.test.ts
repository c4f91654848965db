import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/load.js';
import { envSchema } from '../../src/config/schema.js';
import { resolvePlaceholders } from '../../src/devidp/placeholders.js';
import { KEYCLOAK_BUILD_OPTIONS, KEYCLOAK_VERSION, startArguments } from '../../scripts/keycloak.mjs';
import {
  COMPOSE_FILE,
  DOCKER_DIR,
  ENV_EXAMPLE_FILE,
  MissingVariableError,
  REPO_ROOT,
  composeVariableReferences,
  interpolate,
  publishedPorts,
  readComposeInterpolated,
  readComposeRaw,
  readDotenv,
  readOrthancConfig,
  serviceEnvironment,
  type ComposeService,
} from '../support/docker-stack.js';

/**
 * docker/docker-compose.yml checked by content (no Docker engine on these machines): services,
 * published ports, networks, the gateway environment against the config schema, the issuer split,
 * the realm import, consistency with the realm export and orthanc.json, and "no default secret".
 */

interface RealmExport {
  realm: string;
  roles: { realm: Array<{ name: string }> };
  clients: Array<{
    clientId: string;
    publicClient?: boolean;
    secret?: string;
    attributes?: Record<string, string>;
    redirectUris?: string[];
    webOrigins?: string[];
    protocolMappers?: Array<{ protocolMapper: string; config: Record<string, string> }>;
  }>;
}

const realm = JSON.parse(readFileSync(join(REPO_ROOT, 'realm-export', 'orthanc-realm.json'), 'utf8')) as RealmExport;
const raw = readComposeRaw();
const envExample = readDotenv(ENV_EXAMPLE_FILE);

/** A docker/.env as an operator would write it: every variable of .env.example, secrets filled in. */
const SECRET_VARIABLE = /PASSWORD|SECRET|ADMIN_USER/;
const testDotenv: Record<string, string> = Object.fromEntries(
  Object.entries(envExample).map(([key, value]) => [key, SECRET_VARIABLE.test(key) ? `${key.toLowerCase()}-0123456789abcdef0123456789abcdef` : value]),
);
const compose = readComposeInterpolated(testDotenv);
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (!found) throw new Error(`service ${name} missing from docker-compose.yml`);
  return found;
};
const gatewayEnv = serviceEnvironment(service('gateway'));
const rawGatewayEnv = serviceEnvironment(raw.services['gateway']!);
const networksOf = (s: ComposeService): string[] => (Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? {}));
const volumeMounts = (s: ComposeService) =>
  (s.volumes ?? []).map((entry) => {
    if (typeof entry !== 'string') return { source: entry.source ?? '', target: entry.target, options: entry.read_only ? 'ro' : '' };
    const [source = '', target = '', options = ''] = entry.split(':');
    return { source, target, options };
  });

describe('services and exposure', () => {
  it('defines keycloak, orthanc, redis and gateway', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['gateway', 'keycloak', 'orthanc', 'redis']);
  });

  it('publishes only the gateway (8080) and Keycloak (8081, loopback)', () => {
    expect(publishedPorts(service('gateway'))).toEqual([{ published: 8080, target: 8080 }]);
    expect(publishedPorts(service('keycloak'))).toEqual([{ hostIp: '127.0.0.1', published: 8081, target: 8080 }]);
    for (const name of ['orthanc', 'redis']) {
      expect(service(name).ports).toBeUndefined();
      expect(service(name).network_mode).toBeUndefined(); // network_mode: host would bypass it all
    }
  });

  it('keeps Orthanc and Redis on an internal network that only the gateway shares', () => {
    const internal = Object.entries(compose.networks ?? {}).filter(([, net]) => net?.internal === true).map(([name]) => name);
    expect(internal).toHaveLength(1);
    const [internalNet] = internal;
    expect(networksOf(service('orthanc'))).toEqual([internalNet]);
    expect(networksOf(service('redis'))).toEqual([internalNet]);
    expect(networksOf(service('gateway'))).toContain(internalNet);
    expect(networksOf(service('keycloak'))).not.toContain(internalNet);
    // The gateway reaches Keycloak on a network that is not internal.
    const shared = networksOf(service('gateway')).filter((net) => networksOf(service('keycloak')).includes(net));
    expect(shared.length).toBeGreaterThan(0);
  });

  it('starts the gateway only once Keycloak, Orthanc and Redis are healthy, each with a healthcheck', () => {
    expect(service('gateway').depends_on).toEqual({
      keycloak: { condition: 'service_healthy' },
      orthanc: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
    for (const name of ['keycloak', 'orthanc', 'redis']) expect(service(name).healthcheck?.test).toBeDefined();
  });

  it('builds the gateway from docker/Dockerfile with the repository as context', () => {
    const build = service('gateway').build;
    expect(typeof build).toBe('object');
    const { context = '.', dockerfile = 'Dockerfile' } = build as { context?: string; dockerfile?: string };
    const contextDir = resolve(DOCKER_DIR, context);
    expect(contextDir).toBe(REPO_ROOT);
    expect(existsSync(join(contextDir, dockerfile))).toBe(true);
    expect(resolve(contextDir, dockerfile)).toBe(join(DOCKER_DIR, 'Dockerfile'));
  });
});

describe('gateway environment against the config schema', () => {
  const shape = envSchema.shape as Record<string, { safeParse(value: unknown): { success: boolean } }>;

  it('sets only variables the gateway knows', () => {
    const unknown = Object.keys(gatewayEnv).filter((key) => !(key in shape));
    expect(unknown).toEqual([]);
  });

  it('sets every variable the schema requires', () => {
    const required = Object.entries(shape).filter(([, schema]) => !schema.safeParse(undefined).success).map(([key]) => key);
    expect(required.length).toBeGreaterThan(0);
    for (const key of required) expect(gatewayEnv[key]).toBeTruthy();
  });

  it('is a valid production configuration once docker/.env is filled in', () => {
    const config = loadConfig(gatewayEnv);
    expect(config.production).toBe(true);
    expect(config.redisUrl).toBeDefined();
    expect(config.session.secret).toBeDefined();
    expect(config.port).toBe(publishedPorts(service('gateway'))[0]!.target);
  });

  it('points OHIF_DIST at the viewer baked into the image', () => {
    const dockerfile = readFileSync(join(DOCKER_DIR, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(new RegExp(`OHIF_DIST=${gatewayEnv['OHIF_DIST']}\\b`));
  });
});

describe('the issuer problem: browsers use localhost:8081, the gateway keycloak:8080', () => {
  const keycloakEnv = serviceEnvironment(service('keycloak'));
  const issuer = new URL(gatewayEnv['OIDC_ISSUER']!);
  const discovery = new URL(gatewayEnv['OIDC_DISCOVERY_URL']!);

  it('OIDC_ISSUER is the published Keycloak, exactly Keycloak\'s frontend URL + realm', () => {
    const [keycloakPort] = publishedPorts(service('keycloak'));
    expect(issuer.host).toBe(`localhost:${keycloakPort!.published}`);
    expect(gatewayEnv['OIDC_ISSUER']).toBe(`${keycloakEnv['KC_HOSTNAME']}/realms/${realm.realm}`);
  });

  it('OIDC_DISCOVERY_URL is the same realm under the internal service name and container port', () => {
    const [keycloakPort] = publishedPorts(service('keycloak'));
    expect(discovery.host).toBe(`keycloak:${keycloakPort!.target}`);
    expect(discovery.pathname).toBe(issuer.pathname);
  });

  it('Keycloak resolves backchannel URLs dynamically (requires KC_HOSTNAME as a full URL)', () => {
    expect(keycloakEnv['KC_HOSTNAME_BACKCHANNEL_DYNAMIC']).toBe('true');
    expect(() => new URL(keycloakEnv['KC_HOSTNAME']!)).not.toThrow();
  });
});

describe('Keycloak runs as tested (one source: scripts/keycloak.mjs)', () => {
  const command = ([] as string[]).concat(service('keycloak').command ?? []);
  const tested = startArguments({ httpPort: 1, managementPort: 2 });

  it('the image is the Keycloak version the tests fetch from Maven Central', () => {
    expect(service('keycloak').image).toBe(`quay.io/keycloak/keycloak:${KEYCLOAK_VERSION}`);
  });

  it('starts in the mode the tests start, with every build option (no rebuild, same database, cache, health)', () => {
    expect(command[0]).toBe(tested[0]);
    expect(KEYCLOAK_BUILD_OPTIONS).toContain('--health-enabled=true');
    for (const option of KEYCLOAK_BUILD_OPTIONS) expect(command).toContain(option);
    // Nothing that changes the build beyond the tested options, given as option or as KC_* variable.
    const keycloakEnv = serviceEnvironment(service('keycloak'));
    for (const option of KEYCLOAK_BUILD_OPTIONS) {
      const name = option.replace(/^--/, '').split('=')[0]!;
      expect(keycloakEnv[`KC_${name.replace(/-/g, '_').toUpperCase()}`]).toBeUndefined();
    }
  });

  it('imports the realm and pins the hostname, as the tests do', () => {
    expect(tested).toContain('--import-realm');
    expect(command).toContain('--import-realm');
    expect(tested.some((arg) => arg.startsWith('--hostname='))).toBe(true);
    const keycloakEnv = serviceEnvironment(service('keycloak'));
    const pinned = command.find((arg) => arg.startsWith('--hostname='))?.slice('--hostname='.length) ?? keycloakEnv['KC_HOSTNAME'];
    expect(new URL(pinned!).origin).toBe(pinned);
  });
});

describe('Keycloak healthcheck (bash builtins only: the image has no curl)', () => {
  // The compose test, run with local bash against a stand-in for Keycloak's management port.
  const probe = async (status: number): Promise<{ code: number | null; seen: string[] }> => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(status, { 'content-type': 'application/json' }).end('{"status": "UP", "checks": []}');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    const test = ([] as string[]).concat(service('keycloak').healthcheck?.test ?? []);
    expect(test.slice(0, 3)).toEqual(['CMD', 'bash', '-c']);
    expect(test[3]).toContain('/dev/tcp/127.0.0.1/9000');
    const script = test[3]!.replace('/dev/tcp/127.0.0.1/9000', `/dev/tcp/127.0.0.1/${port}`);
    try {
      const code = await new Promise<number | null>((done) => {
        const child = spawn('bash', ['-c', script], { stdio: 'ignore' });
        child.once('exit', (exitCode) => done(exitCode));
      });
      return { code, seen };
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
    }
  };

  it('passes when /health/ready answers 200', async () => {
    expect(await probe(200)).toEqual({ code: 0, seen: ['GET /health/ready'] });
  });

  it('fails when /health/ready answers 503', async () => {
    expect((await probe(503)).code).not.toBe(0);
  });
});

describe('Keycloak realm import', () => {
  it('mounts realm-export/ (which holds orthanc-realm.json) at /opt/keycloak/data/import and imports it', () => {
    const mount = volumeMounts(service('keycloak')).find((m) => m.target === '/opt/keycloak/data/import');
    expect(mount).toBeDefined();
    const folder = resolve(DOCKER_DIR, mount!.source);
    expect(folder).toBe(join(REPO_ROOT, 'realm-export'));
    expect(existsSync(join(folder, 'orthanc-realm.json'))).toBe(true);
    expect(mount!.options).toBe('ro');
    expect(service('keycloak').command).toContain('--import-realm');
  });

  // Keycloak substitutes ${VAR[:default]} in the imported realm from its own environment.
  const importedRealm = (keycloak = service('keycloak')) => resolvePlaceholders(realm, serviceEnvironment(keycloak)) as RealmExport;
  const importedGatewayClient = () => importedRealm().clients.find((c) => c.clientId === gatewayEnv['OIDC_CLIENT_ID'])!;

  it('the gateway client, audience and role names match the realm export', () => {
    const client = importedRealm().clients.find((c) => c.clientId === gatewayEnv['OIDC_CLIENT_ID']);
    expect(client).toBeDefined();
    expect(client!.publicClient).toBe(false); // confidential: it has OIDC_CLIENT_SECRET
    expect(client!.redirectUris).toEqual([`${gatewayEnv['PUBLIC_URL']}/auth/callback`]);

    const audiences = realm.clients.flatMap((c) =>
      (c.protocolMappers ?? []).filter((m) => m.protocolMapper === 'oidc-audience-mapper').map((m) => m.config['included.client.audience']),
    );
    expect(audiences).toContain(gatewayEnv['OIDC_AUDIENCE']);

    const roles = realm.roles.realm.map((role) => role.name);
    for (const key of ['ROLE_VIEWER', 'ROLE_UPLOADER', 'ROLE_ADMIN']) expect(roles).toContain(gatewayEnv[key]);
  });

  it('Keycloak imports the gateway client with the OIDC_CLIENT_SECRET of docker/.env, the value the gateway sends', () => {
    expect(importedGatewayClient().secret).toBe(testDotenv['OIDC_CLIENT_SECRET']);
    expect(importedGatewayClient().secret).toBe(gatewayEnv['OIDC_CLIENT_SECRET']);
  });

  it('Keycloak sends back-channel logouts to the gateway by its compose service name, on a network they share', () => {
    const url = new URL(importedGatewayClient().attributes?.['backchannel.logout.url'] ?? '');
    expect(url.hostname).toBe('gateway'); // localhost inside the Keycloak container is Keycloak itself
    expect(url.port).toBe(gatewayEnv['PORT']);
    expect(url.pathname).toBe('/auth/backchannel-logout');
    expect(networksOf(service('gateway')).some((net) => networksOf(service('keycloak')).includes(net))).toBe(true);
  });

  it.each([
    ['the default', undefined],
    ['PUBLIC_URL of docker/.env', 'https://pacs.example.org'],
  ])('Keycloak imports the clients for the gateway\'s PUBLIC_URL (%s): GATEWAY_PUBLIC_URL is the same value', (_name, publicUrl) => {
    const env = publicUrl ? { ...testDotenv, PUBLIC_URL: publicUrl } : Object.fromEntries(Object.entries(testDotenv).filter(([key]) => key !== 'PUBLIC_URL'));
    const stack = readComposeInterpolated(env);
    const gatewayPublicUrl = serviceEnvironment(stack.services['gateway']!)['PUBLIC_URL']!;
    expect(gatewayPublicUrl).toBe(publicUrl ?? 'http://localhost:8080');
    const keycloak = stack.services['keycloak']!;
    expect(serviceEnvironment(keycloak)['GATEWAY_PUBLIC_URL']).toBe(gatewayPublicUrl);
    const clients = importedRealm(keycloak).clients;
    const gateway = clients.find((c) => c.clientId === 'orthanc-gateway')!;
    const viewer = clients.find((c) => c.clientId === 'ohif-viewer')!;
    expect(gateway.redirectUris).toEqual([`${gatewayPublicUrl}/auth/callback`]);
    expect(gateway.attributes?.['post.logout.redirect.uris']).toBe(`${gatewayPublicUrl}/auth/signed-out`);
    // OHIF served by the gateway: its origin is the one web origin (CORS on Keycloak's token endpoint).
    expect(viewer.webOrigins).toEqual([new URL(gatewayPublicUrl).origin]);
    expect(viewer.redirectUris).toEqual([`${gatewayPublicUrl}/callback`, `${gatewayPublicUrl}/silent-refresh.html`]);
  });
});

describe('Orthanc and Redis wiring', () => {
  it('the gateway uses orthanc.json\'s single service user, with the password variable Orthanc substitutes', () => {
    const orthanc = readOrthancConfig();
    const users = orthanc['RegisteredUsers'] as Record<string, string>;
    expect(Object.keys(users)).toEqual([rawGatewayEnv['ORTHANC_USERNAME']]);
    const placeholder = Object.values(users)[0]!;
    const variable = /^\$\{([A-Z0-9_]+)\}$/.exec(placeholder)?.[1];
    expect(variable).toBeDefined();
    // Same variable for the gateway's ORTHANC_PASSWORD and in the Orthanc container's environment.
    expect(rawGatewayEnv['ORTHANC_PASSWORD']).toMatch(new RegExp(`^\\$\\{${variable}:\\?`));
    expect(serviceEnvironment(raw.services['orthanc']!)[variable!]).toMatch(new RegExp(`^\\$\\{${variable}:\\?`));
    expect(gatewayEnv['ORTHANC_PASSWORD']).toBe(testDotenv[variable!]);
  });

  it('mounts orthanc.json into /etc/orthanc and keeps the storage in a named volume', () => {
    const mounts = volumeMounts(service('orthanc'));
    const config = mounts.find((m) => m.target.startsWith('/etc/orthanc/'));
    expect(resolve(DOCKER_DIR, config!.source)).toBe(join(DOCKER_DIR, 'orthanc.json'));
    expect(config!.target).toMatch(/\.json$/);
    const storageDir = readOrthancConfig()['StorageDirectory'] as string;
    const storage = mounts.find((m) => storageDir === m.target || storageDir.startsWith(`${m.target}/`));
    expect(storage).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(storage!.source);
    expect(service('orthanc').image).toMatch(/^orthancteam\/orthanc:\d/);
    expect(service('orthanc').user).toBe('999:999');
  });

  it('ORTHANC_URL is the orthanc service on the port orthanc.json listens on', () => {
    const url = new URL(gatewayEnv['ORTHANC_URL']!);
    expect(url.hostname).toBe('orthanc');
    expect(Number(url.port)).toBe(readOrthancConfig()['HttpPort']);
  });

  it('Redis persists (append-only file in a named volume) and requires the password REDIS_URL carries', () => {
    const redis = service('redis');
    const command = ([] as string[]).concat(redis.command ?? []).join(' ');
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/--requirepass/);
    const data = volumeMounts(redis).find((m) => m.target === '/data');
    expect(Object.keys(compose.volumes ?? {})).toContain(data!.source);
    const url = new URL(gatewayEnv['REDIS_URL']!);
    expect(url.host).toBe('redis:6379');
    expect(decodeURIComponent(url.password)).toBe(serviceEnvironment(redis)['REDIS_PASSWORD']);
  });
});

describe('secrets come only from docker/.env', () => {
  const references = composeVariableReferences();
  const secretReferences = references.filter((ref) => SECRET_VARIABLE.test(ref.name));

  it('every secret reference is ${VAR:?…} (required, no default)', () => {
    expect(secretReferences.length).toBeGreaterThanOrEqual(6);
    for (const ref of secretReferences) {
      expect({ name: ref.name, required: ref.required, defaultValue: ref.defaultValue }).toEqual({
        name: ref.name,
        required: true,
        defaultValue: undefined,
      });
    }
  });

  it('no secret-looking setting holds a literal value', () => {
    for (const [name, svc] of Object.entries(raw.services)) {
      for (const [key, value] of Object.entries(serviceEnvironment(svc))) {
        if (!/SECRET|PASSWORD|PASSWD|TOKEN|_KEY$/.test(key) && !/:\/\/[^/]*:[^/@]*@/.test(value)) continue;
        // Whatever is secret in the value comes from a required reference.
        const literal = value.replace(/\$\{[A-Z0-9_]+:\?[^}]*\}/g, '').replace(/^[a-z]+:\/\/:?/, '').replace(/@[\w.-]+:\d+$/, '');
        expect({ service: name, key, literal }).toEqual({ service: name, key, literal: '' });
      }
    }
  });

  it('compose refuses to start while any secret is missing from docker/.env', () => {
    const names = [...new Set(secretReferences.map((ref) => ref.name))];
    for (const missing of names) {
      const env = { ...testDotenv };
      delete env[missing];
      expect(() => readComposeInterpolated(env)).toThrow(MissingVariableError);
      expect(() => readComposeInterpolated({ ...env, [missing]: '' })).toThrow(missing);
    }
  });

  it('docker/.env.example lists every variable the compose file uses, and nothing else', () => {
    const used = [...new Set(references.map((ref) => ref.name))].sort();
    expect(Object.keys(envExample).sort()).toEqual(used);
  });

  it('docker/.env.example ships no secret value', () => {
    for (const [key, value] of Object.entries(envExample)) if (SECRET_VARIABLE.test(key)) expect({ key, value }).toEqual({ key, value: '' });
  });

  it('docker/.env is git-ignored', () => {
    const gitignore = readFileSync(join(REPO_ROOT, '.gitignore'), 'utf8').split('\n').map((line) => line.trim());
    expect(gitignore.some((line) => line === '.env' || line === 'docker/.env' || line === '**/.env')).toBe(true);
  });
});

describe('docker-stack.ts interpolation (compose semantics)', () => {
  it('handles required, default and escaped forms', () => {
    expect(interpolate('a ${X:?need X} b', { X: '1' })).toBe('a 1 b');
    expect(() => interpolate('${X:?need X}', {})).toThrow('need X');
    expect(() => interpolate('${X:?need X}', { X: '' })).toThrow(MissingVariableError);
    expect(interpolate('${X?need X}', { X: '' })).toBe('');
    expect(interpolate('${X:-d}/${Y-e}', { Y: '' })).toBe('d/');
    expect(interpolate('$$HOME $X', { X: 'x' })).toBe('$HOME x');
  });

  it('reads the compose file itself without errors', () => {
    expect(existsSync(COMPOSE_FILE)).toBe(true);
    expect(raw.name).toBe('orthanc-oidc-gateway');
  });
});
