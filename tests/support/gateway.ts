import type { DestinationStream } from 'pino';
import { loadConfig, type Config } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { freePort } from './free-port.js';

export interface TestGateway extends RunningGateway {
  config: Config;
}

/**
 * Starts the real gateway in-process on a free port, with its config built exactly as in
 * production (from environment variables). PUBLIC_URL defaults to the gateway's loopback URL.
 */
export async function startTestGateway(
  env: Record<string, string | undefined>,
  { logDestination }: { logDestination?: DestinationStream } = {},
): Promise<TestGateway> {
  const port = String(await freePort());
  const config = loadConfig({
    PORT: port,
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    ...env,
  });
  const gateway = await startGateway(config, createLogger(config.logLevel, logDestination), '127.0.0.1');
  return { ...gateway, config };
}
