import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import {
  DOCKER_DIR,
  ENV_EXAMPLE_FILE,
  interpolate,
  publishedPorts,
  readComposeInterpolated,
  readDotenv,
  referencesIn,
  serviceEnvironment,
  type ComposeFile,
  type ComposeService,
} from '../support/docker-stack.js';

/**
 * docker/docker-compose.replicas.yml (two gateway replicas behind nginx) checked by content, merged
 * over docker-compose.yml the way `docker compose -f … -f …` merges them (no Docker engine here;
 * nginx-replicas.conf itself runs for real in tests/integration/scale.test.ts).
 */
const OVERRIDE_FILE = join(DOCKER_DIR, 'docker-compose.replicas.yml');
const NGINX_CONF = join(DOCKER_DIR, 'nginx-replicas.conf');

/** Compose's `!reset` tag (Compose 2.24+): the merged value is emptied instead of merged. */
const RESET = '!reset';
const overrideText = readFileSync(OVERRIDE_FILE, 'utf8');
const override = parseYaml(overrideText, {
  customTags: [
    { tag: RESET, collection: 'seq', resolve: () => ({ [RESET]: true }) },
    { tag: RESET, collection: 'map', resolve: () => ({ [RESET]: true }) },
  ],
}) as ComposeFile;

const SECRET_VARIABLE = /PASSWORD|SECRET|ADMIN_USER/;
const dotenv = Object.fromEntries(
  Object.entries(readDotenv(ENV_EXAMPLE_FILE)).map(([key, value]) => [key, SECRET_VARIABLE.test(key) ? `${key.toLowerCase()}-0123456789abcdef0123456789abcdef` : value]),
);
const base = readComposeInterpolated(dotenv);

const isReset = (value: unknown) => typeof value === 'object' && value !== null && (value as Record<string, unknown>)[RESET] === true;

/** Compose's merge rules for what these files use: maps merge by key, `ports` append unless `!reset`. */
function mergeService(under: ComposeService | undefined, over: ComposeService): ComposeService {
  const merged: ComposeService = { ...(under ?? {}) };
  for (const [key, value] of Object.entries(over)) {
    if (isReset(value)) delete merged[key];
    else if (key === 'environment') merged.environment = { ...serviceEnvironment(under ?? {}), ...serviceEnvironment(over) };
    else if (key === 'ports') merged.ports = [...(under?.ports ?? []), ...(value as NonNullable<ComposeService['ports']>)];
    else merged[key] = value;
  }
  return merged;
}
const merged: ComposeFile = {
  ...base,
  services: Object.fromEntries(
    [...new Set([...Object.keys(base.services), ...Object.keys(override.services)])].map((name) => {
      const over = override.services[name];
      return [name, over ? mergeService(base.services[name], over) : base.services[name]!];
    }),
  ),
};
const service = (name: string): ComposeService => {
  const found = merged.services[name];
  if (!found) throw new Error(`service ${name} missing after the merge`);
  return found;
};
const networksOf = (s: ComposeService): string[] => (Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? {}));
const nginx = readFileSync(NGINX_CONF, 'utf8');
/** Values of a directive, comments left out. */
const directive = (name: string) => [...nginx.matchAll(new RegExp(`^[ \\t]*${name}(?=[ \\t;])[ \\t]*([^;{]*);`, 'gm'))].map((match) => match[1]!.trim());

describe('docker-compose.replicas.yml', () => {
  it('adds only a load balancer and changes only the gateway', () => {
    expect(Object.keys(override.services).sort()).toEqual(['gateway', 'lb']);
    expect(Object.keys(merged.services).sort()).toEqual(['gateway', 'keycloak', 'lb', 'orthanc', 'redis']);
  });

  it('runs at least two gateway replicas that publish no port (only through the load balancer)', () => {
    expect(isReset(override.services['gateway']?.ports)).toBe(true);
    expect(service('gateway').ports).toBeUndefined();
    expect((service('gateway')['deploy'] as { replicas?: number } | undefined)?.replicas).toBeGreaterThanOrEqual(2);
    // deploy.replicas cannot work with a fixed container name.
    expect(service('gateway')['container_name']).toBeUndefined();
  });

  it('publishes the load balancer where users and Keycloak expect the gateway (PUBLIC_URL)', () => {
    const env = serviceEnvironment(service('gateway'));
    const publicPort = Number(new URL(env['PUBLIC_URL']!).port || 80);
    expect(publishedPorts(service('lb'))).toEqual([{ published: publicPort, target: 8080 }]);
    const everyPublished = Object.values(merged.services).flatMap((s) => publishedPorts(s).map((port) => port.published));
    expect(everyPublished.filter((port) => port === publicPort)).toHaveLength(1);
  });

  it('gives every replica one valid production configuration sharing Redis and the session secret', () => {
    const env = serviceEnvironment(service('gateway'));
    const config = loadConfig(env);
    expect(config.production).toBe(true);
    expect(config.redis).toBeDefined(); // shared state: without it replicas would not see each other's sessions
    expect(config.session.secret).toBeDefined(); // one fixed secret, not a random one per replica
    expect(config.trustProxy).toBe(true);
  });

  it('puts the load balancer on the gateway network Keycloak shares, not on the internal one', () => {
    expect(networksOf(service('lb'))).toEqual(['edge']);
    expect(networksOf(service('gateway'))).toContain('edge');
    expect(merged.networks?.['edge']?.internal).not.toBe(true);
  });

  it('starts the load balancer once the replicas are healthy, with a pinned nginx image and a health check', () => {
    expect(service('lb').depends_on).toEqual({ gateway: { condition: 'service_healthy' } });
    expect(service('lb').image).toMatch(/^nginx:1\.(2[89]|[3-9]\d)(\.\d+)?(-alpine)?$/); // `resolve` in upstream: nginx ≥ 1.27.3
    expect(service('lb').healthcheck?.test).toEqual(expect.arrayContaining([expect.stringContaining('/healthz')]));
  });

  it('mounts nginx-replicas.conf as the server configuration, read-only', () => {
    const mounts = (service('lb').volumes ?? []).map((entry) => (typeof entry === 'string' ? entry : `${entry.source}:${entry.target}`));
    expect(mounts).toEqual(['./nginx-replicas.conf:/etc/nginx/conf.d/default.conf:ro']);
    expect(existsSync(NGINX_CONF)).toBe(true);
  });

  it('uses no variable that docker/.env.example does not list', () => {
    const listed = new Set(Object.keys(dotenv));
    const used = referencesIn(overrideText).map((reference) => reference.name);
    expect(used.filter((name) => !listed.has(name))).toEqual([]);
    expect(() => interpolate(overrideText, dotenv)).not.toThrow();
  });
});

describe('nginx-replicas.conf', () => {
  it('balances over the gateway service on its container port, re-resolving Docker DNS', () => {
    const env = serviceEnvironment(service('gateway'));
    expect(directive('server')).toEqual([`gateway:${env['PORT']} resolve max_fails=1 fail_timeout=5s`]);
    expect(directive('resolver')[0]).toMatch(/^127\.0\.0\.11\b/);
    expect(directive('zone')).toHaveLength(1); // `resolve` needs a shared-memory zone
    for (const sticky of ['ip_hash', 'hash', 'sticky']) expect(directive(sticky)).toEqual([]); // no stickiness: state is in Redis
  });

  it('hands the gateway exactly one client address (no spoofing through X-Forwarded-For)', () => {
    expect(directive('proxy_set_header')).toEqual(expect.arrayContaining(['X-Forwarded-For $remote_addr', 'X-Forwarded-Proto $scheme', 'Host $http_host']));
    expect(nginx).not.toContain('$proxy_add_x_forwarded_for');
  });

  it('streams large downloads and uploads and waits longer than the gateway for Orthanc', () => {
    expect(directive('proxy_buffering')).toEqual(['off']);
    expect(directive('proxy_request_buffering')).toEqual(['off']);
    expect(directive('client_max_body_size')).toEqual(['0']);
    const timeoutMs = loadConfig(serviceEnvironment(service('gateway'))).orthanc.timeoutMs;
    expect(Number.parseInt(directive('proxy_read_timeout')[0] ?? '0', 10) * 1000).toBeGreaterThan(timeoutMs);
  });

  it('retries only connection failures on the other replica, never gateway answers', () => {
    expect(directive('proxy_next_upstream')).toEqual(['error timeout']);
  });
});
