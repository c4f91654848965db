import { ConfigError, loadConfig } from './config/load.js';
import { createLogger } from './observability/logger.js';
import { startGateway } from './server.js';

/** The only place that reads process.env and exits: config → gateway → listen → graceful shutdown. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel);
  const gateway = await startGateway(config, logger);

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    await gateway.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('orthanc-oidc-gateway failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
