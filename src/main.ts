import { ConfigError, loadConfig } from './config/load.js';
import { createLogger } from './observability/logger.js';
import { startGateway } from './server.js';
import { StartupCheckError } from './startup/doctor.js';

/**
 * The only place that reads process.env and exits: config → start-up checks → gateway → listen →
 * graceful shutdown. Exit codes: 0 after a graceful stop, 1 when the configuration or a start-up
 * check forbids starting (the reason on stderr, and in the log).
 */
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
  let gateway;
  try {
    gateway = await startGateway(config, logger, undefined, { startupChecks: true });
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof StartupCheckError)) throw error;
    logger.fatal(error.message);
    console.error(error.message);
    process.exit(1);
  }

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down: refusing new connections, draining in-flight requests');
    await gateway.close();
    logger.info('stopped');
    process.exit(0);
  };
  // A second signal falls back to the default action: stop at once.
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('orthanc-oidc-gateway failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
