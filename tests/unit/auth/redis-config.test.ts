/**
 * Redis topologies (REDIS_URL | REDIS_SENTINELS + REDIS_SENTINEL_NAME | REDIS_CLUSTER_NODES), their
 * credentials, and JWKS_CACHE_SECONDS: parsed into the config, every misuse named, no secret echoed.
 */
import { Cluster } from 'ioredis';
import { describe, expect, it } from '@jest/globals';
import { createRedisClient } from '../../../src/auth/redis.js';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/observability/logger.js';

type Env = Record<string, string | undefined>;
const MINIMAL: Env = { OIDC_ISSUER: 'http://localhost:8081/realms/orthanc', ORTHANC_USERNAME: 'gateway', ORTHANC_PASSWORD: 'orthanc-service-pw' };
const SECRET_32 = 's'.repeat(32);
const REDIS_PASSWORD = 'Redis-Pa55-3c9f1e';

function problems(env: Env): string[] {
  try {
    loadConfig({ ...MINIMAL, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
const variables = (env: Env) => problems(env).map((problem) => /^[A-Z_]+/.exec(problem)?.[0]);

describe('Redis topology in the config', () => {
  it('REDIS_URL: single mode (redisUrl kept for existing readers)', () => {
    const config = loadConfig({ ...MINIMAL, REDIS_URL: 'redis://:pw@redis:6379/2' });
    expect(config.redis).toEqual({ mode: 'single', url: 'redis://:pw@redis:6379/2' });
    expect(config.redisUrl).toBe('redis://:pw@redis:6379/2');
  });

  it('REDIS_SENTINELS + REDIS_SENTINEL_NAME: sentinel mode with credentials', () => {
    const config = loadConfig({
      ...MINIMAL,
      REDIS_SENTINELS: ' sentinel-1:26379, 10.0.0.7:26380 ,[::1]:26381',
      REDIS_SENTINEL_NAME: 'gateway',
      REDIS_PASSWORD,
      REDIS_USERNAME: 'gw',
      REDIS_SENTINEL_PASSWORD: 'sentinel-pw',
    });
    expect(config.redis).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: 'sentinel-1', port: 26379 },
        { host: '10.0.0.7', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      name: 'gateway',
      username: 'gw',
      password: REDIS_PASSWORD,
      sentinelPassword: 'sentinel-pw',
    });
    expect(config.redisUrl).toBeUndefined();
  });

  it('REDIS_CLUSTER_NODES: cluster mode', () => {
    const config = loadConfig({ ...MINIMAL, REDIS_CLUSTER_NODES: 'redis-1:7000,redis-2:7001', REDIS_PASSWORD });
    expect(config.redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'redis-1', port: 7000 },
        { host: 'redis-2', port: 7001 },
      ],
      username: undefined,
      password: REDIS_PASSWORD,
    });
  });

  it('no Redis: undefined (in-memory, development)', () => {
    expect(loadConfig(MINIMAL).redis).toBeUndefined();
  });

  it('production accepts Sentinel or Cluster instead of REDIS_URL', () => {
    const production = { NODE_ENV: 'production', SESSION_SECRET: SECRET_32 };
    expect(loadConfig({ ...MINIMAL, ...production, REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_NAME: 'gw' }).production).toBe(true);
    expect(loadConfig({ ...MINIMAL, ...production, REDIS_CLUSTER_NODES: 'r:7000' }).production).toBe(true);
    expect(variables(production)).toEqual(['REDIS_URL']);
  });

  it.each([
    ['REDIS_URL with REDIS_SENTINELS', { REDIS_URL: 'redis://r:6379', REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_NAME: 'gw' }, ['REDIS_SENTINELS']],
    ['REDIS_URL with REDIS_CLUSTER_NODES', { REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'r:7000' }, ['REDIS_CLUSTER_NODES']],
    ['all three', { REDIS_URL: 'redis://r:6379', REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_NAME: 'gw', REDIS_CLUSTER_NODES: 'r:7000' }, ['REDIS_SENTINELS', 'REDIS_CLUSTER_NODES']],
    ['sentinels without a name', { REDIS_SENTINELS: 's:26379' }, ['REDIS_SENTINEL_NAME']],
    ['a name without sentinels', { REDIS_SENTINEL_NAME: 'gw' }, ['REDIS_SENTINELS']],
    ['a sentinel without port', { REDIS_SENTINELS: 'sentinel', REDIS_SENTINEL_NAME: 'gw' }, ['REDIS_SENTINELS']],
    ['a port out of range', { REDIS_CLUSTER_NODES: 'r:7000,r:70000' }, ['REDIS_CLUSTER_NODES']],
    ['a URL instead of host:port', { REDIS_CLUSTER_NODES: 'redis://r:7000' }, ['REDIS_CLUSTER_NODES']],
    ['a sentinel password without sentinels', { REDIS_URL: 'redis://r:6379', REDIS_SENTINEL_PASSWORD: 'x' }, ['REDIS_SENTINEL_PASSWORD']],
    ['REDIS_PASSWORD with REDIS_URL', { REDIS_URL: 'redis://r:6379', REDIS_PASSWORD }, ['REDIS_PASSWORD']],
    ['REDIS_PASSWORD without Redis', { REDIS_PASSWORD }, ['REDIS_PASSWORD']],
    ['REDIS_USERNAME without a password', { REDIS_CLUSTER_NODES: 'r:7000', REDIS_USERNAME: 'gw' }, ['REDIS_PASSWORD']],
  ])('refuses %s', (_name, env: Env, expected: string[]) => {
    expect(variables(env)).toEqual(expected);
  });

  it('never echoes a Redis password', () => {
    const text = problems({ REDIS_URL: `redis://:${REDIS_PASSWORD}@r:6379`, REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD: REDIS_PASSWORD }).join('\n');
    expect(text).not.toContain(REDIS_PASSWORD);
  });
});

describe('JWKS_CACHE_SECONDS', () => {
  it('defaults to 10 minutes and accepts a positive number of seconds', () => {
    expect(loadConfig(MINIMAL).oidc.jwksCacheSeconds).toBe(600);
    expect(loadConfig({ ...MINIMAL, JWKS_CACHE_SECONDS: '30' }).oidc.jwksCacheSeconds).toBe(30);
    expect(variables({ JWKS_CACHE_SECONDS: '0' })).toEqual(['JWKS_CACHE_SECONDS']);
  });
});

describe('createRedisClient', () => {
  // (The Sentinel client is exercised against real sentinels in tests/integration/sentinel.test.ts.)
  it('builds a Cluster client that fails fast instead of queueing', () => {
    const cluster = createRedisClient({ mode: 'cluster', nodes: [{ host: '127.0.0.1', port: 1 }], username: undefined, password: 'pw' }, createLogger('silent'));
    try {
      expect(cluster).toBeInstanceOf(Cluster);
      expect((cluster as Cluster).options).toMatchObject({ enableOfflineQueue: false, redisOptions: { password: 'pw', maxRetriesPerRequest: 1 } });
    } finally {
      cluster.disconnect();
    }
  });
});
